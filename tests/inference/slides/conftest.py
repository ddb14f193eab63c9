"""Shared slide fixtures: the two real files and a few generated pyramids (built once)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from tests.inference.slides.synth import synthetic_he, write_pyramid

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "slides"


@pytest.fixture(scope="session")
def cmu_svs() -> Path:
    """Real Aperio SVS with label and macro images (CMU-1-Small-Region)."""
    return FIXTURES / "CMU-1-Small-Region.svs"


@pytest.fixture(scope="session")
def ome_crop() -> Path:
    """Real tiled-JPEG OME-TIFF H&E crop."""
    return FIXTURES / "OS-1-detail.ome.tif"


@pytest.fixture(scope="session")
def he_slide(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, npt.NDArray[np.bool_]]:
    """A 3072 x 2048 synthetic H&E pyramid at 0.25 um/px (40x) with levels 1, 2, 8."""
    rgb, truth = synthetic_he(
        3072, 2048, discs=((0.3, 0.45, 0.17), (0.72, 0.55, 0.12)), nuclei_per_disc=1500
    )
    path = tmp_path_factory.mktemp("slides") / "he.tif"
    write_pyramid(path, rgb, mpp=0.25, factors=(1, 2, 8))
    return path, truth


@pytest.fixture(scope="session")
def dicom_wsi(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The smallest shared SVS as DICOM WSI instances (OrthancWSIDicomizer), one per level."""
    from tests.inference.slides.dicomize import SMALL_SVS, dicomize

    return dicomize(SMALL_SVS, tmp_path_factory.mktemp("dicom-wsi") / "slide")
