"""The ingest job end to end on real DICOM: what is stored, what is refused, what is held."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pydicom
import pytest
from django.conf import settings
from django.core import serializers

from oncology_ui.core.models import Job
from oncology_ui.imaging.models import (
    ImagingRegion,
    ImagingSeries,
    ImagingStudy,
    ImagingUpload,
    PatientImagingKey,
    QuarantinedInstance,
)
from oncology_ui.patients.models import TimelineEvent
from tests.oncology_ui.conftest import Cast
from tests.oncology_ui.imaging.conftest import STS, ingest, sts_files, sts_zip, zip_of

pytestmark = pytest.mark.django_db
DCMQI_SEG = Path(__file__).resolve().parents[2] / "fixtures" / "dicom" / "dcmqi" / "liver.dcm"
SHARED_DCMQI_CT = Path(settings.BASE_DIR).parent / "shared/data/dicom-samples/dcmqi/ct-3slice"
CANARY = "ZZCANARYIMG"


def _media() -> Path:
    return Path(settings.MEDIA_ROOT)


def _stored_files() -> list[Path]:
    return [p for p in _media().rglob("*") if p.is_file()]


def _edited(path: Path, **attributes: object) -> bytes:
    ds = pydicom.dcmread(path)
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    buffer = io.BytesIO()
    ds.save_as(buffer)
    return buffer.getvalue()


def test_a_sarcoma_ct_and_pet_with_contours_are_stored_measured_and_put_on_the_timeline(
    cast: Cast, sts_upload: ImagingUpload
) -> None:
    assert sts_upload.counts["series"] == 4 and sts_upload.counts["regions"] == 2
    assert sts_upload.counts["instances"] == 98 and sts_upload.problems == []
    study = ImagingStudy.objects.get(case=cast.case)
    ct = ImagingSeries.objects.get(study=study, modality="CT")
    pet = ImagingSeries.objects.get(study=study, modality="PT")
    assert ct.slice_count == 48 and ct.units == "HU" and ct.has_volume
    assert ct.geometry["shape"][0] == 48 and ct.slice_spacing == pytest.approx(3.27, abs=0.01)
    assert pet.suv_kind == "already_suv" and pet.units == "SUVbw"
    assert ct.frame_of_reference_uid == pet.frame_of_reference_uid
    # The tumour on CT and on PET: volumes agree within a few per cent, PET in SUVbw.
    ct_region = ImagingRegion.objects.get(series=ct)
    pet_region = ImagingRegion.objects.get(series=pet)
    assert ct_region.volume_ml == pytest.approx(53.3, abs=0.5)
    assert pet_region.volume_ml == pytest.approx(54.3, abs=0.5)
    assert ct_region.longest_diameter_mm == pytest.approx(56.5, abs=0.5)
    assert ct_region.intensity_unit == "HU" and pet_region.intensity_unit == "SUVbw"
    assert pet_region.maximum == pytest.approx(21.68, abs=0.01)
    assert 0 < ct_region.key_slice < 48
    names = {m["name"] for m in ct_region.measurements}
    assert {"sphericity", "entropy", "peak", "maximum_3d_diameter"} <= names
    features = {m["name"]: m for m in study.features["measurements"]}
    assert features["suv_max"]["value"] == pytest.approx(21.68, abs=0.01)
    assert features["suv_max"]["unit"] == "SUVbw"
    # Files live under opaque names; the raw upload and the work folder are gone.
    folder = _media() / "imaging" / "series" / ct.storage_key
    assert sorted(p.name for p in folder.iterdir())[:2] == ["00000.dcm", "00001.dcm"]
    assert (folder / "volume.npy").is_file() and (folder / ct_region.mask_name).is_file()
    assert not any((_media() / "imaging" / "incoming").iterdir())
    assert not any((_media() / "imaging" / "work").iterdir())
    # The real study date (the files carry a shifted one) is on the timeline.
    assert study.study_date is not None and study.study_date.isoformat() == "2006-01-28"
    stored = pydicom.dcmread(folder / "00000.dcm", stop_before_pixels=True)
    assert stored.StudyDate != "20060128" and stored.PatientIdentityRemoved == "YES"
    event = TimelineEvent.objects.get(case=cast.case, kind="imaging")
    assert event.date == study.study_date and "CT" in event.title
    assert PatientImagingKey.objects.filter(patient=cast.patient).count() == 1


def test_no_identifier_reaches_stored_files_file_names_or_database_text(cast: Cast) -> None:
    original = pydicom.dcmread(sts_files("CT/image")[0], stop_before_pixels=True)
    files = {
        f"CT/{p.name}": _edited(
            p,
            PatientName=f"{CANARY}^NAME",
            PatientID=f"{CANARY}-ID",
            InstitutionName=f"{CANARY} Hospital",
            ReferringPhysicianName=f"{CANARY}^DOCTOR",
            AccessionNumber="ZZCANARYACC",
            StudyDescription=f"{CANARY} study",
            SeriesDescription=f"{CANARY} series",
            OperatorsName=f"{CANARY}^OP",
        )
        for p in sts_files("CT/image")[:6]
    }
    upload = ingest(cast.case, {"study.zip": zip_of(files)}, cast.oncologist)
    assert upload.status == ImagingUpload.Status.STORED, upload.error
    stored = _stored_files()
    assert len(stored) == 7  # six images and the volume
    for path in stored:
        assert "ZZCANARY" not in str(path) and "STS_002" not in str(path)
        data = path.read_bytes()
        assert b"ZZCANARY" not in data
        assert b"STS_002" not in data  # the source's own patient id
        assert original.StudyInstanceUID.encode() not in data
        assert original.SOPInstanceUID.encode() not in data
    rows = [
        *ImagingUpload.objects.all(),
        *ImagingStudy.objects.all(),
        *ImagingSeries.objects.all(),
        *ImagingRegion.objects.all(),
        *Job.objects.all(),
        *TimelineEvent.objects.filter(kind="imaging"),
    ]
    text = serializers.serialize("json", rows)
    assert "ZZCANARY" not in text and "STS_002" not in text
    assert original.StudyInstanceUID not in text


def test_files_of_two_patients_refuse_the_whole_upload_and_store_nothing(cast: Cast) -> None:
    files = {f"a/{p.name}": p.read_bytes() for p in sts_files("CT/image")[:4]}
    files["b/other.dcm"] = _edited(sts_files("CT/image")[5], PatientID="SOMEONE-ELSE")
    upload = ingest(cast.case, {"mixed.zip": zip_of(files)}, cast.oncologist)
    assert upload.status == ImagingUpload.Status.REFUSED
    assert "more than one patient" in upload.error and "b/other.dcm" in upload.error
    assert "SOMEONE-ELSE" not in json.dumps(upload.problems) + upload.error
    assert not ImagingStudy.objects.exists() and not QuarantinedInstance.objects.exists()
    assert _stored_files() == []
    assert upload.job is not None
    upload.job.refresh_from_db()
    assert upload.job.status == Job.Status.SUCCEEDED  # the job did its work: it refused


def test_non_dicom_and_truncated_files_are_named_and_the_rest_is_stored(cast: Cast) -> None:
    images = sts_files("CT/image")[:5]
    files = {p.name: p.read_bytes() for p in images}
    files["notes.txt"] = b"not an image at all\n" * 20
    files["broken.dcm"] = images[0].read_bytes()[:1400]
    upload = ingest(cast.case, files, cast.oncologist)
    assert upload.status == ImagingUpload.Status.STORED
    by_file = {p["file"]: p for p in upload.problems}
    assert by_file["notes.txt"]["kind"] == "not_dicom"
    assert by_file["broken.dcm"]["kind"] == "truncated"
    assert "broken.dcm" in by_file["broken.dcm"]["message"]
    assert ImagingSeries.objects.get(study__case=cast.case).slice_count == 5


@pytest.mark.parametrize(
    ("entries", "reason"),
    [
        ({"../evil.dcm": b"DICM" * 10}, "evil.dcm"),
        ({"/etc/evil.dcm": b"DICM" * 10}, "evil.dcm"),
        ({"nested.zip": zip_of({"a.dcm": b"x" * 100})}, "nested.zip"),
        ({"bomb.dcm": b"\0" * (20 * 1024 * 1024)}, "bomb.dcm"),
    ],
    ids=["zip-slip", "absolute-path", "nested-archive", "zip-bomb"],
)
def test_hostile_archives_are_refused_before_anything_is_extracted(
    cast: Cast, entries: dict[str, bytes], reason: str
) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("ok/00001.dcm", sts_files("CT/image")[0].read_bytes())
        for name, data in entries.items():
            archive.writestr(zipfile.ZipInfo(name), data, zipfile.ZIP_DEFLATED)
    upload = ingest(cast.case, {"hostile.zip": buffer.getvalue()}, cast.oncologist)
    assert upload.status == ImagingUpload.Status.REFUSED
    assert "refused before anything was extracted" in upload.error and reason in upload.error
    assert _stored_files() == []
    assert not (_media().parent / "evil.dcm").exists()
    assert not ImagingStudy.objects.exists()


def test_a_zip_among_other_files_is_refused_at_the_door(cast: Cast) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="upload a zip on its own"):
        ingest(cast.case, {"a.dcm": b"x" * 200, "b.zip": zip_of({"c.dcm": b"y"})})
    assert not ImagingUpload.objects.exists() and _stored_files() == []


def test_a_seg_whose_images_are_missing_is_named_and_nothing_is_placed(cast: Cast) -> None:
    upload = ingest(cast.case, {"liver.dcm": DCMQI_SEG.read_bytes()}, cast.oncologist)
    assert upload.status == ImagingUpload.Status.STORED
    (problem,) = [p for p in upload.problems if p["file"] == "liver.dcm"]
    assert "not in this upload" in problem["message"]
    assert not ImagingRegion.objects.exists()


@pytest.mark.slow
@pytest.mark.skipif(not SHARED_DCMQI_CT.is_dir(), reason="shared dcmqi CT not present")
def test_a_dcmqi_ct_with_its_seg_gets_the_liver_region(cast: Cast) -> None:
    files = {f"ct/{p.name}": p.read_bytes() for p in sorted(SHARED_DCMQI_CT.glob("*.dcm"))}
    files["seg/liver.dcm"] = DCMQI_SEG.read_bytes()
    upload = ingest(cast.case, {"liver.zip": zip_of(files)}, cast.oncologist)
    assert upload.status == ImagingUpload.Status.STORED, upload.problems
    (region,) = ImagingRegion.objects.filter(series__study__case=cast.case)
    assert region.source == "SEG" and region.name == "Liver"
    assert region.volume_ml and region.volume_ml > 10
    assert region.intensity_unit == "HU"


def test_one_slice_series_is_stored_with_a_clear_note(cast: Cast) -> None:
    upload = ingest(cast.case, {"one.dcm": sts_files("CT/image")[0].read_bytes()})
    series = ImagingSeries.objects.get(study__case=cast.case)
    assert "has one slice" in " ".join(series.warnings)
    assert any("has one slice" in p["message"] for p in upload.problems)


def test_the_same_study_uploaded_twice_is_stored_once(cast: Cast) -> None:
    files = {p.name: p.read_bytes() for p in sts_files("CT/image")[:3]}
    ingest(cast.case, dict(files), cast.oncologist)
    again = ingest(cast.case, dict(files), cast.oncologist)
    assert ImagingSeries.objects.filter(study__case=cast.case).count() == 1
    assert any(p["kind"] == "duplicate" for p in again.problems)


def test_images_flagged_for_burned_in_text_are_held_then_released_by_a_radiologist(
    cast: Cast, radiologist: object
) -> None:
    from oncology_ui.core.jobs import job_run
    from oncology_ui.imaging import held as held_images
    from oncology_ui.imaging import storage

    images = sts_files("CT/image")
    files = {p.name: p.read_bytes() for p in images[:4]}
    files["screen.dcm"] = _edited(
        images[10], BurnedInAnnotation="YES", SeriesInstanceUID="1.2.826.0.1.3680043.10.1099.77"
    )
    upload = ingest(cast.case, files, cast.oncologist)
    assert upload.counts["quarantined"] == 1
    held = QuarantinedInstance.objects.get(case=cast.case)
    assert held.status == "pending" and "BurnedInAnnotation" in held.reason
    assert storage.quarantine_path(held).is_file()
    assert ImagingSeries.objects.filter(study__case=cast.case).count() == 1  # not indexed
    released = held_images.held_release(instance=held, user=radiologist)  # type: ignore[arg-type]
    assert released.job is not None
    job_run(released.job.pk)
    released.refresh_from_db()
    assert released.status == ImagingUpload.Status.STORED, released.error
    assert ImagingSeries.objects.filter(study__case=cast.case).count() == 2
    held.refresh_from_db()
    assert held.status == "released" and held.reviewed_by == radiologist


def test_a_discarded_held_image_is_deleted(cast: Cast, radiologist: object) -> None:
    from oncology_ui.imaging import held as held_images
    from oncology_ui.imaging import storage

    files = {"screen.dcm": _edited(sts_files("CT/image")[0], Modality="US")}
    ingest(cast.case, files, cast.oncologist)
    held = QuarantinedInstance.objects.get(case=cast.case)
    held_images.held_discard(instance=held, user=radiologist)  # type: ignore[arg-type]
    assert not storage.quarantine_path(held).exists()
    held.refresh_from_db()
    assert held.status == "discarded"


def test_the_fixture_attribution_is_shipped() -> None:
    assert (STS.parent / "ATTRIBUTION.md").is_file()
    assert "dcmqi" in (STS.parent / "ATTRIBUTION.md").read_text()


def test_sts_zip_helper_keeps_folder_names() -> None:
    with zipfile.ZipFile(io.BytesIO(sts_zip("CT/mask"))) as archive:
        assert archive.namelist() == ["CT/mask/RS.dcm"]


def test_a_parser_out_of_memory_fails_the_upload_with_a_message_and_stores_nothing(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 128 MB of address space is too little for the parser child (numpy alone reserves more).
    monkeypatch.setattr(settings, "IMAGING_SANDBOX_MEMORY_MB", 128)
    upload = ingest(cast.case, {"study.zip": sts_zip("CT", "PET")}, cast.oncologist)
    assert upload.status == ImagingUpload.Status.FAILED
    assert "memory limit" in upload.error and "nothing was stored" in upload.error
    assert upload.job is not None
    upload.job.refresh_from_db()
    assert upload.job.status == Job.Status.FAILED and "memory limit" in upload.job.error
    assert _stored_files() == [] and not ImagingStudy.objects.exists()


def test_a_failure_while_storing_leaves_no_rows_and_no_files(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")  # fault injection: the last write of the ingest fails

    monkeypatch.setattr(ImagingRegion.objects, "create", broken)
    upload = ingest(cast.case, {"study.zip": sts_zip("CT")}, cast.oncologist)
    assert upload.status == ImagingUpload.Status.FAILED
    assert "nothing was stored" in upload.error
    assert not ImagingStudy.objects.exists() and not ImagingSeries.objects.exists()
    assert _stored_files() == []


def test_deleting_a_case_removes_its_stored_files(
    cast: Cast, sts_upload: ImagingUpload, django_capture_on_commit_callbacks: object
) -> None:
    assert _stored_files()
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        ImagingStudy.objects.filter(case=cast.case).delete()
    assert _stored_files() == []


@pytest.mark.parametrize(
    "name",
    [
        "html",
        "empty",
        "truncated_header",
        "undefined_length_text",
        "absurd_pixel_length",
        "deep_sequence",
        "unknown_transfer_syntax",
        "no_series_uid",
    ],
)
def test_each_kind_of_malformed_file_is_named_with_its_kind_and_the_rest_is_stored(
    cast: Cast, tmp_path: Path, name: str
) -> None:
    import numpy as np

    from tests.inference.imaging.dicom_factory import write_series
    from tests.inference.imaging.test_dicom_index import _corpus

    # The malformed files are instance 1 of series 1; the good series is series 2.
    voxels = np.arange(3 * 8 * 8, dtype=np.int16).reshape(3, 8, 8)
    good = write_series(tmp_path / "good", voxels, series=2)
    path, kind = _corpus(tmp_path)[name]
    files = {f"good/{p.name}": p.read_bytes() for p in good} | {
        f"bad/{name}.dcm": path.read_bytes()
    }
    upload = ingest(cast.case, {"corpus.zip": zip_of(files)}, cast.oncologist)
    assert upload.status == ImagingUpload.Status.STORED, upload.error
    (problem,) = upload.problems
    assert problem["file"] == f"bad/{name}.dcm" and problem["kind"] == kind
    assert problem["file"] in problem["message"]
    assert ImagingSeries.objects.get(study__case=cast.case).slice_count == 3


def test_pet_in_bq_per_ml_becomes_suvbw_matching_a_hand_computed_value(
    cast: Cast, tmp_path: Path
) -> None:
    import numpy as np

    from oncology_ui.imaging.storage import series_dir
    from tests.inference.imaging.dicom_factory import write
    from tests.inference.imaging.test_volume_and_pet import _pet_header

    files = {}
    for k in range(3):
        ds = _pet_header(InstanceNumber=k + 1, ImagePositionPatient=[0.0, 0.0, float(k)])
        ds.SOPInstanceUID = f"1.2.826.0.1.3680043.10.1099.9.{k + 1}"
        ds.RescaleIntercept = 0.0
        ds.PixelData = np.full((8, 8), 10_000, dtype=np.int16).tobytes()
        ds.Rows, ds.Columns = 8, 8
        files[f"pet/{k}.dcm"] = write(ds, tmp_path / f"{k}.dcm").read_bytes()
    upload = ingest(cast.case, {"pet.zip": zip_of(files)}, cast.oncologist)
    assert upload.status == ImagingUpload.Status.STORED, (upload.error, upload.problems)
    pet = ImagingSeries.objects.get(study__case=cast.case)
    assert pet.suv_kind == "computed_from_activity" and pet.units == "SUVbw"
    # 370 MBq injected 60 min before the scan, F-18 (6586.2 s), 75 kg: 10 kBq/mL -> SUV 2.9608.
    # Dates were shifted by de-identification; the uptake time survives because times are kept.
    decayed = 370e6 * 2 ** (-3600 / 6586.2)
    assert pet.suv["elapsed_s"] == 3600 and pet.suv["weight_kg"] == 75.0
    assert pet.suv["factor"] == pytest.approx(75000 / decayed)
    voxels = np.load(series_dir(pet) / "volume.npy")
    assert float(voxels.mean()) == pytest.approx(2.9608, abs=1e-3)


def test_the_import_command_loads_a_folder_into_a_case(cast: Cast) -> None:
    from django.core.management import call_command

    out = io.StringIO()
    call_command("imaging_import", str(STS / "CT"), case=cast.case.pk, run_here=True, stdout=out)
    assert "Stored — 2 series, 49 images, 1 regions" in out.getvalue()
    assert ImagingRegion.objects.filter(series__study__case=cast.case).count() == 1


@pytest.mark.parametrize(
    ("name", "modality", "held"),
    [
        ("CT_small.dcm", "CT", False),  # one slice: stored and shown, with a note
        ("MR_small_jp2klossless.dcm", "MR", False),  # JPEG 2000 lossless pixels decoded
        ("JPEG2000.dcm", "", True),  # secondary capture: held for pixel review
    ],
)
def test_pydicoms_bundled_files_go_through_the_ingest(
    cast: Cast, name: str, modality: str, held: bool
) -> None:
    from pydicom.data import get_testdata_file

    path = get_testdata_file(name, download=False)  # bundled with pydicom: never the network
    assert path is not None
    upload = ingest(cast.case, {name: Path(str(path)).read_bytes()}, cast.oncologist)
    assert upload.status == ImagingUpload.Status.STORED, upload.error
    assert QuarantinedInstance.objects.filter(case=cast.case).exists() == held
    if modality:
        series = ImagingSeries.objects.get(study__case=cast.case)
        assert series.modality == modality and series.has_volume
        assert any("has one slice" in w for w in series.warnings)


def test_a_dicomdir_is_ignored_with_a_note_and_its_images_are_found_by_walking(
    cast: Cast,
) -> None:
    from pydicom.data import get_testdata_file

    dicomdir = get_testdata_file("DICOMDIR", download=False)
    assert dicomdir is not None
    files = {f"DICOM/IMG{n:04d}": p.read_bytes() for n, p in enumerate(sts_files("CT/image")[:4])}
    files["DICOMDIR"] = Path(str(dicomdir)).read_bytes()  # names other files: never followed
    upload = ingest(cast.case, {"cd.zip": zip_of(files)}, cast.oncologist)
    assert upload.status == ImagingUpload.Status.STORED
    (note,) = upload.problems
    assert note["kind"] == "dicomdir" and note["file"] == "DICOMDIR"
    assert "not trusted" in note["message"]
    assert ImagingSeries.objects.get(study__case=cast.case).slice_count == 4
