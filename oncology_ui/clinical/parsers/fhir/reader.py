"""Read a whole bundle: validate each entry in order and hand it to the extractor for its type."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from oncology_ui.clinical.parsers import Limits, ProblemLog
from oncology_ui.clinical.parsers.biomarkers import BiomarkerError
from oncology_ui.clinical.parsers.catalogue import Catalogue, load_catalogue
from oncology_ui.clinical.parsers.fhir.bundle import BundleIndex, Entry
from oncology_ui.clinical.parsers.fhir.conditions import condition_fact
from oncology_ui.clinical.parsers.fhir.jsonguard import load_json
from oncology_ui.clinical.parsers.fhir.observations import observation_records
from oncology_ui.clinical.parsers.fhir.records import BundleContents, Extraction
from oncology_ui.clinical.parsers.fhir.treatments import medication_fact, procedure_fact
from oncology_ui.clinical.parsers.fhir.validation import CheckedResource
from oncology_ui.clinical.parsers.genes import HgvsError
from oncology_ui.clinical.parsers.labs import LabValueError, PatientContext

if TYPE_CHECKING:
    from fhir.resources.R4B.reference import Reference

#: Statuses that say the resource did not happen (or was recorded in error).
_SKIP_STATUS = {"entered-in-error", "not-done", "not-taken", "cancelled", "revoked", "draft"}


def _patient(run: Extraction, item: CheckedResource) -> None:
    """The Patient is read before the loop (``_patient_summary``); nothing more to extract."""


_EXTRACTORS: dict[str, Callable[[Extraction, CheckedResource], None]] = {
    "Patient": _patient,
    "Condition": condition_fact,
    "Observation": observation_records,
    "MedicationStatement": medication_fact,
    "MedicationRequest": medication_fact,
    "MedicationAdministration": medication_fact,
    "Procedure": procedure_fact,
}


def parse_bundle(
    data: bytes,
    *,
    limits: Limits,
    context: PatientContext,
    catalogue: Catalogue | None = None,
) -> tuple[BundleContents, ProblemLog]:
    """Read a FHIR Bundle and extract its mCODE facts; every resource is checked first.

    Raises:
        ImportRejected: the JSON, the bundle or any resource is unusable; the problems name the
            entry number and ``Type/id``.
    """
    document = load_json(data)
    log = ProblemLog()
    bundle = BundleIndex(document, limits, log)
    contents = BundleContents(patient=_patient_summary(bundle, log))
    run = Extraction(bundle, contents, log, catalogue or load_catalogue(), context)
    for entry in bundle.entries:
        _read_entry(run, entry)
    log.raise_if_any()
    return contents, log


def _patient_summary(bundle: BundleIndex, log: ProblemLog) -> dict[str, str]:
    patients = bundle.of_type("Patient")
    if len(patients) > 1:
        log.add("Bundle", f"describes {len(patients)} patients; import one patient per bundle.")
    patient: Any = patients[0].check().model if patients else None
    if patient is None:  # no Patient, or an invalid one (its problem is reported in turn)
        return {"id": "", "birth_date": "", "gender": ""}
    return {
        "id": str(patient.id or ""),
        "birth_date": str(patient.birthDate or ""),
        "gender": str(patient.gender or ""),
    }


def _read_entry(run: Extraction, entry: Entry) -> None:
    checked = entry.check()
    for message in checked.warnings:
        run.log.warn(entry.where, message)
    for message in checked.problems:
        run.log.add(entry.where, message)
    if checked.model is None:
        return
    status = getattr(checked.model, "status", None)
    if isinstance(status, str) and status in _SKIP_STATUS:
        run.log.warn(entry.where, f"status “{status}”; not imported.")
        return
    extractor = _EXTRACTORS.get(entry.resource_type)
    if extractor is None:
        run.contents.skip(entry.resource_type)
        return
    try:
        if entry.resource_type != "Patient":
            _check_subject(run, entry.where, getattr(checked.model, "subject", None))
        extractor(run, checked)
    except (LabValueError, BiomarkerError, HgvsError, ValueError) as exc:
        run.log.add(entry.where, f"{exc}.")


def _check_subject(run: Extraction, where: str, subject: Reference | None) -> None:
    """The subject must be the bundle's Patient; one outside the bundle is this case's patient."""
    if subject is None or subject.reference is None:
        return
    ref = str(subject.reference)
    target = run.bundle.resolve(ref)
    if target is None:
        if ref.startswith(("urn:uuid:", "urn:oid:")):
            raise ValueError(f"its subject {ref[:60]} is not in the bundle")
        run.log.warn(
            where,
            f"its subject {ref[:60]} is not in this bundle; imported for this case's patient.",
        )
    elif target.resource_type != "Patient":
        raise ValueError(f"its subject {ref[:60]} is a {target.resource_type}, not a Patient")
