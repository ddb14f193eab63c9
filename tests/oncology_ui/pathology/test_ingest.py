"""The ingest job end to end: real slides, generated pyramids, hostile files, de-identification."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import tifffile
from django.conf import settings
from django.utils import timezone

from inference.slides.features import load_tile_features
from oncology_ui.core.models import Job
from oncology_ui.pathology import services
from oncology_ui.pathology.models import Slide
from tests.inference.slides.hostile import bigtiff_with_bogus_offset, png_bomb, tiled_tiff
from tests.inference.slides.synth import synthetic_he, write_pyramid
from tests.oncology_ui.conftest import Cast
from tests.oncology_ui.pathology.conftest import CMU, IHC, OME, ingest, media_files

pytestmark = pytest.mark.django_db


def test_it_ingests_the_real_aperio_svs_end_to_end(cast: Cast, _media_root: Path) -> None:
    slide = ingest(cast.case, CMU.read_bytes(), "CMU-1-Small-Region.svs", cast.pathologist)

    assert slide.status == Slide.Status.READY, slide.error
    assert slide.job is not None and slide.job.status == Job.Status.SUCCEEDED
    assert (slide.width, slide.height) == (2220, 2967)
    assert slide.mpp == pytest.approx(0.499)
    assert slide.objective_power == 20
    assert slide.format == "aperio-svs"
    assert slide.stain_guess == Slide.Stain.HE
    assert {"label", "macro"} <= set(slide.removed_images)
    assert slide.tile_count and slide.tile_count > 20
    assert slide.tissue_area_mm2 and 0.05 < slide.tissue_area_mm2 < 1.7
    assert slide.qc_state in {"pass", "warn"}
    features = load_tile_features(services.media_path(slide.features_path))
    assert features.encoder_name == slide.encoder_name == "he-morphology"
    assert features.features.shape == (slide.tile_count, len(features.feature_names))
    assert {e["name"] for e in slide.feature_summary} >= {"nuclei_per_mm2"}
    # The original is gone (retention 0); the derivative, thumbnail and overlays are there.
    assert slide.original_path == ""
    assert media_files(_media_root) == sorted(
        f"slides/{slide.uid}/{n}"
        for n in ("features.npz", "slide.tif", "thumbnail.png", "tissue.png")
    )


def test_it_ingests_a_generated_pyramid_without_mpp_and_flags_it(
    cast: Cast, tmp_path: Path
) -> None:
    rgb, _ = synthetic_he(1536, 1024, discs=((0.5, 0.5, 0.25),), nuclei_per_disc=500)
    source = write_pyramid(tmp_path / "no-mpp.tif", rgb, mpp=None, factors=(1, 4))

    slide = ingest(cast.case, source.read_bytes(), "no-mpp.tif")

    assert slide.status == Slide.Status.READY, slide.error
    assert slide.mpp is None and slide.mpp_missing
    assert slide.tissue_area_mm2 is None
    assert "mpp-missing" in slide.qc_flags
    assert slide.level_count and slide.level_count >= 2


@pytest.mark.slow
def test_it_reads_the_real_ome_tiff_and_guesses_ihc_on_a_ki67_slide(cast: Cast) -> None:
    he = ingest(cast.case, OME.read_bytes(), "crop.ome.tif")
    ihc = ingest(cast.case, IHC.read_bytes(), "ki67.ome.tif")

    assert he.status == ihc.status == Slide.Status.READY
    assert he.format == "ome-tiff" and he.mpp == pytest.approx(0.227, abs=0.001)
    assert he.stain_guess == Slide.Stain.HE
    assert ihc.stain_guess == Slide.Stain.IHC


def test_a_png_micrograph_named_svs_is_read_as_png(cast: Cast, tmp_path: Path) -> None:
    from PIL import Image

    rgb, _ = synthetic_he(800, 600, nuclei_per_disc=200)
    path = tmp_path / "micrograph.svs"
    Image.fromarray(rgb).save(path, format="PNG")

    slide = ingest(cast.case, path.read_bytes(), "micrograph.svs")

    assert slide.file_kind == "png"
    assert slide.status == Slide.Status.READY, slide.error
    assert slide.format == "png"
    assert slide.mpp is None


def _svs_like_with_canaries(path: Path) -> Path:
    """An Aperio-style TIFF: pyramid + label + macro, identifying text in the description."""
    rgb, _ = synthetic_he(1024, 768, nuclei_per_disc=200)
    canary = "ZZCANARY-NAME-1|Date = 01/02/25|Filename = ZZCANARY-MRN-7|User = ZZCANARY-USER-3"
    description = f"Aperio Image Library v12\r\n1024x768 |AppMag = 20|MPP = 0.5|{canary}"
    label = np.full((200, 300, 3), 255, np.uint8)
    macro = np.full((300, 800, 3), 200, np.uint8)
    with tifffile.TiffWriter(path) as tif:
        tif.write(rgb, tile=(256, 256), photometric="rgb", compression="jpeg",
                  description=description, metadata=None, software=False)  # fmt: skip
        tif.write(label, photometric="rgb", compression="lzw", subfiletype=1,
                  description="Aperio Image Library v12\r\nlabel 300x200 ZZCANARY-LABEL-9",
                  metadata=None)  # fmt: skip
        tif.write(macro, photometric="rgb", compression="jpeg", subfiletype=9,
                  description="Aperio Image Library v12\r\nmacro 800x300 ZZCANARY-MACRO-2",
                  metadata=None)  # fmt: skip
    return path


def test_the_derivative_keeps_no_identifier_of_the_upload(cast: Cast, tmp_path: Path) -> None:
    source = _svs_like_with_canaries(tmp_path / "identified.svs")
    assert b"ZZCANARY" in source.read_bytes()

    slide = ingest(cast.case, source.read_bytes(), "ZZCANARY-FILENAME.svs")

    assert slide.status == Slide.Status.READY, slide.error
    for relative in (slide.derivative_path, slide.thumbnail_path, slide.features_path):
        data = services.media_path(relative).read_bytes()
        assert b"ZZCANARY" not in data
        assert b"Date = " not in data and b"Filename" not in data
    with tifffile.TiffFile(services.media_path(slide.derivative_path)) as tif:
        sizes = {tuple(p.shape[1::-1]) for p in tif.pages}
    assert (300, 200) not in sizes and (800, 300) not in sizes
    assert slide.mpp == 0.5 and slide.objective_power == 20


def _huge_declared(path: Path) -> Path:
    return tiled_tiff(path, width=1_000_000, height=1_000_000, tile=256, payload=1024)


HOSTILE: dict[str, Callable[[Path], Path]] = {
    "truncated svs": lambda p: (p.write_bytes(CMU.read_bytes()[:400_000]), p)[1],
    "10^6 x 10^6 pixels in 1 KB": _huge_declared,
    "tile of 2^20 pixels": lambda p: tiled_tiff(p, width=64, height=64, tile=2**20),
    "directory loop": lambda p: tiled_tiff(p, n_ifds=3, loop=True),
    "65535 samples per pixel": lambda p: tiled_tiff(p, spp=65535),
    "bigtiff with bogus offset": bigtiff_with_bogus_offset,
    "10k directories": lambda p: tiled_tiff(p, n_ifds=10_000),
    "png declaring 20000 x 20000 pixels": png_bomb,
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_a_hostile_file_fails_cleanly_and_leaves_nothing_behind(
    cast: Cast, tmp_path: Path, _media_root: Path, processed_files: object, kind: str
) -> None:
    from tests.oncology_ui.pathology.factories import ProcessedFiles, SlideFactory

    assert isinstance(processed_files, ProcessedFiles)
    neighbour = SlideFactory.ready(files=processed_files, case=cast.case)
    before = media_files(_media_root)
    path = HOSTILE[kind](tmp_path / "hostile.svs")

    slide = ingest(cast.case, path.read_bytes(), "hostile.svs")

    assert slide.status == Slide.Status.FAILED
    assert slide.job is not None and slide.job.status == Job.Status.FAILED
    assert slide.job.error.startswith("This file could not be read:"), slide.job.error
    assert slide.error.startswith("this file could not be read:")
    # No half-made data: no derived fields, no files but the neighbour's.
    assert slide.derivative_path == slide.features_path == slide.original_path == ""
    assert slide.tile_count is None and slide.feature_summary == []
    assert media_files(_media_root) == before
    neighbour.refresh_from_db()
    assert neighbour.status == Slide.Status.READY
    assert services.media_path(neighbour.derivative_path).exists()


def test_running_the_job_twice_does_not_redo_a_ready_slide(cast: Cast) -> None:
    from oncology_ui.core.jobs import job_run

    slide = ingest(cast.case, OME.read_bytes(), "crop.ome.tif")
    finished_at = slide.finished_at
    assert slide.job is not None
    Job.objects.filter(pk=slide.job.pk).update(status=Job.Status.QUEUED)

    job_run(slide.job.pk)

    slide.refresh_from_db()
    assert slide.status == Slide.Status.READY and slide.finished_at == finished_at


def test_retention_keeps_the_original_until_the_purge(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "PATHOLOGY_ORIGINAL_RETENTION_DAYS", 3)
    slide = ingest(cast.case, OME.read_bytes(), "crop.ome.tif")
    original = services.media_path(slide.original_path)
    assert original.read_bytes() == OME.read_bytes()

    assert services.pathology_purge(now=timezone.now() + timedelta(days=2))["originals"] == 0
    assert services.pathology_purge(now=timezone.now() + timedelta(days=4))["originals"] == 1

    slide.refresh_from_db()
    assert slide.original_path == "" and not original.exists()


@pytest.mark.parametrize(
    ("hook", "message"),
    [
        ("segfault", "the image decoder crashed on it (SIGSEGV)"),
        # Spinning until the processor-time limit takes seconds of wall time on a loaded machine.
        pytest.param("spin", "processor time", marks=pytest.mark.slow),
    ],
)
def test_a_reader_that_crashes_or_hangs_fails_the_job_and_the_worker_goes_on(
    cast: Cast, monkeypatch: pytest.MonkeyPatch, _media_root: Path, hook: str, message: str
) -> None:
    """The real sandbox runs a child that really segfaults or spins (test hooks of the sandbox)."""
    from functools import partial

    from inference.slides import inspect as inspect_module
    from inference.slides.schema import SlideLimits

    real = inspect_module.inspect_slide
    # The wall-clock limit is kept well above the CPU limit: on a loaded machine a spinning child
    # gets a fraction of a core, and 2 s of processor time can take several seconds of wall time.
    quick = SlideLimits(cpu_seconds=2, wall_seconds=40.0)
    monkeypatch.setattr(
        inspect_module,
        "inspect_slide",
        lambda path, limits=None: partial(real, target=f"tests.inference.slides.hooks:{hook}")(
            path, quick
        ),
    )
    slide = ingest(cast.case, OME.read_bytes(), "crop.ome.tif")

    assert slide.status == Slide.Status.FAILED
    assert slide.job is not None and slide.job.status == Job.Status.FAILED
    assert slide.job.error.startswith("This file could not be read:")
    assert message in slide.job.error
    assert media_files(_media_root) == []
    # The same process takes the next slide as if nothing happened.
    monkeypatch.setattr(inspect_module, "inspect_slide", real)
    assert ingest(cast.case, OME.read_bytes(), "crop.ome.tif").status == Slide.Status.READY
