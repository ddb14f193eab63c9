"""The DIMSE transport of a PACS connection, for a PACS without DICOMweb: C-FIND, C-GET, C-MOVE.

Study-root queries (C-FIND) answer as DICOM JSON, like QIDO-RS; a series is retrieved with C-GET
over the same association that receives its instances (no inbound port to open in the hospital's
firewall) or, when the connection has a move port, with C-MOVE to a temporary C-STORE SCP of
ours that listens only for that retrieve and accepts only the PACS's AE title. Each call opens
one association with the connection's AE titles, its timeout on connect, ACSE, DIMSE and
network reads, and TLS when configured; every instance received counts
against the study's byte limit, and the retrieve is cancelled (the association aborted) at the
first instance past it.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from pydicom.dataset import Dataset
from pydicom.uid import UID
from pynetdicom import AE, StoragePresentationContexts, build_role, evt
from pynetdicom.association import Association

from oncology_ui.imaging.conf import PacsSettings
from oncology_ui.imaging.pacs_transport import PacsError, StudyTooLarge, instance_name, too_large

# Study Root Query/Retrieve Information Model FIND and GET (PS3.4 C.6.2.1)
StudyRootQueryRetrieveInformationModelFind = UID("1.2.840.10008.5.1.4.1.2.2.1")
StudyRootQueryRetrieveInformationModelGet = UID("1.2.840.10008.5.1.4.1.2.2.3")
StudyRootQueryRetrieveInformationModelMove = UID("1.2.840.10008.5.1.4.1.2.2.2")
_STORAGE = [c.abstract_syntax for c in StoragePresentationContexts if c.abstract_syntax]
SUCCESS = 0x0000
OUT_OF_RESOURCES = 0xA702  # C-GET's "refused: out of resources" for a sub-operation
_PENDING = (0xFF00, 0xFF01)


class DimseTransport:
    """C-FIND and C-GET (study root) to the connection's host, port and called AE title."""

    def __init__(self, conf: PacsSettings) -> None:
        self.conf = conf
        self.max_bytes = conf.max_study_bytes
        self.received = 0

    # --- associations --------------------------------------------------------------------------

    def _ae(self, *, retrieve: bool) -> AE:
        ae = AE(ae_title=self.conf.calling_ae)
        seconds = self.conf.timeout_seconds
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = seconds
        ae.connection_timeout = seconds
        ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
        if retrieve and self.conf.move_port:
            ae.add_requested_context(StudyRootQueryRetrieveInformationModelMove)
        elif retrieve:
            ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
            # C-GET sends the instances back as C-STOREs on this association: we are their SCP.
            for abstract_syntax in _STORAGE:
                ae.add_requested_context(abstract_syntax)
        return ae

    def _tls(self) -> tuple[ssl.SSLContext, str] | None:
        if not self.conf.tls:
            return None
        context = ssl.create_default_context(
            cafile=self.conf.verify if isinstance(self.conf.verify, str) else None
        )
        if self.conf.verify is False:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context, self.conf.host

    @contextmanager
    def _association(
        self, *, retrieve: bool = False, on_store: Callable[[Any], int] | None = None
    ) -> Iterator[Association]:
        ae = self._ae(retrieve=retrieve)
        get = retrieve and not self.conf.move_port
        roles: list[Any] = [build_role(uid, scp_role=True) for uid in _STORAGE]
        handlers: list[Any] = [(evt.EVT_C_STORE, on_store)] if on_store else []
        started = time.monotonic()
        try:
            assoc = ae.associate(
                self.conf.host,
                self.conf.port,
                ae_title=self.conf.called_ae,
                ext_neg=roles if get else None,
                evt_handlers=handlers,
                tls_args=self._tls(),
            )
        except (OSError, ssl.SSLError) as exc:
            raise self._unreachable() from exc
        if not assoc.is_established:
            if assoc.is_rejected:
                raise self._refused()
            # A PACS that listens and ends the association at once has answered "no", not failed
            # to answer (Orthanc under load may abort instead of sending the rejection).
            quick = time.monotonic() - started < min(2.0, self.conf.timeout_seconds / 2)
            listening = self._listening()
            if assoc.is_aborted and quick and listening:
                raise self._refused()
            raise self._slow() if listening else self._down()
        try:
            yield assoc
        finally:
            if assoc.is_established:
                assoc.release()
            ae.shutdown()

    def _refused(self) -> PacsError:
        return PacsError(
            f"The PACS refused OncoBoard's association (calling AE title "
            f"{self.conf.calling_ae!r}, called {self.conf.called_ae!r}); ask your "
            "administrator to register OncoBoard with the PACS."
        )

    def _listening(self) -> bool:
        try:
            with socket.create_connection((self.conf.host, self.conf.port), timeout=2):
                return True
        except OSError:
            return False

    def _unreachable(self) -> PacsError:
        """Down (nothing listens) or slow (it listens but does not answer), told apart here."""
        return self._slow() if self._listening() else self._down()

    @staticmethod
    def _down() -> PacsError:
        return PacsError("The PACS could not be reached; it may be down. Try again later.")

    def _slow(self) -> PacsError:
        return PacsError(
            f"The PACS did not answer within {self.conf.timeout_seconds} s (PACS_TIMEOUT_SECONDS); "
            "it may be busy or down. Try again later."
        )

    # --- queries -------------------------------------------------------------------------------

    def _find(self, query: Dataset, limit: int) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        with self._association() as assoc:
            responses = assoc.send_c_find(query, StudyRootQueryRetrieveInformationModelFind)
            for status, identifier in responses:
                if not status:  # no answer within the DIMSE timeout: the association is gone
                    raise self._slow()
                code = int(status.Status)
                if code in _PENDING and identifier is not None:
                    found.append(identifier.to_json_dict())
                    if len(found) >= limit:
                        assoc.abort()
                        break
                elif code != SUCCESS:
                    raise PacsError(
                        f"The PACS answered the query with an error (status 0x{code:04X}). "
                        "Try again later."
                    )
        return found

    def find_studies(
        self, filters: dict[str, str], fields: list[str], limit: int
    ) -> list[dict[str, Any]]:
        query = Dataset()
        query.QueryRetrieveLevel = "STUDY"
        for keyword in ("PatientID", "StudyInstanceUID", *fields):
            setattr(query, keyword, "")
        for keyword, value in filters.items():
            setattr(query, keyword, value)
        return self._find(query, limit)

    def find_series(self, study_uid: str) -> list[dict[str, Any]]:
        query = Dataset()
        query.QueryRetrieveLevel = "SERIES"
        query.StudyInstanceUID = study_uid
        query.SeriesInstanceUID = ""
        query.Modality = ""
        query.SeriesNumber = ""
        return self._find(query, 10_000)

    # --- retrieve ------------------------------------------------------------------------------

    def fetch_series(
        self, study_uid: str, series_uid: str, into: Path
    ) -> list[tuple[str, str, str]]:
        names: list[tuple[str, str, str]] = []
        over = False

        def on_store(event: Any) -> int:
            nonlocal over
            data = event.encoded_dataset()
            if over or self.received + len(data) > self.max_bytes:
                over = True
                return OUT_OF_RESOURCES
            n = len(names) + 1
            (into / f"{n:06d}.dcm").write_bytes(data)
            self.received += len(data)
            names.append(instance_name(event.dataset, n))
            return SUCCESS

        query = Dataset()
        query.QueryRetrieveLevel = "SERIES"
        query.StudyInstanceUID = study_uid
        query.SeriesInstanceUID = series_uid
        server = self._move_destination(on_store) if self.conf.move_port else None
        try:
            self._retrieve(query, on_store if server is None else None, lambda: over)
        finally:
            if server is not None:
                server.shutdown()
        if over:
            raise StudyTooLarge(too_large(self.max_bytes))
        return names

    def _move_destination(self, on_store: Callable[[Any], int]) -> Any:
        """Our temporary C-STORE SCP for a C-MOVE: the connection's calling AE title, on
        ``DICOM_SCP_HOST:move_port``, accepting only the PACS's AE title, for this retrieve."""
        scp = AE(ae_title=self.conf.calling_ae)
        scp.supported_contexts = StoragePresentationContexts
        scp.require_calling_aet = [self.conf.called_ae]
        scp.require_called_aet = True
        seconds = self.conf.timeout_seconds
        scp.acse_timeout = scp.dimse_timeout = scp.network_timeout = seconds
        try:
            return scp.start_server(
                (settings.DICOM_SCP_HOST, self.conf.move_port),
                block=False,
                evt_handlers=[(evt.EVT_C_STORE, on_store)],
            )
        except OSError as exc:
            raise PacsError(
                f"OncoBoard could not listen on port {self.conf.move_port} for the C-MOVE "
                "(in use?); try again later or ask your administrator."
            ) from exc

    def _retrieve(
        self,
        query: Dataset,
        on_store: Callable[[Any], int] | None,
        over: Callable[[], bool],
    ) -> None:
        """C-GET (``on_store`` receives on this association) or C-MOVE to our own AE title."""
        with self._association(retrieve=True, on_store=on_store) as assoc:
            if self.conf.move_port:
                responses = assoc.send_c_move(
                    query, self.conf.calling_ae, StudyRootQueryRetrieveInformationModelMove
                )
            else:
                responses = assoc.send_c_get(query, StudyRootQueryRetrieveInformationModelGet)
            for status, _identifier in responses:
                if over():
                    assoc.abort()
                    raise StudyTooLarge(too_large(self.max_bytes))
                if not status:
                    raise self._slow()
                code = int(status.Status)
                if code in _PENDING:
                    continue
                if code != SUCCESS:
                    failed = int(status.get("NumberOfFailedSuboperations", 0) or 0)
                    raise PacsError(
                        f"The PACS could not send the series (status 0x{code:04X}, {failed} "
                        "images failed); nothing was stored. Try again later."
                    )
