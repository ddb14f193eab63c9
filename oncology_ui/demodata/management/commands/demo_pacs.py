"""``manage.py demo_pacs``: a local PACS (Orthanc) holding the demo imaging patient's studies.

Run it beside ``make run`` (``make demo-pacs``): it starts Debian's Orthanc with DICOMweb and a
DIMSE listener on loopback, with its storage under ``.local/demo-pacs``, loads the soft-tissue
sarcoma studies of TCIA patient STS_002 from ``../shared/data/dicom-samples`` filed under the MRN
of the demo patient composed from them (``DEMO-IMG1``), prints the environment that points the
app at it and serves until Ctrl-C. The same start and load code runs the tests' PACS
(:mod:`oncology_ui.demodata.orthanc`).
"""

from __future__ import annotations

import secrets
import shutil
import signal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from oncology_ui.demodata.orthanc import (
    AE_TITLE,
    QR_CALLING_AE,
    USERNAME,
    OrthancMissing,
    orthanc_load,
    orthanc_start,
    orthanc_stop,
)
from oncology_ui.demodata.seed import IMAGES_MRN

#: The whole STS_002 record (CT, FDG-PET, T1 MR and their contours) as the shared data holds it.
SARCOMA_SAMPLES = (
    Path(settings.BASE_DIR).parent
    / "shared"
    / "data"
    / "dicom-samples"
    / "tcia-soft-tissue-sarcoma-mirp"
    / "STS_002"
)


def demo_pacs_files(samples: Path) -> list[Path]:
    """The DICOM files the demo PACS holds, sorted; [] when ``samples`` has none."""
    return sorted(p for p in samples.rglob("*.dcm") if p.is_file())


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = (
        "Start a local Orthanc PACS holding the demo imaging patient's sarcoma studies and print "
        "the environment to run the app against it (Ctrl-C stops it)."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--http-port", type=int, default=8043, help="DICOMweb (default 8043)")
        parser.add_argument(
            "--dicom-port", type=int, default=4243, help="DIMSE listener (default 4243)"
        )
        parser.add_argument(
            "--samples",
            type=Path,
            default=SARCOMA_SAMPLES,
            help="folder of DICOM files to load (default: the shared STS_002 studies)",
        )
        parser.add_argument(
            "--mrn", default=IMAGES_MRN, help=f"Patient ID to file them under ({IMAGES_MRN})"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        files = demo_pacs_files(options["samples"])
        if not files:
            raise CommandError(
                f"no DICOM files under {options['samples']}: the shared data "
                "(../shared/data/dicom-samples) is not beside this checkout"
            )
        folder = Path(settings.BASE_DIR) / ".local" / "demo-pacs"
        shutil.rmtree(folder / "storage", ignore_errors=True)  # a fresh PACS on every start
        password = secrets.token_urlsafe(18)
        try:
            server = orthanc_start(
                folder,
                port=options["http_port"],
                dicom_port=options["dicom_port"],
                password=password,
                name="OncoBoard demo PACS",
            )
        except OrthancMissing as exc:
            raise CommandError(str(exc)) from exc
        except RuntimeError as exc:
            raise CommandError(
                f"Orthanc did not start (is port {options['http_port']} or "
                f"{options['dicom_port']} taken? choose others with --http-port/--dicom-port):"
                f"\n{exc}"
            ) from exc
        try:
            count = orthanc_load(server, files, patient_id=options["mrn"])
            self.stdout.write(
                f"Demo PACS: {count} instances of TCIA STS_002 (CC BY 3.0) under Patient ID "
                f"{options['mrn']}, storage in {folder}.\n\n"
                "Start the app against it (in another terminal, e.g. before `make run`):\n\n"
                f"  export PACS_DICOMWEB_URL={server.dicomweb_url}\n"
                f"  export PACS_USERNAME={USERNAME}\n"
                f"  export PACS_PASSWORD={password}\n\n"
                "For DIMSE instead, add a PACS connection in the admin (Imaging › PACS "
                f"connections): DIMSE, host 127.0.0.1, port {server.dicom_port}, called AE "
                f"{AE_TITLE}, calling AE {QR_CALLING_AE}, move port 0 (C-GET).\n\n"
                f"Then open the case of {options['mrn']} and use 'Find studies in PACS'. "
                "Ctrl-C stops the PACS."
            )
            # A terminal's Ctrl-C, or `kill` (SIGTERM), both stop Orthanc before leaving.
            signal.signal(signal.SIGTERM, _interrupt)
            server.process.wait()
            raise CommandError(f"Orthanc stopped by itself:\n{server.log}")
        except KeyboardInterrupt:
            self.stdout.write("\nStopping the demo PACS.")
        finally:
            orthanc_stop(server)
