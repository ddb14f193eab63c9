"""Slice rendering: windows, reformats, contours and PET/CT fusion."""

from __future__ import annotations

import io
from dataclasses import replace
from functools import partial

import numpy as np
import pytest
from PIL import Image

from inference.imaging.regions import rtstruct_masks
from inference.imaging.render import WINDOWS, RenderError, apply_window, render_slice, suv_window
from inference.imaging.schema import RegionMask

from .dicom_factory import STS_002, load_sts_002, synthetic_volume

_volume = partial(synthetic_volume, spacing=(3.0, 1.0, 1.0))


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def test_windows_map_their_range_to_black_and_white() -> None:
    w = WINDOWS["soft_tissue"]
    out = apply_window(np.array([-1000.0, -160.0, 40.0, 240.0, 3000.0, np.nan]), w)
    assert out.tolist() == [0, 0, 128, 255, 255, 0]
    assert WINDOWS["lung"].center == -600 and suv_window(10).width == 10


def test_axial_png_has_the_image_size_and_window() -> None:
    vol = _volume(np.full((4, 20, 30), 40.0))
    r = render_slice(vol, "axial", 1, WINDOWS["soft_tissue"])
    img = _pixels(r.png)
    assert img.shape == (20, 30, 3) and (img == 128).all()
    assert r.png.startswith(b"\x89PNG")


def test_coronal_reformat_is_stretched_and_head_up() -> None:
    voxels = np.zeros((4, 20, 30))
    voxels[3] = 1000.0  # most superior slice bright
    r = render_slice(_volume(voxels), "coronal", 5, WINDOWS["bone"])
    img = _pixels(r.png)
    assert (r.width, r.height) == (30, 12)  # 4 slices x 3 mm = 12 px at 1 mm
    assert img[0, 0, 0] > 200 and img[-1, 0, 0] < 100
    sag = render_slice(_volume(voxels), "sagittal", 2, WINDOWS["bone"])
    assert (sag.width, sag.height) == (20, 12)


def test_contour_overlay_draws_the_region_outline() -> None:
    mask = np.zeros((4, 20, 30), dtype=bool)
    mask[1, 5:10, 5:15] = True
    r = render_slice(
        _volume(np.zeros(mask.shape)),
        "axial",
        1,
        WINDOWS["soft_tissue"],
        regions=[RegionMask("GTV", mask, "SEG")],
    )
    img = _pixels(r.png)
    assert tuple(img[5, 5]) == (255, 64, 64) and tuple(img[7, 8]) == (102, 102, 102)  # 0 HU
    assert r.overlays == ("contour:GTV",)


def test_pet_fusion_samples_through_patient_coordinates() -> None:
    ct = _volume(np.zeros((4, 20, 20)), spacing=(3.0, 1.0, 1.0))
    pet_vox = np.zeros((2, 5, 5))
    pet_vox[:, 0:2, 0:2] = 10.0  # hot corner, 4 mm pixels -> first 8 mm
    pet = _volume(pet_vox, spacing=(6.0, 4.0, 4.0), modality="PT", units="SUVbw")
    r = render_slice(ct, "axial", 0, WINDOWS["soft_tissue"], fusion=pet)
    img = _pixels(r.png)
    assert img[2, 2, 0] > 150 and tuple(img[15, 15]) == (102, 102, 102)
    with pytest.raises(RenderError, match="frame of reference"):
        render_slice(
            ct, "axial", 0, WINDOWS["soft_tissue"], fusion=replace(pet, frame_of_reference_uid="9")
        )


def test_out_of_range_index_is_refused() -> None:
    with pytest.raises(RenderError, match="outside"):
        render_slice(_volume(np.zeros((2, 4, 4))), "axial", 2, WINDOWS["soft_tissue"])


def test_real_pet_ct_fusion_with_gtv_contour() -> None:
    ct, pet = load_sts_002()
    (gtv,) = rtstruct_masks(STS_002 / "CT" / "mask" / "RS.dcm", ct)
    k = int(np.argmax(gtv.mask.sum(axis=(1, 2))))
    r = render_slice(
        ct,
        "axial",
        k,
        WINDOWS["soft_tissue"],
        regions=[gtv],
        fusion=pet,
        fusion_window=suv_window(10),
    )
    assert r.overlays == ("fusion:PT", "contour:GTV_Mass_CT")
    img = _pixels(r.png)
    assert (img == np.array([255, 64, 64])).all(axis=-1).sum() > 20


def test_background_uptake_tints_faintly_and_hot_uptake_shows_fully() -> None:
    ct = _volume(np.zeros((4, 20, 20)), spacing=(3.0, 1.0, 1.0))
    pet_vox = np.full((2, 5, 5), 0.5)  # SUV 0.5 background
    pet_vox[:, 0:2, 0:2] = 10.0
    pet = _volume(pet_vox, spacing=(6.0, 4.0, 4.0), modality="PT", units="SUVbw")
    img = _pixels(render_slice(ct, "axial", 0, WINDOWS["soft_tissue"], fusion=pet).png)
    background, hot = img[15, 15].astype(int), img[2, 2].astype(int)
    assert abs(background[0] - 102) < 15 and abs(background[2] - 102) < 15  # grey shows through
    assert hot[0] > 150 and hot[0] - background[0] > 50
