"""Series -> volume assembly and PET SUV conversion."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from inference.imaging.pet import SuvError, suv_conversion, suv_conversion_for_file, to_suv
from inference.imaging.schema import SandboxLimits
from inference.imaging.volume import VolumeError, load_series
from tests.paths import SHARED_DATA

from .dicom_factory import image_dataset, write, write_series

STS = SHARED_DATA / "dicom-samples" / "tcia-soft-tissue-sarcoma-mirp" / "STS_001"
FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "dicom" / "sts_002"


def _ramp(k: int) -> np.ndarray:
    return (np.arange(k * 16, dtype=np.int16).reshape(k, 4, 4) * 3).astype(np.int16)


def test_it_sorts_by_position_and_applies_rescale(tmp_path: Path) -> None:
    raw = _ramp(6)
    paths = write_series(tmp_path, raw, positions_z=[5.0, 7.5, 10, 12.5, 15, 17.5])
    vol = load_series(paths, None)
    assert vol.voxels.shape == (6, 4, 4) and vol.voxels.dtype == np.float32
    np.testing.assert_allclose(vol.voxels, raw.astype(np.float32) - 1024.0)
    assert vol.units == "HU" and vol.spacing == pytest.approx((2.5, 1.0, 1.0))
    assert vol.slice_positions == pytest.approx((5.0, 7.5, 10, 12.5, 15, 17.5))
    assert vol.warnings == ()


def test_it_sorts_along_the_normal_for_sagittal_slices(tmp_path: Path) -> None:
    raw = _ramp(3)
    xs = [30.0, 10.0, 20.0]
    paths = []
    for i, x in enumerate(xs):
        ds = image_dataset(
            instance=i + 1, position=(x, 0, 0), orientation=(0, 1, 0, 0, 0, -1), pixels=raw[i]
        )
        paths.append(write(ds, tmp_path / f"{i}.dcm"))
    vol = load_series(paths, None)
    assert vol.normal == pytest.approx((-1.0, 0.0, 0.0))
    # Sorted along the normal (-x): x = 30, 20, 10.
    np.testing.assert_allclose(
        vol.voxels[:, 0, 0], [raw[0, 0, 0] - 1024, raw[2, 0, 0] - 1024, raw[1, 0, 0] - 1024]
    )


def test_it_reports_and_fills_missing_slices(tmp_path: Path) -> None:
    paths = write_series(tmp_path, _ramp(4), positions_z=[0, 2, 6, 8])
    vol = load_series(paths, None)
    assert vol.voxels.shape[0] == 5
    assert np.isnan(vol.voxels[2]).all()
    assert any("1 missing slice" in w for w in vol.warnings)


def test_it_reports_irregular_spacing(tmp_path: Path) -> None:
    paths = write_series(tmp_path, _ramp(5), positions_z=[0, 2, 4, 5.2, 7.2])
    vol = load_series(paths, None)
    assert any("irregular slice spacing" in w for w in vol.warnings)


def test_it_refuses_mixed_series(tmp_path: Path) -> None:
    a = write(image_dataset(series=1, instance=1), tmp_path / "a.dcm")
    b = write(image_dataset(series=2, instance=2, position=(0, 0, 1)), tmp_path / "b.dcm")
    with pytest.raises(VolumeError, match="more than one series"):
        load_series([a, b], None)


def test_real_ct_loads_in_the_sandbox_matching_a_naive_pydicom_loop() -> None:
    files = sorted((FIXTURE / "CT" / "image").glob("*.dcm"))
    assert files, "the committed DICOM fixture under tests/fixtures/dicom is missing"
    import pydicom

    vol = load_series(
        files, SandboxLimits(memory_bytes=2 * 1024**3, cpu_seconds=30, wall_seconds=60)
    )
    dss = sorted(
        (pydicom.dcmread(f) for f in files), key=lambda d: float(d.ImagePositionPatient[2])
    )
    naive = np.stack(
        [d.pixel_array * float(d.RescaleSlope) + float(d.RescaleIntercept) for d in dss]
    )
    np.testing.assert_allclose(vol.voxels, naive, rtol=1e-6)
    assert vol.modality == "CT" and vol.units == "HU"


# --- PET ------------------------------------------------------------------------------------------


def _pet_header(**overrides: object) -> Dataset:
    ds = image_dataset(modality="PT")
    ds.Units = "BQML"
    ds.DecayCorrection = "START"
    ds.PatientWeight = 75.0
    ds.SeriesDate = "20240102"
    ds.SeriesTime = "110000"
    ds.AcquisitionTime = "110000"
    info = Dataset()
    info.RadiopharmaceuticalStartTime = "100000"
    info.RadionuclideTotalDose = 370e6
    info.RadionuclideHalfLife = 6586.2
    ds.RadiopharmaceuticalInformationSequence = Sequence([info])
    for key, value in overrides.items():
        setattr(ds, key, value)
    return ds


def test_suv_matches_a_hand_computed_value() -> None:
    conv = suv_conversion(_pet_header())
    # 60 min uptake: 370 MBq x 2^(-3600/6586.2) = 253.31 MBq; factor = 75000 g / 253.31e6 Bq.
    decayed = 370e6 * 2 ** (-3600 / 6586.2)
    assert conv.decayed_dose_bq == pytest.approx(decayed)
    assert decayed == pytest.approx(253.31e6, rel=1e-4)
    assert conv.factor == pytest.approx(75000 / decayed)
    assert conv.source == "computed_from_activity" and conv.elapsed_s == 3600
    # 10 kBq/mL -> SUV 2.961
    assert 10_000 * conv.factor == pytest.approx(2.9608, abs=1e-3)


def test_suv_handles_injection_before_midnight_and_admin_decay() -> None:
    conv = suv_conversion(_pet_header(SeriesTime="003000", AcquisitionTime="003000"))
    assert conv.elapsed_s is not None
    info = _pet_header().RadiopharmaceuticalInformationSequence[0]
    info.RadiopharmaceuticalStartTime = "233000"
    ds = _pet_header(SeriesTime="003000", AcquisitionTime="003000")
    ds.RadiopharmaceuticalInformationSequence = Sequence([info])
    assert suv_conversion(ds).elapsed_s == 3600
    admin = suv_conversion(_pet_header(DecayCorrection="ADMIN"))
    assert admin.decayed_dose_bq == 370e6 and math.isclose(admin.factor, 75000 / 370e6)


def test_series_already_in_suv_is_recognised() -> None:
    conv = suv_conversion(_pet_header(Units="GML"))
    assert conv.source == "already_suv" and conv.factor == 1.0


def test_suv_refuses_missing_weight_or_counts() -> None:
    ds = _pet_header()
    del ds.PatientWeight
    with pytest.raises(SuvError, match="PatientWeight"):
        suv_conversion(ds)
    with pytest.raises(SuvError, match="CNTS"):
        suv_conversion(_pet_header(Units="CNTS"))


def test_real_pet_fixture_is_reported_as_stored_suv() -> None:
    files = sorted((FIXTURE / "PET" / "image").glob("*.dcm"))
    assert files, "the committed DICOM fixture under tests/fixtures/dicom is missing"
    conv = suv_conversion_for_file(files[0])
    vol = to_suv(load_series(files, None), conv)
    assert conv.source == "already_suv" and vol.units == "SUVbw"
    assert any("stored by the scanner" in w for w in vol.warnings)
    assert 0 < float(np.nanmax(vol.voxels)) < 50


def test_an_upload_loads_in_one_sandboxed_call_with_per_series_problems(tmp_path: Path) -> None:
    from inference.imaging.schema import FileProblem, Volume
    from inference.imaging.volume import load_many

    good = write_series(tmp_path / "a", _ramp(3))
    broken = tmp_path / "b" / "x.dcm"
    broken.parent.mkdir()
    broken.write_bytes(b"garbage")
    limits = SandboxLimits(memory_bytes=1024**3, cpu_seconds=30, wall_seconds=60)
    first, second = load_many([good, [broken]], limits)
    assert isinstance(first, Volume) and first.voxels.shape == (3, 4, 4)
    assert isinstance(second, FileProblem) and second.kind == "not_dicom"
    assert "x.dcm" in second.message
