"""A real local PACS for the demo and the tests: Debian's Orthanc with DICOMweb, on loopback.

:func:`orthanc_start` writes a JSON configuration into a folder (DICOMweb on, HTTP basic
authentication with one user, no remote access, a DICOM listener answering C-FIND and C-GET and
C-MOVE from one registered AE title), starts the server, waits until it answers and returns a
handle; :func:`orthanc_load` sends DICOM files through its REST API, optionally with their
Patient ID rewritten (the demo files its studies under the demo patient's MRN). The tests' PACS
fixtures and ``manage.py demo_pacs`` both use this module. Plain Python: no Django here.
``.ci/run`` installs the ``orthanc``, ``orthanc-dicomweb`` and ``orthanc-wsi`` packages when
missing; a machine without them fails the PACS tests (they never skip).
"""

from __future__ import annotations

import io
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pydicom
import requests

USERNAME = "oncoboard"
AE_TITLE = "ORTHANC"  # the test PACS's own (called) AE title
QR_CALLING_AE = "ONCOBOARD_QR"  # the AE title it answers C-FIND and C-GET from
PASSWORD = "test-pacs-password"  # noqa: S105 - a throw-away server on loopback
_BINARY_PLACES = ("/usr/sbin/Orthanc", "/usr/bin/Orthanc")
_PLUGIN_PLACES = (
    "/usr/share/orthanc/plugins/libOrthancDicomWeb.so",
    "/usr/lib/orthanc/libOrthancDicomWeb.so",
)


class OrthancMissing(RuntimeError):
    """The Orthanc binary or its DICOMweb plugin is not installed."""


@dataclass
class Orthanc:
    process: subprocess.Popen[bytes]
    port: int
    folder: Path
    dicom_port: int = 0
    move_port: int = 0  # where C-MOVE sends QR_CALLING_AE's instances (a temporary SCP of ours)
    password: str = PASSWORD

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def dicomweb_url(self) -> str:
        return f"{self.url}/dicom-web"

    @property
    def log(self) -> str:
        path = self.folder / "orthanc.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""


def orthanc_find(places: Iterable[str], name: str) -> str:
    """The installed ``name`` (on PATH or in one of ``places``)."""
    found = shutil.which(name)
    if found:
        return found
    for place in places:
        if Path(place).exists():
            return place
    raise OrthancMissing(
        f"{name} is not installed: `apt-get install orthanc orthanc-dicomweb orthanc-wsi` "
        "(.ci/run does it)"
    )


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def orthanc_start(
    folder: Path,
    *,
    timeout: float = 30.0,
    port: int = 0,
    dicom_port: int = 0,
    move_port: int = 0,
    password: str = PASSWORD,
    name: str = "OncoBoard test PACS",
) -> Orthanc:
    """Start Orthanc with a fresh configuration and storage under ``folder``; wait until it answers.

    Args:
        folder: holds the configuration, the log and the storage (kept between starts).
        timeout: seconds to wait for the server to answer.
        port, dicom_port, move_port: the HTTP (DICOMweb) port, the DICOM listener's port and
            where C-MOVE sends :data:`QR_CALLING_AE`'s instances; 0 picks a free one.
        password: of the one HTTP user, :data:`USERNAME`.
        name: the server's name (shown by its ``/system``).

    Raises:
        OrthancMissing: Orthanc or its DICOMweb plugin is not installed.
        RuntimeError: the server exited or did not answer within ``timeout`` seconds.
    """
    binary = orthanc_find(_BINARY_PLACES, "Orthanc")
    plugin = orthanc_find(_PLUGIN_PLACES, "libOrthancDicomWeb.so")
    port = port or free_port()
    dicom_port = dicom_port or free_port()
    move_port = move_port or free_port()
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "Name": name,
        "StorageDirectory": str(folder / "storage"),
        "IndexDirectory": str(folder / "storage"),
        "Plugins": [plugin],
        "HttpServerEnabled": True,
        "HttpPort": port,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": True,
        "RegisteredUsers": {USERNAME: password},
        # DIMSE for query/retrieve (C-FIND, C-GET) from one registered AE title only.
        "DicomServerEnabled": True,
        "DicomAet": AE_TITLE,
        "DicomPort": dicom_port,
        "DicomCheckCalledAet": True,
        "DicomAlwaysAllowEcho": False,
        "DicomAlwaysAllowFind": False,
        "DicomAlwaysAllowGet": False,
        "DicomAlwaysAllowMove": False,
        "DicomAlwaysAllowStore": False,
        "DicomModalities": {
            "oncoboard-qr": {
                "AET": QR_CALLING_AE,
                "Host": "127.0.0.1",
                "Port": move_port,
                "AllowFind": True,
                "AllowGet": True,
                "AllowMove": True,
                "AllowStore": False,
            }
        },
        # Close its C-STORE associations at once (not after 5 s), so a push ends when it returns.
        "DicomAssociationCloseDelay": 0,
        "OrthancExplorerEnabled": False,
        "WebDavEnabled": False,
        "HttpCompressionEnabled": False,
        "ConcurrentJobs": 1,
        "HttpThreadsCount": 8,
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "StudiesMetadata": "Full"},
    }
    (folder / "orthanc.json").write_text(json.dumps(config, indent=2))
    log = (folder / "orthanc.log").open("wb")
    process = subprocess.Popen(  # noqa: S603 - the installed binary and our own config file
        [binary, str(folder / "orthanc.json")], stdout=log, stderr=subprocess.STDOUT
    )
    server = Orthanc(
        process=process,
        port=port,
        folder=folder,
        dicom_port=dicom_port,
        move_port=move_port,
        password=password,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Orthanc exited with {process.returncode}:\n{server.log}")
        try:
            answer = requests.get(f"{server.url}/system", auth=(USERNAME, password), timeout=2)
        except requests.ConnectionError:
            time.sleep(0.1)
            continue
        if answer.status_code == 200:
            return server
        time.sleep(0.1)
    orthanc_stop(server)
    raise RuntimeError(f"Orthanc did not answer within {timeout:.0f} s:\n{server.log}")


def orthanc_stop(server: Orthanc) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=5)


def orthanc_load(server: Orthanc, files: Iterable[Path], *, patient_id: str = "") -> int:
    """Store ``files`` in the PACS through its REST API; returns how many it took.

    Args:
        server: a started Orthanc.
        files: DICOM files.
        patient_id: when given, each instance is stored with this Patient ID (0010,0020) instead
            of its own (the files on disk are left as they are).
    """
    count = 0
    with requests.Session() as session:
        session.auth = (USERNAME, server.password)
        for path in files:
            data = path.read_bytes()
            if patient_id:
                dataset = pydicom.dcmread(io.BytesIO(data))
                dataset.PatientID = patient_id
                buffer = io.BytesIO()
                dataset.save_as(buffer)
                data = buffer.getvalue()
            answer = session.post(f"{server.url}/instances", data=data, timeout=30)
            answer.raise_for_status()
            count += 1
    return count
