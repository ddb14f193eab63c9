"""``manage.py restore_check``: does a restored database and media folder open as the app expects?

Run by ``scripts/backup_drill.py`` against the restored copy (``DATABASE_URL`` and ``MEDIA_ROOT``
pointing at it), after ``verify_audit``:

1. Every file a row points at exists under ``MEDIA_ROOT``: each slide's viewable derivative,
   thumbnail, tissue outline and features, and each imaging series' volume.
2. One slide and one imaging series open through the real views, as a member of their care
   team: the slide viewer, its DZI and a tile; the series viewer and a slice. Each must answer 200.

Prints one JSON line (files checked, what was opened, problems) and exits 1 if anything is wrong.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError
from django.test import Client
from django.urls import reverse

from oncology_ui.imaging.models import ImagingSeries
from oncology_ui.imaging.storage import series_dir
from oncology_ui.pathology.models import Slide
from oncology_ui.patients.models import Case

SLIDE_FILES = ("derivative_path", "thumbnail_path", "tissue_path", "features_path")


def _team_member(case: Case, permission: str) -> User | None:
    members = User.objects.filter(care_teams__patients=case.patient, is_active=True).distinct()
    return next((user for user in members.order_by("pk") if user.has_perm(permission)), None)


def _open(case: Case, permission: str, urls: list[str], problems: list[str]) -> list[str]:
    user = _team_member(case, permission)
    if user is None:
        problems.append(f"case {case.pk}: no active team member may open it")
        return []
    client = Client(
        raise_request_exception=False,
        HTTP_HOST=(settings.ALLOWED_HOSTS or ["localhost"])[0].lstrip("."),
    )
    client.force_login(user)
    opened = []
    for url in urls:
        status = client.get(url).status_code
        if status != 200:
            problems.append(f"{url} answered {status}")
        opened.append(url)
    return opened


class Command(BaseCommand):
    help = "Check that a restored database's media files exist and a slide and a study open."

    def handle(self, *args: Any, **options: Any) -> None:
        media = Path(settings.MEDIA_ROOT)
        problems: list[str] = []
        files = 0
        slides = Slide.objects.filter(retired_at__isnull=True).select_related("case")
        for each_slide in slides:
            for field in SLIDE_FILES:
                relative = getattr(each_slide, field)
                if relative:
                    files += 1
                    if not (media / relative).is_file():
                        problems.append(f"slide {each_slide.pk}: {field} {relative} is missing")
        series_all = ImagingSeries.objects.filter(has_volume=True).select_related("study__case")
        for each_series in series_all:
            files += 1
            if not (series_dir(each_series) / "volume.npy").is_file():
                problems.append(f"series {each_series.pk}: volume.npy is missing")

        opened: list[str] = []
        slide = next((s for s in slides.order_by("pk") if s.is_ready), None)
        if slide is not None:
            opened += _open(
                slide.case,
                "pathology.view_slide",
                [
                    reverse("pathology-viewer", args=[slide.pk]),
                    reverse("pathology-dzi", args=[slide.pk]),
                    reverse("pathology-tile", args=[slide.pk, 8, 0, 0]),
                ],
                problems,
            )
        series = series_all.order_by("pk").first()
        if series is not None:
            opened += _open(
                series.study.case,
                "imaging.view_imagingseries",
                [
                    reverse("imaging-viewer", args=[series.pk]),
                    reverse("imaging-slice", args=[series.pk]),
                ],
                problems,
            )
        report = {
            "media_files_checked": files,
            "slides": slides.count(),
            "series": series_all.count(),
            "opened": opened,
            "problems": problems,
        }
        self.stdout.write(json.dumps(report))
        if problems:
            raise CommandError(f"restore check failed: {'; '.join(problems[:10])}")
