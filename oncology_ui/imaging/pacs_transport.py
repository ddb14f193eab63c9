"""What a PACS connection does for the import, whichever protocol carries it.

:func:`pacs_transport` gives the transport of a configured connection: DICOMweb
(:mod:`.pacs_dicomweb`, QIDO-RS and WADO-RS) or DIMSE (:mod:`.pacs_dimse`, C-FIND and C-GET).
Both answer queries as DICOM JSON (the tags as 8-digit hex keys) and write a series' instances
into a folder, so :mod:`.pacs` has one find and one import pipeline whatever the transport. Both
count the bytes received against the study's limit and turn every network and protocol failure
into a :class:`PacsError` a person can act on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from oncology_ui.imaging.conf import PacsSettings


class PacsError(Exception):
    """The PACS could not answer as asked; the message says why in words a person can act on."""


class StudyTooLarge(PacsError):
    pass


def too_large(limit: int) -> str:
    return (
        f"The study is larger than the {limit // 1_048_576} MB limit for one PACS import "
        "(PACS_MAX_STUDY_MB); nothing was stored."
    )


def instance_name(dataset: Any, n: int) -> tuple[str, str, str]:
    """What is kept of a retrieved instance: the name a problem with it is reported under (what
    a person finds in a viewer), and its SOP Instance and Class UIDs in the PACS (results sent
    back to the PACS reference them)."""
    name = (
        f"{dataset.get('Modality', '?')} series {dataset.get('SeriesNumber', '?')}, "
        f"image {dataset.get('InstanceNumber', n)}"
    )
    return name, str(dataset.get("SOPInstanceUID", "")), str(dataset.get("SOPClassUID", ""))


class PacsTransport(Protocol):
    """One connection's queries and retrieves; ``received`` counts bytes against ``max_bytes``."""

    received: int

    @property
    def max_bytes(self) -> int: ...

    def find_studies(
        self, filters: dict[str, str], fields: list[str], limit: int
    ) -> list[dict[str, Any]]:
        """Studies matching ``filters`` (DICOM keywords), with ``fields`` and Patient ID."""
        ...

    def find_series(self, study_uid: str) -> list[dict[str, Any]]:
        """The study's series (Series Instance UID at least)."""
        ...

    def fetch_series(
        self, study_uid: str, series_uid: str, into: Path
    ) -> list[tuple[str, str, str]]:
        """Write the series' instances as ``into/NNNNNN.dcm``; what :func:`instance_name` keeps.

        Raises:
            PacsError: the PACS failed or the study passed its byte limit.
        """
        ...


def pacs_transport(conf: PacsSettings) -> PacsTransport:
    """The transport of ``conf`` (imported here: each pulls in its own network library)."""
    if conf.transport == "dimse":
        from oncology_ui.imaging.pacs_dimse import DimseTransport

        return DimseTransport(conf)
    from oncology_ui.imaging.pacs_dicomweb import DicomwebTransport

    return DicomwebTransport(conf)
