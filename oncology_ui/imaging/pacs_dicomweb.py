"""The DICOMweb transport of a PACS connection: QIDO-RS queries, WADO-RS retrieves.

Every request has the connection's timeout on connect and read, one attempt (the person, or the
job, tries again), and reads through one byte counter bounded by the study's limit.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests
from dicomweb_client.api import DICOMwebClient
from pydicom.errors import InvalidDicomError

from oncology_ui.imaging.conf import PacsSettings
from oncology_ui.imaging.pacs_transport import PacsError, StudyTooLarge, instance_name, too_large


class _BoundedSession(requests.Session):
    """A session that stops reading once its answers together pass ``max_bytes``.

    Every response is read through one counting iterator (``iter_content``, which both
    ``response.content`` and dicomweb-client's streaming use), so no answer, metadata or image,
    can grow past the limit in memory or on disk.
    """

    def __init__(self, max_bytes: int) -> None:
        super().__init__()
        self.max_bytes = max_bytes
        self.received = 0

    def request(self, method: str, url: Any, *args: Any, **kwargs: Any) -> requests.Response:
        stream = bool(kwargs.pop("stream", False))
        kwargs["stream"] = True
        response = super().request(method, url, *args, **kwargs)
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and self.received + int(declared) > self.max_bytes:
            response.close()
            raise StudyTooLarge(too_large(self.max_bytes))
        read = response.iter_content

        def bounded(chunk_size: int | None = 1, decode_unicode: bool = False) -> Iterator[bytes]:
            # Bytes only: nothing here asks for text (requests' .text decodes .content).
            for chunk in read(chunk_size):
                self.received += len(chunk)
                if self.received > self.max_bytes:
                    response.close()
                    raise StudyTooLarge(too_large(self.max_bytes))
                yield chunk

        response.iter_content = bounded  # type: ignore[method-assign]
        if not stream:
            _ = response.content  # read now, through the bound
        return response


# What a PACS can do wrong: network and HTTP failures, and answers that do not decode (a broken
# multipart body, a part that is not DICOM). Anything else is our own fault and is not hidden.
DICOMWEB_FAILURES = (PacsError, requests.RequestException, ValueError, InvalidDicomError)


def dicomweb_explain(exc: Exception, conf: PacsSettings) -> PacsError:
    """A network or protocol failure, in words (never the URL's query or the credentials)."""
    if isinstance(exc, PacsError):
        return exc
    timed_out = isinstance(exc, requests.Timeout) or "timed out" in str(exc).lower()
    if timed_out:
        return PacsError(
            f"The PACS did not answer within {conf.timeout_seconds} s (PACS_TIMEOUT_SECONDS); "
            "it may be busy or down. Try again later."
        )
    if isinstance(exc, requests.exceptions.SSLError):
        return PacsError(
            "The PACS's TLS certificate could not be verified (PACS_TLS_VERIFY, "
            "PACS_TLS_CA_BUNDLE); ask your administrator."
        )
    if isinstance(exc, requests.ConnectionError):
        return PacsError("The PACS could not be reached; it may be down. Try again later.")
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        status = exc.response.status_code
        if status in {401, 403}:
            return PacsError(
                "The PACS refused OncoBoard's credentials (PACS_USERNAME, PACS_PASSWORD); ask "
                "your administrator."
            )
        if status == 404:
            return PacsError("The PACS does not have this study (any more).")
        return PacsError(f"The PACS answered with an error (HTTP {status}). Try again later.")
    return PacsError("The PACS sent an answer that could not be read as DICOMweb.")


class DicomwebTransport:
    """QIDO-RS and WADO-RS through dicomweb-client, bounded and with one attempt per request."""

    def __init__(self, conf: PacsSettings) -> None:
        self.conf = conf
        self.session = _BoundedSession(conf.max_study_bytes)
        if conf.username:
            self.session.auth = (conf.username, conf.password)
        self.session.verify = conf.verify
        self.client = DICOMwebClient(
            conf.url,
            session=self.session,
            timeout=(conf.timeout_seconds, conf.timeout_seconds),
        )
        # Its retries (up to five, with back-off) would turn a PACS that is down into minutes.
        self.client.set_http_retry_params(retry=False)

    @property
    def max_bytes(self) -> int:
        return self.session.max_bytes

    @property
    def received(self) -> int:
        return self.session.received

    @received.setter
    def received(self, value: int) -> None:
        self.session.received = value

    def find_studies(
        self, filters: dict[str, str], fields: list[str], limit: int
    ) -> list[dict[str, Any]]:
        try:
            return list(
                self.client.search_for_studies(search_filters=filters, fields=fields, limit=limit)
            )
        except DICOMWEB_FAILURES as exc:
            raise dicomweb_explain(exc, self.conf) from exc

    def find_series(self, study_uid: str) -> list[dict[str, Any]]:
        try:
            return list(
                self.client.search_for_series(
                    study_uid, fields=["NumberOfSeriesRelatedInstances", "Modality", "SeriesNumber"]
                )
            )
        except DICOMWEB_FAILURES as exc:
            raise dicomweb_explain(exc, self.conf) from exc

    def fetch_series(
        self, study_uid: str, series_uid: str, into: Path
    ) -> list[tuple[str, str, str]]:
        names: list[tuple[str, str, str]] = []
        try:
            for n, dataset in enumerate(self.client.iter_series(study_uid, series_uid), start=1):
                dataset.save_as(into / f"{n:06d}.dcm", enforce_file_format=False)
                names.append(instance_name(dataset, n))
        except DICOMWEB_FAILURES as exc:
            raise dicomweb_explain(exc, self.conf) from exc
        return names

    def series_metadata(self, study_uid: str, series_uid: str) -> list[dict[str, Any]]:
        """The series' instance headers (WADO-RS metadata, DICOM JSON)."""
        try:
            return list(self.client.retrieve_series_metadata(study_uid, series_uid))
        except DICOMWEB_FAILURES as exc:
            raise dicomweb_explain(exc, self.conf) from exc

    def store(self, datasets: list[Any]) -> None:
        """Store ``datasets`` in the PACS (STOW-RS); every one accepted, or PacsError."""
        try:
            answer = self.client.store_instances(datasets)
        except DICOMWEB_FAILURES as exc:
            raise dicomweb_explain(exc, self.conf) from exc
        failed = answer.get("FailedSOPSequence") if answer is not None else None
        if failed:
            raise PacsError(
                f"The PACS refused {len(failed)} of the {len(datasets)} objects sent; "
                "ask your administrator."
            )
