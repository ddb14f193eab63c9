"""Stain guess, tissue outline and the slide overview on real and generated slides."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inference.slides.pipeline import slide_overview
from inference.slides.reader import open_slide
from inference.slides.stain import guess_stain
from inference.slides.viewer import tissue_outline

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "slides"


@pytest.mark.parametrize(
    ("name", "expected"),
    [("CMU-1-Small-Region.svs", "he"), ("OS-1-detail.ome.tif", "he"), ("OS-2-vsi.ome.tif", "ihc")],
)
def test_it_guesses_the_stain_of_real_slides(name: str, expected: str) -> None:
    with open_slide(FIXTURES / name) as reader:
        assert guess_stain(reader.thumbnail(512).pixels) == expected


def test_blank_glass_has_no_stain_guess() -> None:
    assert guess_stain(np.full((256, 256, 3), 242, np.uint8)) == "unknown"


def test_the_outline_is_the_boundary_of_the_mask_only() -> None:
    mask = np.zeros((50, 60), bool)
    mask[10:40, 15:45] = True
    rgba = tissue_outline(mask, width=2)
    painted = rgba[..., 3] == 255
    assert painted[10, 20] and painted[11, 20] and not painted[12, 20]
    assert not painted[25, 30]  # inside
    assert not painted[5, 5]  # glass
    assert (painted <= mask).all()


def test_the_overview_of_the_real_svs_is_consistent() -> None:
    overview = slide_overview(FIXTURES / "CMU-1-Small-Region.svs", max_side=400)
    thumb = Image.open(io.BytesIO(overview.thumbnail_png))
    outline = Image.open(io.BytesIO(overview.tissue_outline_png))
    assert max(thumb.size) == 400 and thumb.mode == "RGB"
    assert outline.mode == "RGBA"
    # Same aspect ratio as the slide (2220 x 2967), within a mask pixel.
    assert abs(outline.size[0] / outline.size[1] - 2220 / 2967) < 0.01
    assert overview.stain == "he"
