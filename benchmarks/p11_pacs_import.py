"""P11: retrieve and ingest a CT series from Orthanc over DICOMweb, against a bare retrieve to disk.

Ours is the whole PACS import as the app runs it (``pacs_import_request`` and its job on a
throw-away SQLite database): QIDO-RS check of the patient, WADO-RS retrieve series by series,
hand-over, then the upload's sandboxed ingest (index, de-identification, volume) and the rows.
The baseline, in the same run and against the same server, is a plain ``dicomweb-client``
``iter_series`` of the same series with every instance written to disk. Orthanc (Debian's
``orthanc`` and ``orthanc-dicomweb``) is started on a loopback port with a throw-away storage
folder and loaded with the shared sarcoma STS_001 CT series (59 slices). The DICOM WSI half of
P11 is not measured here.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import requests

from benchmarks import p11_wsi
from benchmarks._app_in_process import django_in_process
from benchmarks.common import BenchmarkResult, result_line
from oncology_ui.demodata.orthanc import (
    PASSWORD,
    USERNAME,
    orthanc_load,
    orthanc_start,
    orthanc_stop,
)

ID = "P11"
TITLE = (
    "PACS import (DICOMweb retrieve + ingest) vs bare dicomweb-client retrieve to disk; "
    "DICOM WSI tiling vs the SVS of the same slide"
)
SERIES = "dicom-samples/tcia-soft-tissue-sarcoma-mirp/STS_001/CT/dicom/image"
GOAL = 2.0


def _bare_retrieve(url: str, study: str, series: str, target: Path) -> int:
    from dicomweb_client.api import DICOMwebClient

    session = requests.Session()
    session.auth = (USERNAME, PASSWORD)
    client = DICOMwebClient(url, session=session)
    target.mkdir(parents=True)
    count = 0
    for count, dataset in enumerate(client.iter_series(study, series), start=1):
        dataset.save_as(target / f"{count:06d}.dcm", enforce_file_format=False)
    return count


def _import_once(n: int, study: str) -> float:
    """One whole import into a fresh patient (site ``bench<n>``, MRN STS_001); seconds."""
    import datetime as dt

    from oncology_ui.core.jobs import job_run, jobs_in_process_drain
    from oncology_ui.imaging.models import ImagingUpload
    from oncology_ui.imaging.pacs import pacs_import_request
    from oncology_ui.patients.models import Case, Patient

    patient = Patient.objects.create(
        site=f"bench{n}",
        mrn="STS_001",
        given_name="Bench",
        family_name=f"P11-{n}",
        birth_date=dt.date(1960, 1, 1),
        sex=Patient.Sex.UNKNOWN,
    )
    case = Case.objects.create(
        patient=patient,
        primary_diagnosis="Soft-tissue sarcoma",
        oncotree_code="SARCNOS",
        icd10_code="C49.9",
        diagnosis_date=dt.date(2000, 9, 7),
    )
    start = time.perf_counter()
    upload = pacs_import_request(case=case, user=None, study_uid=study)
    assert upload.job is not None
    # The in-process executor was handed the job at commit; whichever runner claims it first
    # runs it and the other skips it. Wait for both.
    job_run(upload.job.pk)
    jobs_in_process_drain()
    seconds = time.perf_counter() - start
    upload.refresh_from_db()
    if upload.status != ImagingUpload.Status.STORED:
        raise SystemExit(f"the import did not store the series: {upload.error}")
    return seconds


def run(args: argparse.Namespace) -> BenchmarkResult:
    """Run P11 and return the result dict (the runner prints it as the last line)."""
    files = sorted((Path(args.data) / SERIES).glob("*.dcm"))
    if not files:
        raise SystemExit(f"no CT series under {Path(args.data) / SERIES}")
    import pydicom

    head = pydicom.dcmread(files[0], stop_before_pixels=True)
    study, series = str(head.StudyInstanceUID), str(head.SeriesInstanceUID)
    repeats = 1 if args.quick else 5
    with tempfile.TemporaryDirectory(prefix="p11-") as tmp:
        work = Path(tmp)
        server = orthanc_start(work / "orthanc")
        try:
            orthanc_load(server, files)
            django_in_process(
                work,
                f"sqlite:///{work / 'p11.sqlite3'}",
                bench_id=ID,
                PACS_DICOMWEB_URL=server.dicomweb_url,
                PACS_USERNAME=USERNAME,
                PACS_PASSWORD=PASSWORD,
            )
            _bare_retrieve(server.dicomweb_url, study, series, work / "warm")  # warm caches
            bare = statistics.median(
                _timed_retrieve(server.dicomweb_url, study, series, work / f"bare-{i}")
                for i in range(repeats)
            )
            ours = statistics.median(_import_once(i, study) for i in range(repeats))
        finally:
            orthanc_stop(server)
    ratio = ours / bare
    # The second half: DICOM WSI tiling against the SVS of the same slide.
    wsi = p11_wsi.run(args)
    return result_line(
        id=ID,
        metric="seconds_per_series",
        ours=round(ours, 3),
        baseline=round(bare, 3),
        ratio=round(ratio, 2),
        goal=f"<= {GOAL} x the bare retrieve",
        met=ratio <= GOAL and bool(wsi["met"]),
        dicomweb_met=ratio <= GOAL,
        wsi=wsi,
        instances=len(files),
        repeats=repeats,
        note="ours includes the sandboxed ingest (a fresh interpreter per import) and the rows",
    )


def _timed_retrieve(url: str, study: str, series: str, target: Path) -> float:
    start = time.perf_counter()
    _bare_retrieve(url, study, series, target)
    return time.perf_counter() - start
