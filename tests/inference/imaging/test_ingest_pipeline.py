"""The whole-upload pipeline and the stored-volume format, in process on the sarcoma fixture."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pydicom
import pytest

from inference.imaging.ingest import process_upload
from inference.imaging.render import WINDOWS, render_slice
from inference.imaging.schema import DeidOptions
from inference.imaging.store import open_mask, open_volume, volume_geometry

STS = Path(__file__).resolve().parents[2] / "fixtures" / "dicom" / "sts_002"
OPTIONS = DeidOptions(patient_secret=b"k" * 32)


def _files(*parts: str) -> list[Path]:
    return sorted(p for part in parts for p in (STS / part).rglob("*.dcm"))


def test_the_ct_rtstruct_is_placed_by_frame_of_reference_and_measured(tmp_path: Path) -> None:
    files = _files("CT")
    result = process_upload(files, [p.name for p in files], tmp_path, OPTIONS, None)
    assert result.refused == "" and result.problems == ()
    (region,) = result.regions
    assert region.source == "RTSTRUCT" and "frame of reference" in region.warnings[-1]
    assert region.features.get("volume") == pytest.approx(53.3, abs=0.5)
    (features,) = result.features
    assert {m.name for m in features.study} >= {"lesion_count", "total_lesion_volume"}


def test_files_of_two_patients_refuse_the_upload_before_anything_is_written(
    tmp_path: Path,
) -> None:
    files = _files("CT/image")[:3]
    other = tmp_path / "other.dcm"
    ds = pydicom.dcmread(files[0])
    ds.PatientID = "ANOTHER"
    ds.save_as(other)
    result = process_upload(
        [*files, other], ["a", "b", "c", "x/other.dcm"], tmp_path / "w", OPTIONS, None
    )
    assert "more than one patient" in result.refused and "x/other.dcm" in result.refused
    assert not any((tmp_path / "w" / "deid").iterdir())
    assert result.series == () and result.quarantined == ()


def test_files_of_one_patient_who_is_not_the_expected_one_are_refused(tmp_path: Path) -> None:
    files = _files("CT/image")[:3]
    names = [p.name for p in files]
    result = process_upload(
        files, names, tmp_path / "w", OPTIONS, None, expected_patient_id="STS_003"
    )
    assert result.refused.startswith("The images belong to another patient")
    assert "STS_002" not in result.refused  # the other patient's ID is not repeated
    assert not any((tmp_path / "w" / "deid").iterdir()) and result.series == ()
    same = process_upload(
        files, names, tmp_path / "v", OPTIONS, None, expected_patient_id="STS_002"
    )
    assert same.refused == "" and len(same.series) == 1


def test_problems_name_files_by_their_upload_path(tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"hello" * 100)
    files = [*_files("CT/image")[:2], junk]
    result = process_upload(
        files, ["s/1.dcm", "s/2.dcm", "odd/junk.bin"], tmp_path / "w", OPTIONS, None
    )
    (problem,) = [p for p in result.problems if p.kind == "not_dicom"]
    assert problem.path == "odd/junk.bin" and problem.message.startswith("odd/junk.bin")


def test_a_stored_volume_maps_back_to_the_same_grid_and_renders(tmp_path: Path) -> None:
    files = _files("CT", "PET")
    result = process_upload(files, [p.name for p in files], tmp_path, OPTIONS, None)
    ct = next(s for s in result.series if s.index.modality == "CT")
    pet = next(s for s in result.series if s.index.modality == "PT")
    assert ct.volume is not None and pet.volume is not None
    geometry = {**volume_geometry(ct.volume), "shape": [48, *np.load(ct.voxels_path).shape[1:]]}
    volume = open_volume(ct.voxels_path, geometry)
    assert isinstance(volume.voxels, np.memmap) and volume.voxels.shape[0] == 48
    assert volume.spacing == ct.volume.spacing and volume.units == "HU"
    pet_geometry = {**volume_geometry(pet.volume), "shape": list(np.load(pet.voxels_path).shape)}
    pet_volume = open_volume(pet.voxels_path, pet_geometry)
    region = next(r for r in result.regions if r.series_instance_uid == volume.series_instance_uid)
    mask = open_mask(region.mask_path, region.name, region.source)
    rendered = render_slice(
        volume, "axial", 20, WINDOWS["soft_tissue"], regions=[mask], fusion=pet_volume
    )
    assert rendered.png[:4] == b"\x89PNG" and "fusion:PT" in rendered.overlays
    with pytest.raises(ValueError, match="geometry says"):
        open_volume(ct.voxels_path, {**geometry, "shape": [47, 1, 1]})


def test_a_released_file_is_not_de_identified_twice(tmp_path: Path) -> None:
    files = _files("CT/image")[:2]
    first = process_upload(files, ["a", "b"], tmp_path / "1", OPTIONS, None)
    deid = [i.path for s in first.studies[0].series for i in s.instances]
    again = process_upload(deid, ["a", "b"], tmp_path / "2", None, None)
    uids = {i.sop_instance_uid for s in again.studies[0].series for i in s.instances}
    assert uids == {i.sop_instance_uid for s in first.studies[0].series for i in s.instances}
    buffer = io.BytesIO(Path(deid[0]).read_bytes())
    assert pydicom.dcmread(buffer).PatientIdentityRemoved == "YES"
