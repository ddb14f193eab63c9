"""DICOM whole-slide test data, made by Debian's ``OrthancWSIDicomizer`` from the shared SVS slides.

:func:`dicomize` converts an SVS into a folder of VL Whole Slide Microscopy instances (the source
JPEG tiles are copied, not re-encoded, so pixels match the SVS exactly) with the patient
attributes given; :func:`zip_folder` packs a folder as the web app receives it. ``.ci/run``
installs the ``orthanc-wsi`` package when Orthanc is missing; a machine without the dicomizer
fails these tests (they never skip). Nothing generated here is committed.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

from tests.paths import SHARED_DATA

#: The smallest shared slide: 2220 x 2967 pixels at 0.499 um/px, JPEG tiles of 240 px.
SMALL_SVS = SHARED_DATA / "wsi-samples" / "CMU-1-Small-Region.svs"
PATIENT_ID = "DICOMWSI-0001"
PATIENT_NAME = "SLIDE^TESTPATIENT"
ACCESSION = "ACC-WSI-77"


def dicomizer() -> str:
    """The installed ``OrthancWSIDicomizer``."""
    found = shutil.which("OrthancWSIDicomizer")
    if found is None:
        raise RuntimeError(
            "OrthancWSIDicomizer is not installed: `apt-get install orthanc-wsi` (.ci/run does it)"
        )
    return found


def dicomize(
    svs: Path,
    folder: Path,
    *,
    patient_id: str = PATIENT_ID,
    patient_name: str = PATIENT_NAME,
    max_size_mb: int = 0,
) -> list[Path]:
    """Convert ``svs`` into DICOM WSI instances in ``folder`` (created), one level per file.

    Args:
        svs: an Aperio SVS.
        folder: where the instances go.
        patient_id: the Patient ID written (the case's MRN for a matching slide).
        patient_name: the Patient Name written (must never reach what OncoBoard stores).
        max_size_mb: split levels into instances of at most this size (0: one per level).

    Returns:
        The instances, sorted (level 0 first).
    """
    import openslide

    with openslide.OpenSlide(str(svs)) as slide:
        width, height = slide.dimensions
        # A slide without a scale gets 0.5 um/px: DICOM WSI must declare a pixel spacing.
        mpp = float(slide.properties.get("openslide.mpp-x", 0.5))
        tile = int(slide.properties.get("openslide.level[0].tile-width", 240))
    folder.mkdir(parents=True, exist_ok=True)
    sample = subprocess.run(  # noqa: S603 - the installed binary, fixed arguments
        [dicomizer(), "--sample-dataset"], capture_output=True, check=True, text=True
    ).stdout
    dataset = json.loads(sample)
    dataset.update(
        {
            "PatientID": patient_id,
            "PatientName": patient_name,
            "PatientBirthDate": "19610203",
            "AccessionNumber": ACCESSION,
            "ReferringPhysicianName": "REFERRING^DOCTOR",
            "StudyDescription": "H&E slide",
        }
    )
    (folder.parent / f"{folder.name}.json").write_text(json.dumps(dataset))
    command = [
        dicomizer(),
        "--dataset",
        str(folder.parent / f"{folder.name}.json"),
        "--folder",
        str(folder),
        "--pyramid",
        "1",
        "--tile-width",
        str(tile),
        "--tile-height",
        str(tile),
        # Orthanc WSI 1.1 divides the imaged width by the rows and the height by the columns for
        # the Pixel Spacing: swapped here, so that the spacing is the SVS's (square) pixel size.
        "--imaged-width",
        f"{height * mpp / 1000:.6f}",
        "--imaged-height",
        f"{width * mpp / 1000:.6f}",
        "--max-size",
        str(max_size_mb),
        str(svs),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    library = _openslide_library()
    if done.returncode != 0 and "Bad file format" in done.stderr and library:
        # Not a tiled TIFF (strips): the dicomizer reads it through OpenSlide and re-encodes.
        command[1:1] = ["--openslide", library]
        done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    files = sorted(folder.glob("*.dcm"))
    if done.returncode != 0 or not files:
        raise RuntimeError(f"the dicomizer failed ({done.returncode}): {done.stderr[-2000:]}")
    return files


def _openslide_library() -> str | None:
    """The system's OpenSlide C library (Debian's ``libopenslide0``), if installed."""
    import ctypes.util

    found = ctypes.util.find_library("openslide")
    for place in (found, "/usr/lib/x86_64-linux-gnu/libopenslide.so.0"):
        if place and Path(place).exists():
            return place
    return found


def zip_files(files: list[Path], *, extra: dict[str, bytes] | None = None) -> bytes:
    """The files packed as one ZIP (as a folder upload arrives), plus ``extra`` members."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for n, path in enumerate(files):
            archive.write(path, f"slide/{n:04d}-{path.name}")
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()
