"""RECIST 1.1 time points: the form, the categories, and the response event on the timeline."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from oncology_ui.core.models import AccessLog
from oncology_ui.imaging import recist
from oncology_ui.imaging.models import ImagingRegion, ImagingUpload, RecistAssessment
from oncology_ui.patients.models import TimelineEvent
from tests.oncology_ui.conftest import Cast, signed_in_client
from tests.oncology_ui.imaging.factories import RecistAssessmentFactory

pytestmark = pytest.mark.django_db
BASELINE = dt.date(2024, 3, 1)


def _post(rows: list[dict[str, Any]], date: str) -> dict[str, str]:
    data = {
        "date": date,
        "lesion-TOTAL_FORMS": str(len(rows)),
        "lesion-INITIAL_FORMS": "0",
        "lesion-MIN_NUM_FORMS": "0",
        "lesion-MAX_NUM_FORMS": "20",
    }
    for n, row in enumerate(rows):
        for key, value in row.items():
            data[f"lesion-{n}-{key}"] = str(value)
    return data


def _t(lesion_id: str, diameter: float | str, organ: str = "liver", **extra: Any) -> dict[str, Any]:
    return {
        "lesion_id": lesion_id,
        "kind": "target",
        "diameter_mm": diameter,
        "organ": organ,
        **extra,
    }


def _lesion(
    lesion_id: str, kind: str, diameter: float | None = None, **extra: Any
) -> dict[str, Any]:
    return {"lesion_id": lesion_id, "kind": kind, "diameter_mm": diameter, **extra}


def _follow_up(
    t1: float | None, t2: float | None, non_target: str | None = "present", new: bool = False
) -> list[dict[str, Any]]:
    lesions = [_lesion("T1", "target", t1)]
    if t2 is not None:
        lesions.append(_lesion("T2", "target", t2))
    if non_target:
        lesions.append(_lesion("N1", "non_target", status=non_target))
    if new:
        lesions.append(_lesion("X1", "new"))
    return lesions


# Baseline: targets 30 + 20 mm (sum 50) and one non-target. Each row is one follow-up:
# (label, T1, T2, non-target status, new lesion, expected overall response).
CASES = [
    ("partial response at -30% exactly", 20.0, 15.0, "present", False, "PR"),
    ("stable at -20%", 25.0, 15.0, "present", False, "SD"),
    ("progression at +20% and +10 mm", 40.0, 20.0, "present", False, "PD"),
    ("complete response", 0.0, 0.0, "absent", False, "CR"),
    ("targets gone, non-target persists: PR", 0.0, 0.0, "present", False, "PR"),
    ("new lesion: PD whatever the sum", 10.0, 10.0, "present", True, "PD"),
    ("unequivocal non-target progression", 30.0, 20.0, "unequivocal_progression", False, "PD"),
    ("a target not measured: NE", 30.0, None, "present", False, "NE"),
    ("non-target not assessed, targets stable: SD", 28.0, 20.0, None, False, "SD"),
]


@pytest.mark.parametrize(
    ("label", "t1", "t2", "non_target", "new", "overall"), CASES, ids=[c[0] for c in CASES]
)
def test_follow_up_categories_match_the_recist_table(
    cast: Cast,
    label: str,
    t1: float,
    t2: float | None,
    non_target: str | None,
    new: bool,
    overall: str,
) -> None:
    RecistAssessmentFactory.create(case=cast.case, date=BASELINE)
    row = recist.recist_record(
        case=cast.case,
        user=cast.oncologist,
        date=dt.date(2024, 6, 1),
        lesions=_follow_up(t1, t2, non_target, new),
    )
    assert row.overall == overall, row.reasons
    event = TimelineEvent.objects.get(case=cast.case, kind="response")
    assert event.response == overall and event.date == dt.date(2024, 6, 1)


def test_the_five_millimetre_rule_keeps_a_small_increase_from_being_progression(
    cast: Cast,
) -> None:
    recist.recist_record(
        case=cast.case,
        user=cast.oncologist,
        date=BASELINE,
        lesions=[_lesion("T1", "target", 10.0), _lesion("T2", "target", 8.0)],
    )
    # Nadir 18 mm; 22 mm is +22% but only +4 mm: not PD.
    row = recist.recist_record(
        case=cast.case,
        user=cast.oncologist,
        date=dt.date(2024, 6, 1),
        lesions=[_lesion("T1", "target", 12.0), _lesion("T2", "target", 10.0)],
    )
    assert row.overall == "SD" and any("5 mm" in r for r in row.reasons)
    assert row.nadir_sum_mm == 18.0 and row.change_from_nadir_pct == pytest.approx(22.2, abs=0.1)


def test_time_points_are_entered_in_order(cast: Cast) -> None:
    RecistAssessmentFactory.create(case=cast.case, date=BASELINE)
    with pytest.raises(ValidationError, match="after 01 Mar 2024"):
        recist.recist_record(
            case=cast.case, user=cast.oncologist, date=dt.date(2024, 2, 1), lesions=[]
        )


def test_a_radiologist_records_baseline_then_follow_up_through_the_form(
    cast: Cast, radiologist: User
) -> None:
    client = signed_in_client(radiologist)
    url = reverse("imaging-recist", args=[cast.case.pk])
    page = client.get(url)
    assert page.status_code == 200 and "Record the baseline" in page.content.decode()
    baseline = [_t("T1", 30), _t("T2", 20, organ="lung"), _lesion("N1", "non_target", organ="bone")]
    response = client.post(
        url, _post([{k: v or "" for k, v in r.items()} for r in baseline], "2024-03-01")
    )
    assert response.status_code == 302
    assert RecistAssessment.objects.get(case=cast.case).is_baseline
    follow = client.get(url).content.decode()
    assert "Record a follow-up" in follow and 'value="T1"' in follow  # ids carried over
    rows = [
        _t("T1", 18),
        _t("T2", 14, organ="lung"),
        {"lesion_id": "N1", "kind": "non_target", "status": "present"},
    ]
    response = client.post(url, _post(rows, "2024-06-01"))
    assert response.status_code == 302
    event = TimelineEvent.objects.get(case=cast.case, kind="response")
    assert event.response == "PR" and event.title == "RECIST 1.1: PR"
    assert "-36% from baseline" in event.detail
    assert AccessLog.objects.filter(category="recist", action="create").count() == 2
    shown = client.get(url).content.decode()
    assert "Research use only" in shown and "<strong>PR</strong>" in shown


def test_a_target_taken_from_a_region_uses_its_longest_diameter(
    cast: Cast, sts_upload: ImagingUpload, oncologist_client: Client
) -> None:
    region = ImagingRegion.objects.filter(series__modality="CT").get()
    url = reverse("imaging-recist", args=[cast.case.pk])
    response = oncologist_client.post(
        url,
        _post(
            [{"lesion_id": "T1", "kind": "target", "region": region.pk, "organ": "thigh"}],
            "2024-03-01",
        ),
    )
    assert response.status_code == 302
    row = RecistAssessment.objects.get(case=cast.case)
    assert row.lesions[0]["diameter_mm"] == round(region.longest_diameter_mm or 0, 1)
    assert row.lesions[0]["region_id"] == region.pk


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([_t(f"T{n}", 10, organ=f"o{n}") for n in range(6)], "at most 5 target lesions"),
        ([_t(f"T{n}", 10, organ="liver") for n in range(3)], "per organ (liver)"),
        ([_t("T1", 10), _t("T1", 12, organ="lung")], "listed twice"),
    ],
    ids=["six-targets", "three-in-one-organ", "duplicate-id"],
)
def test_the_form_refuses_what_recist_does_not_allow(
    cast: Cast, oncologist_client: Client, rows: list[dict[str, Any]], message: str
) -> None:
    response = oncologist_client.post(
        reverse("imaging-recist", args=[cast.case.pk]), _post(rows, "2024-03-01")
    )
    assert response.status_code == 400 and message in response.content.decode()
    assert not RecistAssessment.objects.exists()


def test_a_future_date_is_refused_without_a_500(cast: Cast, oncologist_client: Client) -> None:
    RecistAssessmentFactory.create(case=cast.case, date=BASELINE)
    future = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    response = oncologist_client.post(
        reverse("imaging-recist", args=[cast.case.pk]),
        _post([_t("T1", 30), _t("T2", 20, organ="lung")], future),
    )
    assert response.status_code == 400 and "cannot be in the future" in response.content.decode()
    assert RecistAssessment.objects.count() == 1


def test_recist_is_hidden_from_other_teams_and_read_only_for_pathologists(cast: Cast) -> None:
    url = reverse("imaging-recist", args=[cast.case.pk])
    assert signed_in_client(cast.outsider).get(url).status_code == 404
    pathologist = signed_in_client(cast.pathologist)
    page = pathologist.get(url)
    assert page.status_code == 200 and "Save time point" not in page.content.decode()
    assert pathologist.post(url, _post([_t("T1", 10)], "2024-03-01")).status_code == 404
    assert not RecistAssessment.objects.exists()


def test_sending_another_teams_time_point_to_the_pacs_is_404_with_one_denied_row(
    cast: Cast, oncologist_client: Client
) -> None:
    from oncology_ui.core.models import Job

    theirs = RecistAssessmentFactory.create(case=cast.other_case)
    attempts = [
        # Their case and their time point; then our case naming their time point.
        reverse("imaging-recist-pacs", args=[cast.other_case.pk, theirs.pk]),
        reverse("imaging-recist-pacs", args=[cast.case.pk, theirs.pk]),
    ]
    for url in attempts:
        before = AccessLog.objects.filter(action=AccessLog.Action.DENIED).count()
        assert oncologist_client.post(url).status_code == 404
        denied = AccessLog.objects.filter(action=AccessLog.Action.DENIED).count() - before
        assert denied == 1, url
    assert not Job.objects.exists()
