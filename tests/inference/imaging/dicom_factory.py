"""Builders of small synthetic DICOM files for the imaging tests; the committed PET/CT fixture."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    UID,
    CTImageStorage,
    ExplicitVRLittleEndian,
    PositronEmissionTomographyImageStorage,
)

from inference.imaging.pet import suv_conversion_for_file, to_suv
from inference.imaging.schema import Volume
from inference.imaging.volume import load_series

ROOT = "1.2.826.0.1.3680043.10.1099"
#: A real PET/CT study with an RTSTRUCT on each (committed under tests/fixtures/dicom).
STS_002 = Path(__file__).resolve().parents[2] / "fixtures" / "dicom" / "sts_002"


def uid(*parts: int) -> str:
    return ".".join([ROOT, *[str(p) for p in parts]])


def instance_dataset(sop_class: UID, *, study: int, series: int, instance: int) -> Dataset:
    """An instance's identity: file meta (explicit VR little endian), SOP, study and series UIDs."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.MediaStorageSOPInstanceUID = UID(uid(study, series, instance))
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = uid(study, series, instance)
    ds.StudyInstanceUID = uid(study)
    ds.SeriesInstanceUID = uid(study, series)
    return ds


def image_dataset(
    *,
    patient_id: str = "P1",
    study: int = 1,
    series: int = 1,
    instance: int = 1,
    position: Sequence[float] = (0.0, 0.0, 0.0),
    orientation: Sequence[float] = (1, 0, 0, 0, 1, 0),
    pixels: npt.NDArray[np.int16] | None = None,
    spacing: Sequence[float] = (1.0, 1.0),
    modality: str = "CT",
    slope: float = 1.0,
    intercept: float = -1024.0,
) -> Dataset:
    """A minimal valid single-frame image instance (explicit VR little endian)."""
    if pixels is None:
        pixels = np.zeros((4, 4), dtype=np.int16)
    sop_class = PositronEmissionTomographyImageStorage if modality == "PT" else CTImageStorage
    ds = instance_dataset(sop_class, study=study, series=series, instance=instance)
    ds.PatientName = "Test^Patient"
    ds.PatientID = patient_id
    ds.FrameOfReferenceUID = uid(study, 999)
    ds.StudyDate = "20240102"
    ds.SeriesDate = "20240102"
    ds.Modality = modality
    ds.SeriesDescription = "synthetic"
    ds.SeriesNumber = series
    ds.InstanceNumber = instance
    ds.ImagePositionPatient = [float(x) for x in position]
    ds.ImageOrientationPatient = [float(x) for x in orientation]
    ds.PixelSpacing = [float(x) for x in spacing]
    ds.SliceThickness = 1.0
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.RescaleSlope = slope
    ds.RescaleIntercept = intercept
    ds.PixelData = np.ascontiguousarray(pixels, dtype="<i2").tobytes()
    return ds


def write(ds: Dataset, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def write_series(
    folder: Path,
    volume: npt.NDArray[np.int16],
    *,
    positions_z: Sequence[float] | None = None,
    **kwargs: object,
) -> list[Path]:
    """Write ``volume`` (k, rows, cols) as one axial series, slices in shuffled file order."""
    k = volume.shape[0]
    zs = list(positions_z) if positions_z is not None else [float(i) for i in range(k)]
    paths = []
    order = np.random.default_rng(0).permutation(k)
    for n, i in enumerate(order):
        ds = image_dataset(
            instance=int(i) + 1,
            position=(0.0, 0.0, zs[i]),
            pixels=volume[i],
            **kwargs,  # type: ignore[arg-type]
        )
        paths.append(write(ds, folder / f"f{n:04d}.dcm"))
    return paths


def load_sts_002() -> tuple[Volume, Volume]:
    """The CT volume and the PET volume (in SUV) of the committed fixture."""
    ct_files = sorted((STS_002 / "CT" / "image").glob("*.dcm"))
    assert ct_files, "the committed DICOM fixture under tests/fixtures/dicom is missing"
    pet_files = sorted((STS_002 / "PET" / "image").glob("*.dcm"))
    pet = to_suv(load_series(pet_files, None), suv_conversion_for_file(pet_files[0]))
    return load_series(ct_files, None), pet


def synthetic_volume(
    voxels: npt.NDArray[Any],
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0),
    *,
    frame: str = "1.2.4",
    modality: str = "CT",
    units: str = "HU",
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0),
) -> Volume:
    """An axis-aligned volume of ``voxels`` (slices along z), as loading a series would give."""
    k = voxels.shape[0]
    return Volume(
        voxels=voxels.astype(np.float32),
        spacing=spacing,
        origin=origin,
        row_direction=(1.0, 0.0, 0.0),
        column_direction=(0.0, 1.0, 0.0),
        normal=(0.0, 0.0, 1.0),
        modality=modality,
        units=units,
        series_instance_uid="1.2.3",
        frame_of_reference_uid=frame,
        slice_positions=tuple(float(i) * spacing[0] for i in range(k)),
        sop_instance_uids=tuple("" for _ in range(k)),
    )
