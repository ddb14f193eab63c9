"""Slides for the pathology tests, made by the real pipeline (never hand-written results).

:func:`processed_slide_files` runs de-identification, tissue/tiles/features and the overview on a
generated pyramidal TIFF once per session; :class:`SlideFactory` copies those real files into the
test's ``MEDIA_ROOT`` and fills the row from what the pipeline returned.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import factory
from django.conf import settings

from inference.slides.deid import write_deidentified
from inference.slides.pipeline import process_slide, slide_overview
from inference.slides.schema import DeidentifiedSlide, SlideSummary
from oncology_ui.pathology.models import Slide, SlideUpload
from tests.factories import CaseFactory, UserFactory
from tests.inference.slides.synth import synthetic_he, write_pyramid


@dataclass(frozen=True)
class ProcessedFiles:
    folder: Path
    deid: DeidentifiedSlide
    summary: SlideSummary
    stain: str


def processed_slide_files(folder: Path, *, mpp: float | None = 0.5) -> ProcessedFiles:
    """Run the real pipeline on a 2048 x 1536 synthetic H&E pyramid; files land in ``folder``."""
    rgb, _ = synthetic_he(
        2048, 1536, discs=((0.3, 0.45, 0.17), (0.72, 0.55, 0.12)), nuclei_per_disc=900
    )
    source = write_pyramid(folder / "source.tif", rgb, mpp=mpp, factors=(1, 4))
    deid = write_deidentified(source, folder / "slide.tif")
    summary = process_slide(deid.path, folder / "features.npz")
    overview = slide_overview(deid.path)
    (folder / "thumbnail.png").write_bytes(overview.thumbnail_png)
    (folder / "tissue.png").write_bytes(overview.tissue_outline_png)
    source.unlink()
    return ProcessedFiles(folder=folder, deid=deid, summary=summary, stain=overview.stain)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class SlideFactory(factory.django.DjangoModelFactory[Slide]):
    """A received slide; ``SlideFactory.ready(files=...)`` for a processed one."""

    class Meta:
        model = Slide

    case = factory.SubFactory(CaseFactory)
    original_name = "biopsy-A1.svs"
    original_size = 1000
    file_kind = "tiff"

    @classmethod
    def ready(cls, *, files: ProcessedFiles, **fields: Any) -> Slide:
        slide: Slide = cls.create(**fields)
        target = Path(settings.MEDIA_ROOT) / "pathology" / "slides" / slide.uid
        target.mkdir(parents=True)
        for name in ("slide.tif", "features.npz", "thumbnail.png", "tissue.png"):
            shutil.copyfile(files.folder / name, target / name)
        rel = f"pathology/slides/{slide.uid}"
        qc, summary, deid = files.summary.qc, files.summary, files.deid
        Slide.objects.filter(pk=slide.pk).update(
            status=Slide.Status.READY,
            format="generic-tiff",
            compression="jpeg",
            mpp=deid.mpp,
            objective_power=deid.objective_power,
            width=deid.width,
            height=deid.height,
            level_count=deid.levels,
            stain_guess=files.stain,
            qc_state=qc.state,
            qc_flags=list(qc.flags),
            qc_messages=list(qc.messages),
            qc_metrics={
                "out_of_focus_fraction": qc.out_of_focus_fraction,
                "pen_mark_fraction": qc.pen_mark_fraction,
                "tissue_fraction": qc.tissue_fraction,
            },
            tissue_area_mm2=summary.tissue_area_mm2,
            tile_count=summary.tile_count,
            target_mpp=summary.target_mpp,
            feature_summary=[
                {"name": s.name, "mean": s.mean, "std": s.std, "p10": s.p10, "p90": s.p90}
                for s in summary.feature_stats
            ],
            encoder_name=summary.encoder_name,
            encoder_version=summary.encoder_version,
            derivative_path=f"{rel}/slide.tif",
            derivative_sha256=deid.sha256,
            thumbnail_path=f"{rel}/thumbnail.png",
            tissue_path=f"{rel}/tissue.png",
            features_path=f"{rel}/features.npz",
            features_sha256=_sha256(target / "features.npz"),
        )
        slide.refresh_from_db()
        return slide


class SlideUploadFactory(factory.django.DjangoModelFactory[SlideUpload]):
    class Meta:
        model = SlideUpload

    case = factory.SubFactory(CaseFactory)
    created_by = factory.SubFactory(UserFactory)
    original_name = "scan.svs"
    size = 1000
    part_path = factory.Sequence(lambda n: f"pathology/uploads/test-{n}.part")
