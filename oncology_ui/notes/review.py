"""Reviewing proposed facts: accept (as read or edited), reject, or accept a document's at once.

An accepted fact becomes the row a structured import would create, so everything that reads
those rows (the case page, trial matching, therapy ranking, reports) uses it without knowing it
came from a note:

==================  ===========================================================================
proposal kind       row(s) written
==================  ===========================================================================
biomarker           ``Biomarker`` through :func:`oncology_ui.clinical.facts.biomarker_add`
lab                 ``LabResult`` (converted to the catalogue unit), then derived values
tnm                 the case's cT/cN/cM or pT/pN/pM, and a ``ClinicalFact`` ``tnm``
stage_group         the case's stage group, and a ``ClinicalFact`` ``stage_group``
ecog                the case's ECOG when the note is the newest, and a ``ClinicalFact`` ``ecog``
karnofsky           a ``ClinicalFact`` ``karnofsky``
prior_therapy       a timeline event (systemic line, radiotherapy or surgery); needs a date
metastatic_site     a ``ClinicalFact`` ``secondary_cancer``; a negated one ("brain MRI
                    negative") a ``ClinicalFact`` ``metastasis_absent``
menopausal_status   a ``ClinicalFact`` ``menopausal_status``
pregnancy           a ``ClinicalFact`` ``pregnancy``: "pregnant", or "not pregnant" when negated
                    (a negative pregnancy test)
comorbidity         a ``ClinicalFact`` ``comorbidity`` with its ICD-10-CM category
variant             a ``Variant`` (mutation, fusion or amplification) annotated with its evidence
                    like an imported one; a negated one ("no KRAS mutation detected", "KRAS
                    wild-type") a ``ClinicalFact`` ``genomic_region`` naming the gene, which
                    matching reads as wild type
diagnosis           a ``ClinicalFact`` ``primary_cancer`` coded with OncoTree (and ICD-10-CM);
                    the case's OncoTree/ICD-10 code when it refines the case's own
==================  ===========================================================================

Every row's source says "from <document>, accepted by <user>" and its ``source_key`` is
``note:<document>:<proposal>``, unique per case, so one proposal never becomes two rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from oncology_ui.clinical import facts
from oncology_ui.clinical.parsers.catalogue import load_catalogue
from oncology_ui.clinical.parsers.labs import LabValueError, PatientContext
from oncology_ui.notes.models import ClinicalDocument, ProposedFact
from oncology_ui.notes.molecular import write_diagnosis, write_variant
from oncology_ui.notes.reading import note_lab_record
from oncology_ui.notes.rows import clinical_fact as _clinical_fact
from oncology_ui.notes.rows import proposal_key as _key
from oncology_ui.notes.rows import provenance
from oncology_ui.patients.models import Case, TimelineEvent
from oncology_ui.patients.services import timeline_event_create, validated_update

#: Value fields that are whole numbers (the edit form sends text).
_INTEGER_FIELDS = {"ecog", "karnofsky", "line"}


def _write_biomarker(proposal: ProposedFact, user: User, value: dict[str, Any]) -> str:
    row = facts.biomarker_add(
        case=proposal.case,
        user=user,
        name=str(value.get("name", "")),
        method=str(value.get("method", "")),
        value=str(value.get("value") or ""),
        unit="",
        status=str(value.get("status") or ""),
        measured_on=proposal.document.document_date,
        source_ref=provenance(proposal.document, user),
        source_key=_key(proposal),
    )
    return f"biomarker:{row.pk}"


def _write_lab(proposal: ProposedFact, user: User, value: dict[str, Any]) -> str:
    catalogue = load_catalogue()
    analyte = catalogue.analytes.get(str(value.get("analyte", "")))
    if analyte is None:
        raise ValidationError("The lab test is not in the catalogue.")
    document, case = proposal.document, proposal.case
    try:
        record = note_lab_record(
            catalogue=catalogue,
            analyte=analyte,
            value_text=str(value.get("value", "")),
            unit=str(value.get("unit", "")),
            on=document.document_date,
            context=PatientContext(sex=case.patient.sex, birth_date=case.patient.birth_date),
            source_ref=provenance(document, user),
            source_key=_key(proposal),
        )
    except LabValueError as exc:
        raise ValidationError(str(exc)) from None
    row = facts.lab_result_from_record(record, case=case)
    row.full_clean()
    row.save()
    facts.derived_values_refresh(case=case, dates=[document.document_date], source=None)
    return f"lab:{row.pk}"


def _write_tnm(proposal: ProposedFact, user: User, value: dict[str, Any]) -> str:
    prefix = "pathological" if value.get("staging") == "pathological" else "clinical"
    fields = {
        f"{prefix}_{part}": str(value.get(part) or "")[:10]
        for part in ("t", "n", "m")
        if value.get(part)
    }
    if not fields:
        raise ValidationError("Give at least the T category.")
    validated_update(proposal.case, fields)
    label = " ".join(str(value.get(p) or "") for p in ("t", "n", "m")).strip()
    row = _clinical_fact(proposal, user, kind="tnm", display=f"TNM {label}", value_text=label)
    return f"fact:{row.pk}"


def _write_stage(proposal: ProposedFact, user: User, value: dict[str, Any]) -> str:
    group = str(value.get("stage_group") or "").strip()[:10]
    if not group:
        raise ValidationError("Give the stage group.")
    validated_update(proposal.case, {"stage_group": group})
    row = _clinical_fact(
        proposal, user, kind="stage_group", display=f"Stage {group}", value_text=group
    )
    return f"fact:{row.pk}"


def _write_ecog(proposal: ProposedFact, user: User, value: dict[str, Any]) -> str:
    score = value.get("ecog")
    if not isinstance(score, int) or not 0 <= score <= 4:
        raise ValidationError("ECOG is a whole number from 0 to 4.")
    case, day = proposal.case, proposal.document.document_date
    # The case's own ECOG is the current one: a note older than it does not replace it.
    if case.ecog_date is None or case.ecog_date <= day:
        validated_update(case, {"ecog": score, "ecog_date": day})
    row = _clinical_fact(
        proposal, user, kind="ecog", display=f"ECOG {score}", value_number=float(score)
    )
    return f"fact:{row.pk}"


def _write_karnofsky(proposal: ProposedFact, user: User, value: dict[str, Any]) -> str:
    score = value.get("karnofsky")
    if not isinstance(score, int) or not 0 <= score <= 100 or score % 10:
        raise ValidationError("Karnofsky is 0 to 100 in steps of 10.")
    row = _clinical_fact(
        proposal, user, kind="karnofsky", display=f"Karnofsky {score}%", value_number=float(score)
    )
    return f"fact:{row.pk}"


_THERAPY_KINDS = {
    "systemic": TimelineEvent.Kind.SYSTEMIC_THERAPY,
    "radiotherapy": TimelineEvent.Kind.RADIOTHERAPY,
    "surgery": TimelineEvent.Kind.SURGERY,
}


def _write_therapy(proposal: ProposedFact, user: User, value: dict[str, Any]) -> str:
    kind = _THERAPY_KINDS.get(str(value.get("therapy_kind", "")))
    if kind is None:
        raise ValidationError("The therapy kind is systemic, radiotherapy or surgery.")
    try:
        start = date.fromisoformat(str(value.get("start") or ""))
    except ValueError:
        raise ValidationError(
            "The note gives no start date: edit the fact and enter when it started."
        ) from None
    regimen = str(value.get("regimen") or "").strip()[:200]
    response = str(value.get("response") or "")
    line = value.get("line")
    written = str(value.get("date_as_written") or "")
    detail = provenance(proposal.document, user)
    if written and written != str(value.get("start")):
        detail = f"Date as written: {written} — {detail}"
    event = timeline_event_create(
        case=proposal.case,
        created_by=user,
        kind=kind,
        date=start,
        title="" if kind == TimelineEvent.Kind.SYSTEMIC_THERAPY else regimen.capitalize(),
        regimen=regimen if kind == TimelineEvent.Kind.SYSTEMIC_THERAPY else "",
        line_number=line
        if isinstance(line, int) and kind == TimelineEvent.Kind.SYSTEMIC_THERAPY
        else None,
        response=response if response in TimelineEvent.Response.values else "",
        detail=detail,
    )
    return f"event:{event.pk}"


def _write_site(proposal: ProposedFact, user: User, value: dict[str, Any]) -> str:
    site = str(value.get("site") or "").strip()[:60]
    if not site:
        raise ValidationError("Give the site.")
    # A negated site ("brain MRI negative") is a fact in itself: that site was checked and clear.
    if proposal.negated:
        kind, display = "metastasis_absent", f"No {site} metastases"
    else:
        kind, display = "secondary_cancer", f"Metastasis: {site}"
    row = _clinical_fact(proposal, user, kind=kind, display=display, detail={"body_site": site})
    return f"fact:{row.pk}"


def _write_menopause(proposal: ProposedFact, user: User, value: dict[str, Any]) -> str:
    status = str(value.get("status") or "").strip().lower()
    if status not in {"premenopausal", "perimenopausal", "postmenopausal"}:
        raise ValidationError("Menopausal status is pre-, peri- or postmenopausal.")
    row = _clinical_fact(
        proposal,
        user,
        kind="menopausal_status",
        display=status.capitalize(),
        value_text=status,
    )
    return f"fact:{row.pk}"


def _write_pregnancy(proposal: ProposedFact, user: User, value: dict[str, Any]) -> str:
    status = "not pregnant" if proposal.negated else "pregnant"
    row = _clinical_fact(
        proposal, user, kind="pregnancy", display=status.capitalize(), value_text=status
    )
    return f"fact:{row.pk}"


def _write_comorbidity(proposal: ProposedFact, user: User, value: dict[str, Any]) -> str:
    condition = str(value.get("condition") or "").strip()
    code = str(value.get("icd10") or "").strip().upper()
    if not condition:
        raise ValidationError("Give the condition.")
    if code:
        import simple_icd_10_cm as icd

        if not icd.is_valid_item(code):
            raise ValidationError(f"{code[:10]} is not an ICD-10-CM code.")
    row = _clinical_fact(
        proposal,
        user,
        kind="comorbidity",
        display=condition,
        code_system="ICD-10-CM" if code else "",
        code=code[:40],
    )
    return f"fact:{row.pk}"


_WRITERS = {
    ProposedFact.Kind.BIOMARKER: _write_biomarker,
    ProposedFact.Kind.LAB: _write_lab,
    ProposedFact.Kind.TNM: _write_tnm,
    ProposedFact.Kind.STAGE_GROUP: _write_stage,
    ProposedFact.Kind.ECOG: _write_ecog,
    ProposedFact.Kind.KARNOFSKY: _write_karnofsky,
    ProposedFact.Kind.PRIOR_THERAPY: _write_therapy,
    ProposedFact.Kind.METASTATIC_SITE: _write_site,
    ProposedFact.Kind.MENOPAUSAL_STATUS: _write_menopause,
    ProposedFact.Kind.PREGNANCY: _write_pregnancy,
    ProposedFact.Kind.COMORBIDITY: _write_comorbidity,
    ProposedFact.Kind.VARIANT: write_variant,
    ProposedFact.Kind.DIAGNOSIS: write_diagnosis,
}


def why_not_acceptable(proposal: ProposedFact) -> str:
    """Why accepting as it stands would record something the note does not say ("" if fine)."""
    if proposal.family:
        return "The note says this of a family member, not of the patient."
    if proposal.hypothetical:
        return "The note says this as a possibility or a plan, not as a fact."

    # A clear scan or a negative pregnancy test is a fact in itself; other negations are not.
    meaningful_absence = {
        ProposedFact.Kind.METASTATIC_SITE,
        ProposedFact.Kind.PREGNANCY,
        ProposedFact.Kind.VARIANT,
    }
    if proposal.negated and proposal.kind not in meaningful_absence:
        return "The note says this is absent (negated)."
    return ""


def edited_value(proposal: ProposedFact, given: dict[str, str]) -> dict[str, Any]:
    """The proposal's value with the reviewer's edits: only its own keys, typed like them."""
    value: dict[str, Any] = dict(proposal.value)
    for key in value:
        if key not in given:
            continue
        text = given[key].strip()[:200]
        if key in _INTEGER_FIELDS:
            if not text:
                value[key] = None
                continue
            try:
                value[key] = int(text)
            except ValueError:
                raise ValidationError(f"{key}: “{text[:20]}” is not a whole number.") from None
        else:
            value[key] = text
    return value


@transaction.atomic
def proposal_accept(
    *,
    proposal: ProposedFact,
    user: User,
    edits: dict[str, str] | None = None,
    flags: dict[str, bool] | None = None,
) -> ProposedFact:
    """Accept one proposal, as read or with the reviewer's ``edits`` and corrected ``flags``.

    1. Lock the proposal; one already reviewed is refused (two reviewers, one row).
    2. Apply the edits; a fact the note negates, hypothesises or says of a family member is
       refused unless the reviewer corrected that flag (a misread note).
    3. Write the row for its kind (module docstring); its checks are the importers' checks.
    4. Mark the proposal accepted with who, when and which row.

    Raises:
        ValidationError: already reviewed, not about the patient, or values the row refuses.
    """
    locked = (
        ProposedFact.objects.select_for_update()
        .select_related("document", "case__patient")
        .get(pk=proposal.pk)
    )
    if locked.status != ProposedFact.Status.PROPOSED:
        raise ValidationError(f"This fact was already {locked.get_status_display().lower()}.")
    original = (dict(locked.value), locked.flag_names)
    if flags is not None:
        for name in ProposedFact.FLAG_NAMES:
            setattr(locked, name, bool(flags.get(name, False)))
    value = edited_value(locked, edits) if edits else dict(locked.value)
    reason = why_not_acceptable(locked)
    if reason:
        raise ValidationError(f"{reason} Reject it, or correct the flag if the note was misread.")
    locked.result_ref = _WRITERS[ProposedFact.Kind(locked.kind)](locked, user, value)
    locked.edited = (value, locked.flag_names) != original
    locked.value = value
    locked.status = ProposedFact.Status.ACCEPTED
    locked.reviewed_by = user
    locked.reviewed_at = timezone.now()
    locked.save()
    return locked


@transaction.atomic
def proposal_reject(*, proposal: ProposedFact, user: User) -> ProposedFact:
    """Reject one proposal: nothing is written anywhere but the proposal's own status."""
    locked = ProposedFact.objects.select_for_update().get(pk=proposal.pk)
    if locked.status != ProposedFact.Status.PROPOSED:
        raise ValidationError(f"This fact was already {locked.get_status_display().lower()}.")
    locked.status = ProposedFact.Status.REJECTED
    locked.reviewed_by = user
    locked.reviewed_at = timezone.now()
    locked.save(update_fields=["status", "reviewed_by", "reviewed_at"])
    return locked


@dataclass(frozen=True)
class BulkResult:
    accepted: int
    left: list[tuple[ProposedFact, str]]


def document_accept_all(*, document: ClinicalDocument, user: User) -> BulkResult:
    """Accept every waiting proposal of ``document`` that can be accepted as read.

    Each is accepted in its own transaction, so one refused fact (a therapy without a date, a
    negated finding) stays waiting with its reason instead of blocking the others.
    """
    accepted = 0
    left: list[tuple[ProposedFact, str]] = []
    for proposal in document.proposals.waiting().order_by("start", "id"):
        reason = why_not_acceptable(proposal)
        if reason:
            left.append((proposal, reason))
            continue
        try:
            proposal_accept(proposal=proposal, user=user)
        except ValidationError as exc:
            left.append((proposal, " ".join(exc.messages)))
        else:
            accepted += 1
    return BulkResult(accepted, left)


def proposals_waiting(case: Case) -> int:
    return ProposedFact.objects.filter(case=case, status=ProposedFact.Status.PROPOSED).count()
