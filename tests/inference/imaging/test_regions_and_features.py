"""RTSTRUCT/SEG masks and region features against known geometry."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from inference.imaging.features import (
    axial_diameters,
    first_order,
    lesion_features,
    maximum_3d_diameter,
    peak_value,
    study_features,
    surface_area_mm2,
)
from inference.imaging.regions import RegionError, polygon_mask, rtstruct_masks, seg_masks
from inference.imaging.schema import RegionMask, Volume
from inference.imaging.volume import load_series
from tests.paths import SHARED_DATA

from .dicom_factory import (
    STS_002,
    instance_dataset,
    load_sts_002,
    synthetic_volume,
    write,
    write_series,
)

DCMQI = SHARED_DATA / "dicom-samples" / "dcmqi"


def _sphere(
    shape: tuple[int, int, int],
    centre: tuple[float, float, float],
    radius: float,
    spacing: tuple[float, float, float],
) -> np.ndarray:
    grid = np.indices(shape).astype(np.float64)
    d2 = sum(((grid[i] - centre[i]) * spacing[i]) ** 2 for i in range(3))
    return d2 <= radius**2


# --- masks ----------------------------------------------------------------------------------------


def test_polygon_mask_fills_pixels_whose_centres_are_inside() -> None:
    square = np.array([[1.5, 1.5], [1.5, 5.5], [5.5, 5.5], [5.5, 1.5]])
    mask = polygon_mask(8, 8, square)
    assert mask.sum() == 16 and mask[2:6, 2:6].all()
    triangle = np.array([[0.0, 0.0], [0.0, 10.0], [10.0, 0.0]])
    assert 40 <= polygon_mask(12, 12, triangle).sum() <= 60  # area 50 px


def _rtstruct(folder: Path, contours: list[np.ndarray], frame_uid: str) -> Path:
    ds = instance_dataset(pydicom.uid.RTStructureSetStorage, study=1, series=50, instance=1)
    ds.Modality = "RTSTRUCT"
    roi = Dataset()
    roi.ROINumber, roi.ROIName, roi.ReferencedFrameOfReferenceUID = 1, "GTV", frame_uid
    ds.StructureSetROISequence = Sequence([roi])
    items = []
    for pts in contours:
        c = Dataset()
        c.ContourGeometricType = "CLOSED_PLANAR"
        c.NumberOfContourPoints = len(pts)
        c.ContourData = [f"{v:.3f}" for v in pts.ravel()]
        items.append(c)
    rc = Dataset()
    rc.ReferencedROINumber = 1
    rc.ContourSequence = Sequence(items)
    ds.ROIContourSequence = Sequence([rc])
    return write(ds, folder / "rs.dcm")


def test_rtstruct_circle_becomes_a_disc_of_the_right_area(tmp_path: Path) -> None:
    paths = write_series(
        tmp_path / "ct",
        np.zeros((5, 64, 64), dtype=np.int16),
        positions_z=[0, 2, 4, 6, 8],
        spacing=(0.5, 0.5),
    )
    vol = load_series(paths, None)
    t = np.linspace(0, 2 * math.pi, 200, endpoint=False)
    circle = lambda z: np.c_[16 + 10 * np.cos(t), 16 + 10 * np.sin(t), np.full_like(t, z)]  # noqa: E731
    inner = np.c_[16 + 3 * np.cos(t), 16 + 3 * np.sin(t), np.full_like(t, 4.0)]
    rs = _rtstruct(tmp_path, [circle(2.0), circle(4.0), inner], vol.frame_of_reference_uid)
    (region,) = rtstruct_masks(rs, vol)
    assert region.name == "GTV" and region.warnings == ()
    per_slice = region.mask.sum(axis=(1, 2)) * 0.25  # mm^2
    assert per_slice[1] == pytest.approx(math.pi * 100, rel=0.02)
    # The inner contour on the same slice cuts a hole (XOR).
    assert per_slice[2] == pytest.approx(math.pi * (100 - 9), rel=0.03)
    assert per_slice[0] == per_slice[3] == 0


def test_real_rtstruct_gives_the_same_tumour_volume_on_ct_and_pet() -> None:
    ct, pet = load_sts_002()
    (ct_roi,) = rtstruct_masks(STS_002 / "CT" / "mask" / "RS.dcm", ct)
    (pet_roi,) = rtstruct_masks(STS_002 / "PET" / "mask" / "RS.dcm", pet)
    ct_f, pet_f = lesion_features(ct, ct_roi), lesion_features(pet, pet_roi)
    assert ct_f.get("volume") == pytest.approx(pet_f.get("volume"), rel=0.08)
    assert 10 < ct_f.get("volume") < 500
    assert -200 < ct_f.get("mean") < 200  # soft tissue in HU
    assert pet_f.get("peak") <= pet_f.get("maximum")
    features = study_features("1.2.3", [ct_f, pet_f])
    names = {m.name for m in features.study}
    assert {"suv_max", "metabolic_tumour_volume", "total_lesion_glycolysis"} <= names


def _seg(folder: Path, frames: np.ndarray, positions: list[float], frame_uid: str) -> Path:
    ds = instance_dataset(pydicom.uid.SegmentationStorage, study=1, series=60, instance=1)
    ds.FrameOfReferenceUID = frame_uid
    ds.Modality = "SEG"
    ds.SegmentationType = "BINARY"
    n, rows, cols = frames.shape
    ds.Rows, ds.Columns, ds.NumberOfFrames = rows, cols, n
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 1, 1, 0, 0
    seg = Dataset()
    seg.SegmentNumber, seg.SegmentLabel = 1, "Lesion"
    ds.SegmentSequence = Sequence([seg])
    shared = Dataset()
    orient = Dataset()
    orient.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    shared.PlaneOrientationSequence = Sequence([orient])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    per_frame = []
    for z in positions:
        item = Dataset()
        ident = Dataset()
        ident.ReferencedSegmentNumber = 1
        item.SegmentIdentificationSequence = Sequence([ident])
        pos = Dataset()
        pos.ImagePositionPatient = [0.0, 0.0, z]
        item.PlanePositionSequence = Sequence([pos])
        per_frame.append(item)
    ds.PerFrameFunctionalGroupsSequence = Sequence(per_frame)
    ds.PixelData = np.packbits(frames.astype(np.uint8).ravel(), bitorder="little").tobytes()
    return write(ds, folder / "seg.dcm")


def _empty_ct(tmp_path: Path) -> tuple[list[Path], Volume]:
    """Four 8 x 8 CT slices of zeros at z = 0, 1, 2, 3 mm: their files and the loaded volume."""
    zeros = np.zeros((4, 8, 8), dtype=np.int16)
    paths = write_series(tmp_path / "ct", zeros, positions_z=[0, 1, 2, 3])
    return paths, load_series(paths, None)


def test_seg_frames_land_on_their_slices(tmp_path: Path) -> None:
    _, vol = _empty_ct(tmp_path)
    frames = np.zeros((2, 8, 8), dtype=bool)
    frames[0, 2:4, 2:5] = True
    frames[1, 5, 5] = True
    (region,) = seg_masks(_seg(tmp_path, frames, [3.0, 1.0], vol.frame_of_reference_uid), vol)
    assert region.name == "Lesion" and region.source == "SEG"
    assert region.mask[3].sum() == 6 and region.mask[1, 5, 5] and region.mask.sum() == 7


def test_seg_on_another_grid_is_refused(tmp_path: Path) -> None:
    paths = write_series(tmp_path / "ct", np.zeros((2, 6, 6), dtype=np.int16))
    vol = load_series(paths, None)
    seg = _seg(tmp_path, np.ones((1, 8, 8), dtype=bool), [0.0], vol.frame_of_reference_uid)
    with pytest.raises(RegionError, match="resampling"):
        seg_masks(seg, vol)


def test_real_dcmqi_liver_seg_on_its_ct() -> None:
    files = sorted((DCMQI / "ct-3slice").glob("*.dcm"))
    if not files:
        pytest.skip("shared data not present")
    vol = load_series(files, None)
    regions = seg_masks(DCMQI / "liver.dcm", vol)
    assert [r.name for r in regions] == ["Liver"]
    assert regions[0].mask.any() and regions[0].warnings == ()


# --- features -------------------------------------------------------------------------------------


def test_box_shape_features_are_exact() -> None:
    mask = np.zeros((6, 14, 10), dtype=bool)
    mask[1:5, 2:12, 2:8] = True  # 4 slices x 10 rows x 6 columns
    vol = synthetic_volume(np.zeros(mask.shape), spacing=(2.0, 1.0, 0.5))
    f = lesion_features(vol, RegionMask("box", mask, "SEG"))
    assert f.get("volume") == pytest.approx(0.24)  # 8 x 10 x 3 mm
    assert surface_area_mm2(vol, mask) == pytest.approx(2 * (80 + 24 + 30))
    longest, perpendicular, _ = axial_diameters(vol, mask)
    assert longest == pytest.approx(math.hypot(10, 3), rel=1e-4)
    assert perpendicular == pytest.approx(2 * 10 * 3 / math.hypot(10, 3), rel=1e-3)
    assert maximum_3d_diameter(vol, mask) == pytest.approx(
        math.sqrt(6**2 + 9**2 + 2.5**2), rel=1e-4
    )


def test_sphere_volume_diameters_and_sphericity() -> None:
    shape = (31, 31, 31)
    mask = _sphere(shape, (15, 15, 15), 10.0, (1.0, 1.0, 1.0))
    vol = synthetic_volume(np.full(shape, 5.0))
    f = lesion_features(vol, RegionMask("sphere", mask, "SEG"))
    assert f.get("volume") == pytest.approx(4 / 3 * math.pi * 1000 / 1000, rel=0.01)
    assert f.get("longest_axial_diameter") == pytest.approx(21.0, abs=1.0)
    assert f.get("perpendicular_axial_diameter") == pytest.approx(21.0, abs=1.0)
    # Voxel-face area over-estimates a sphere's surface by about 1.5, so sphericity ~ 2/3.
    assert 0.6 < f.get("sphericity") < 0.75
    assert f.get("peak") == pytest.approx(5.0) and f.get("standard_deviation") == 0.0
    assert f.get("entropy") == 0.0 and f.get("uniformity") == 1.0


def test_peak_is_the_mean_of_a_one_millilitre_sphere() -> None:
    shape = (21, 21, 21)
    voxels = np.ones(shape)
    voxels[10, 10, 10] = 100.0
    mask = np.zeros(shape, dtype=bool)
    mask[8:13, 8:13, 8:13] = True
    radius = (3 * 1000 / (4 * math.pi)) ** (1 / 3)
    n = sum(
        1
        for a in range(-7, 8)
        for b in range(-7, 8)
        for c in range(-7, 8)
        if a * a + b * b + c * c <= radius**2
    )
    assert peak_value(synthetic_volume(voxels), mask) == pytest.approx((100 + n - 1) / n)


def test_first_order_statistics_match_their_definitions() -> None:
    values = np.arange(1, 1001, dtype=np.float64)
    stats = first_order(values, bin_width=100.0)
    assert stats["mean"] == pytest.approx(500.5) and stats["median"] == pytest.approx(500.5)
    assert stats["standard_deviation"] == pytest.approx(np.std(values))
    assert stats["skewness"] == pytest.approx(0.0, abs=1e-9)
    assert stats["excess_kurtosis"] == pytest.approx(-1.2, abs=1e-3)
    # floor(v / 100) gives 11 bins: 99, 100 x 9, 1 values.
    p = np.array([99] + [100] * 9 + [1]) / 1000
    assert stats["entropy"] == pytest.approx(float(-(p * np.log2(p)).sum()))
    assert stats["uniformity"] == pytest.approx(float((p**2).sum()))
    assert stats["interquartile_range"] == pytest.approx(499.5)


def test_regions_load_in_the_sandbox_by_modality(tmp_path: Path) -> None:
    from inference.imaging.regions import load_regions
    from inference.imaging.schema import SandboxLimits

    paths, vol = _empty_ct(tmp_path)
    frames = np.zeros((1, 8, 8), dtype=bool)
    frames[0, 1:3, 1:3] = True
    seg = _seg(tmp_path, frames, [2.0], vol.frame_of_reference_uid)
    limits = SandboxLimits(memory_bytes=1024**3, cpu_seconds=30, wall_seconds=60)
    (region,) = load_regions(seg, vol, limits)
    assert region.mask.sum() == 4 and region.mask[2, 1, 1]
    from inference.sandbox import SandboxError

    with pytest.raises(SandboxError, match="not RTSTRUCT or SEG"):
        load_regions(paths[0], vol, limits)
