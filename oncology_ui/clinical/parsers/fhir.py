"""FHIR R4 Bundles (transaction, batch, collection, document, searchset) following mCODE.

The JSON is read defensively (no duplicate keys, bounded numbers and nesting, XML refused), every
resource is validated with ``fhir.resources`` (R4B models, which read R4 resources of these types),
and the mCODE facts are extracted into plain records: conditions, stage, performance status,
tumour markers and labs, genomic variants and regions, medications and procedures.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from oncology_ui.clinical.parsers import ImportRejected, Limits, Problem, ProblemLog
from oncology_ui.clinical.parsers.biomarkers import (
    BiomarkerError,
    BiomarkerRecord,
    normalise_biomarker,
)
from oncology_ui.clinical.parsers.catalogue import Catalogue, Range, load_catalogue
from oncology_ui.clinical.parsers.genes import HgvsError, normalise_gene, normalise_protein_change
from oncology_ui.clinical.parsers.labs import (
    LabRecord,
    LabValueError,
    PatientContext,
    normalise,
)
from oncology_ui.clinical.parsers.variants import VariantRecord, normalise_chromosome

MAX_DEPTH = 48
BUNDLE_TYPES = {"transaction", "batch", "collection", "document", "searchset"}
LOINC = "http://loinc.org"
STAGE_GROUP = {"21908-9": "clinical", "21902-2": "pathological"}
TNM_CATEGORY = {
    "21905-5": ("clinical", "T"),
    "21906-3": ("clinical", "N"),
    "21907-1": ("clinical", "M"),
    "21899-0": ("pathological", "T"),
    "21900-6": ("pathological", "N"),
    "21901-4": ("pathological", "M"),
}
ECOG, KARNOFSKY = "89247-1", "89243-0"
DISEASE_STATUS = {"97509-4", "88040-1"}
GENETIC_VARIANT = {"69548-6"}
REGION_STUDIED = {"53041-0"}
BIOMARKER_LOINC = {
    "48676-1": ("HER2", ""),
    "85319-2": ("HER2", "IHC"),
    "18474-7": ("HER2", "IHC"),
    "85318-4": ("HER2", "ISH"),
    "16112-5": ("ER", ""),
    "85337-4": ("ER", "IHC"),
    "40556-3": ("ER", "IHC"),
    "16113-3": ("PR", ""),
    "85339-0": ("PR", "IHC"),
    "40557-1": ("PR", "IHC"),
    "81695-9": ("MSI", ""),
    "94076-7": ("TMB", ""),
}
BIOMARKER_WORDS = (
    ("estrogen receptor", "ER"),
    ("oestrogen receptor", "ER"),
    ("progesterone receptor", "PR"),
    ("her2", "HER2"),
    ("pd-l1", "PD-L1"),
    ("microsatellite", "MSI"),
    ("mismatch repair", "MMR"),
    ("mutations/megabase", "TMB"),
    ("tumor mutational burden", "TMB"),
)
#: HGNC ids of genes the mCODE examples name by id only; others fall back to the coding's display.
HGNC_SYMBOLS = {
    "HGNC:1097": "BRAF",
    "HGNC:1100": "BRCA1",
    "HGNC:1101": "BRCA2",
    "HGNC:3236": "EGFR",
    "HGNC:3430": "ERBB2",
    "HGNC:427": "ALK",
    "HGNC:6407": "KRAS",
    "HGNC:7989": "NRAS",
    "HGNC:8975": "PIK3CA",
    "HGNC:9588": "PTEN",
    "HGNC:11389": "STK11",
    "HGNC:11998": "TP53",
}
RESPONSE_BY_STATUS = {
    "268910001": "PR",  # patient's condition improved
    "359746009": "SD",  # patient's condition stable
    "271299001": "PD",  # patient's condition worsened
    "709137006": "NE",  # patient condition undetermined
    "550991000124107": "CR",  # malignant neoplasm in full remission
    "551001000124108": "PR",  # malignant neoplasm in partial remission
}
_SKIP_STATUS = {"entered-in-error", "not-done", "not-taken", "cancelled", "revoked", "draft"}
_VALUE_PRIORITY = (
    "valueCodeableConcept",
    "valueQuantity",
    "valueInteger",
    "valueRatio",
    "valueString",
    "valueBoolean",
    "valueRange",
    "valueDateTime",
    "valuePeriod",
    "valueTime",
    "valueSampledData",
)
_ROMAN = {"0": "0", "1": "I", "2": "II", "3": "III", "4": "IV"}


_Date = date


class _JsonProblem(ValueError):
    pass


@dataclass
class FactRecord:
    """A clinical fact that is not a lab value, biomarker or variant."""

    source_ref: str
    source_key: str
    kind: str
    display: str
    code_system: str = ""
    code: str = ""
    value_text: str = ""
    value_number: float | None = None
    date: _Date | None = None
    end_date: _Date | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class BundleContents:
    patient: dict[str, str]
    facts: list[FactRecord] = field(default_factory=list)
    labs: list[LabRecord] = field(default_factory=list)
    biomarkers: list[BiomarkerRecord] = field(default_factory=list)
    variants: list[VariantRecord] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)


# --- defensive JSON ---------------------------------------------------------------------------


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            owner = dict(pairs)
            where = (
                f" in {owner.get('resourceType')}/{owner.get('id')}"
                if isinstance(owner.get("resourceType"), str)
                else ""
            )
            raise _JsonProblem(f"the key “{key[:40]}” appears twice in one object{where}")
        result[key] = value
    return result


def _int(text: str) -> int:
    if len(text.lstrip("-")) > 18:
        raise _JsonProblem(f"a number has {len(text)} digits; FHIR integers and decimals are small")
    return int(text)


def _float(text: str) -> float:
    if len(text) > 40:
        raise _JsonProblem(f"a number has {len(text)} characters; FHIR decimals are small")
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _JsonProblem(f"the number {text[:20]} is too large")
    return value


def _constant(name: str) -> float:
    raise _JsonProblem(f"{name} is not allowed in JSON")


def _depth(document: Any) -> int:
    deepest, stack = 0, [(document, 1)]
    while stack:
        value, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_DEPTH:
            return depth
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return deepest


def load_json(data: bytes) -> Any:
    """Parse untrusted JSON bytes or raise :class:`ImportRejected` saying why."""
    body = data.removeprefix(b"\xef\xbb\xbf").lstrip()
    if body.startswith(b"<"):
        raise ImportRejected(
            [Problem("file", "is XML; OncoBoard imports FHIR bundles as JSON only.")]
        )
    if not body.startswith(b"{"):
        raise ImportRejected([Problem("file", "is not a JSON object (it must start with “{”).")])
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ImportRejected(
            [Problem("file", f"is not valid UTF-8 (byte {exc.start + 1}); FHIR JSON is UTF-8.")]
        ) from None
    try:
        document = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_int=_int,
            parse_float=_float,
            parse_constant=_constant,
        )
    except RecursionError:
        raise ImportRejected(
            [Problem("file", "is nested too deeply to be a FHIR bundle.")]
        ) from None
    except _JsonProblem as exc:
        raise ImportRejected([Problem("file", f"{exc}.")]) from None
    except json.JSONDecodeError as exc:
        raise ImportRejected(
            [
                Problem(
                    "file", f"is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})."
                )
            ]
        ) from None
    except ValueError as exc:
        raise ImportRejected([Problem("file", f"has an unreadable value ({exc}).")]) from None
    if _depth(document) > MAX_DEPTH:
        raise ImportRejected(
            [Problem("file", f"is nested more than {MAX_DEPTH} levels deep; not a FHIR bundle.")]
        )
    return document


# --- small readers of FHIR structures ---------------------------------------------------------


def fhir_date(value: Any) -> date | None:
    if not isinstance(value, str) or len(value) < 4:
        return None
    try:
        if len(value) >= 10:
            return date.fromisoformat(value[:10])
        if len(value) == 7:
            return date.fromisoformat(value + "-01")
        return date(int(value[:4]), 1, 1)
    except ValueError:
        return None


def _when(resource: dict[str, Any], *names: str) -> tuple[date | None, date | None]:
    for name in names:
        value = resource.get(name)
        if isinstance(value, str):
            return fhir_date(value), None
        if isinstance(value, dict) and ("start" in value or "end" in value):
            return fhir_date(value.get("start") or value.get("end")), fhir_date(value.get("end"))
    return None, None


def _codings(concept: Any) -> list[dict[str, Any]]:
    if not isinstance(concept, dict):
        return []
    return [c for c in concept.get("coding", []) if isinstance(c, dict)]


def _display(concept: Any) -> str:
    if not isinstance(concept, dict):
        return ""
    for coding in _codings(concept):
        if coding.get("display"):
            return str(coding["display"])
    return str(concept.get("text") or next((c.get("code", "") for c in _codings(concept)), ""))


def _loinc_codes(concept: Any) -> list[str]:
    return [str(c.get("code")) for c in _codings(concept) if c.get("system") == LOINC]


def _profiles(resource: dict[str, Any]) -> str:
    return " ".join(resource.get("meta", {}).get("profile", []) or [])


def _roman_stage(text: str) -> str:
    """``c3A`` / ``Stage 3A (qualifier value)`` / ``IIIA`` -> ``IIIA``."""
    cleaned = re.sub(r"(?i)\(qualifier value\)|stage|ajcc", "", text).strip()
    cleaned = re.sub(r"^[cpy]", "", cleaned)
    match = re.match(r"^([0-4])([A-D]?\d?)$", cleaned, re.IGNORECASE)
    if match:
        return _ROMAN[match.group(1)] + match.group(2).upper()
    match = re.match(r"^(0|IV|I{1,3})([A-D]?\d?)$", cleaned, re.IGNORECASE)
    return (match.group(1).upper() + match.group(2).upper()) if match else cleaned[:20]


def _tnm_value(concept: Any) -> str:
    for coding in _codings(concept):
        if "cancerstaging" in str(coding.get("system", "")) and coding.get("code"):
            return str(coding["code"])[:10]
    text = _display(concept)
    match = re.search(r"\b([cpy]?[TNM](?:is|X|[0-4])(?:[a-d]|mi)?)\b", text)
    return match.group(1)[:10] if match else text[:10]


def _drug_name(display: str) -> str:
    name = re.split(r"\s+\d", display.strip(), maxsplit=1)[0]
    name = re.sub(
        r"(?i)\b(oral product|injectable product|injection|oral tablet|oral capsule|tablet|"
        r"capsule|solution|product)\b",
        "",
        name,
    )
    return " ".join(name.split()).strip(" ,").capitalize() or display[:60]


def _status_from(concept: Any) -> str:
    text = _display(concept).lower()
    for word in ("equivocal", "negative", "positive", "deficient", "proficient", "high", "stable"):
        if word in text:
            return word
    if "not detected" in text or "absent" in text:
        return "negative"
    return ""


# --- the bundle -------------------------------------------------------------------------------


class _Bundle:
    def __init__(self, document: dict[str, Any], limits: Limits, log: ProblemLog) -> None:
        self.log = log
        entries = document.get("entry", [])
        if not isinstance(entries, list):
            raise ImportRejected([Problem("Bundle.entry", "must be a list of entries.")])
        if len(entries) > limits.max_rows:
            raise ImportRejected(
                [Problem("Bundle.entry", f"has more than {limits.max_rows:,} resources.")]
            )
        self.resources: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        self.by_url: dict[str, dict[str, Any]] = {}
        self.by_ref: dict[str, dict[str, Any]] = {}
        seen: dict[str, dict[str, Any]] = {}
        for number, entry in enumerate(entries, start=1):
            where = f"entry {number}"
            if not isinstance(entry, dict) or not isinstance(entry.get("resource"), dict):
                log.add(where, "has no resource.")
                continue
            resource = entry["resource"]
            kind = resource.get("resourceType")
            if not isinstance(kind, str):
                log.add(where, "the resource has no resourceType.")
                continue
            identity = f"{kind}/{resource.get('id')}" if resource.get("id") else ""
            if identity and identity in seen:
                if seen[identity] == resource:
                    log.warn(f"{where} ({identity})", "appears more than once; imported once.")
                else:
                    log.add(
                        f"{where} ({identity})",
                        "another resource in the bundle has the same type and id but different "
                        "content.",
                    )
                continue
            if identity:
                seen[identity] = resource
                self.by_ref[identity] = resource
            full_url = entry.get("fullUrl")
            if isinstance(full_url, str) and full_url:
                if full_url in self.by_url:
                    log.warn(
                        f"{where} ({identity or kind})",
                        f"its fullUrl {full_url[:60]} is also used by an earlier entry; references "
                        "to it resolve to the earlier one.",
                    )
                else:
                    self.by_url[full_url] = resource
            self.resources.append((f"{where} ({identity or kind})", resource, entry))

    def resolve(self, reference: Any) -> dict[str, Any] | None:
        if not isinstance(reference, dict) or not isinstance(reference.get("reference"), str):
            return None
        ref = reference["reference"]
        return (
            self.by_url.get(ref)
            or self.by_ref.get(ref)
            or self.by_ref.get("/".join(ref.rsplit("/", 2)[-2:]))
        )


def _validate(where: str, resource: dict[str, Any], log: ProblemLog) -> dict[str, Any] | None:
    """Validate with fhir.resources; returns the values set aside when value[x] was repeated."""
    from fhir.resources.R4B import get_fhir_model_class
    from pydantic import ValidationError

    try:
        model = get_fhir_model_class(resource["resourceType"])
    except (KeyError, ValueError, AttributeError):
        log.add(
            where, f"resourceType “{str(resource['resourceType'])[:40]}” is not a FHIR R4 resource."
        )
        return None
    extra: dict[str, Any] = {}
    values = [key for key in _VALUE_PRIORITY if key in resource]
    checked = resource
    if resource["resourceType"] == "Observation" and len(values) > 1:
        keep = values[0]
        extra = {key: resource[key] for key in values[1:]}
        checked = {k: v for k, v in resource.items() if k not in extra}
        log.warn(
            where,
            f"has {', '.join(values)} (FHIR allows one value); {keep} validated, the others kept "
            "as extra values.",
        )
    try:
        checked = _validate_listing_singletons(model, checked, where, log)
    except ValidationError as exc:
        details = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
            for error in exc.errors()[:3]
        )
        log.add(where, f"is not a valid FHIR {resource['resourceType']} ({details[:400]}).")
        return None
    except (RecursionError, ValueError, TypeError) as exc:
        log.add(where, f"is not a valid FHIR resource ({str(exc)[:200]}).")
        return None
    return extra


def _validate_listing_singletons(
    model: Any, resource: dict[str, Any], where: str, log: ProblemLog
) -> dict[str, Any]:
    """Validate; an object where FHIR wants a list is read as a one-item list, with a warning.

    Hand-written bundles often do this (the mCODE examples do); nothing else is repaired.
    """
    from pydantic import ValidationError

    for _ in range(20):
        try:
            model.model_validate(resource)
            return resource
        except ValidationError as exc:
            lists = [e for e in exc.errors() if e["type"] == "list_type"]
            if not lists or len(lists) != len(exc.errors()):
                raise
            resource = json.loads(json.dumps(resource))
            for error in lists:
                path = [p for p in error["loc"] if p != "__root__"]
                parent: Any = resource
                for step in path[:-1]:
                    parent = parent[step]
                parent[path[-1]] = [parent[path[-1]]]
                log.warn(
                    where, f"{'.'.join(str(p) for p in path)} should be a list; read as one item."
                )
    model.model_validate(resource)
    return resource


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
    catalogue = catalogue or load_catalogue()
    document = load_json(data)
    if document.get("resourceType") != "Bundle":
        found = str(document.get("resourceType", "nothing"))[:40]
        raise ImportRejected(
            [Problem("file", f"resourceType is “{found}”; OncoBoard imports a FHIR Bundle.")]
        )
    if document.get("type") not in BUNDLE_TYPES:
        raise ImportRejected(
            [
                Problem(
                    "Bundle.type",
                    f"“{str(document.get('type'))[:30]}” is not one of "
                    f"{', '.join(sorted(BUNDLE_TYPES))}.",
                )
            ]
        )
    log = ProblemLog()
    bundle = _Bundle(document, limits, log)
    patients = [r for _, r, _ in bundle.resources if r.get("resourceType") == "Patient"]
    if len(patients) > 1:
        log.add("Bundle", f"describes {len(patients)} patients; import one patient per bundle.")
    patient = patients[0] if patients else {}
    contents = BundleContents(
        patient={
            "id": str(patient.get("id", "")),
            "birth_date": str(patient.get("birthDate", "")),
            "gender": str(patient.get("gender", "")),
        }
    )
    extractor = _Extractor(bundle, contents, log, catalogue, context, patient)
    for where, resource, _entry in bundle.resources:
        extra = _validate(where, resource, log)
        if extra is None:
            continue
        status = resource.get("status")
        if isinstance(status, str) and status in _SKIP_STATUS:
            log.warn(where, f"status “{status}”; not imported.")
            continue
        try:
            extractor.extract(where, resource, extra)
        except (LabValueError, BiomarkerError, HgvsError, ValueError) as exc:
            log.add(where, f"{exc}.")
    log.raise_if_any()
    return contents, log


class _Extractor:
    def __init__(
        self,
        bundle: _Bundle,
        contents: BundleContents,
        log: ProblemLog,
        catalogue: Catalogue,
        context: PatientContext,
        patient: dict[str, Any],
    ) -> None:
        self.bundle, self.contents, self.log = bundle, contents, log
        self.catalogue, self.context, self.patient = catalogue, context, patient

    def _check_subject(self, where: str, resource: dict[str, Any]) -> None:
        subject = resource.get("subject") or resource.get("patient")
        if not isinstance(subject, dict) or "reference" not in subject:
            return
        ref = str(subject["reference"])
        target = self.bundle.resolve(subject)
        if target is None:
            if ref.startswith(("urn:uuid:", "urn:oid:")):
                raise ValueError(f"its subject {ref[:60]} is not in the bundle")
            self.log.warn(
                where,
                f"its subject {ref[:60]} is not in this bundle; imported for this case's patient.",
            )
        elif target.get("resourceType") != "Patient":
            raise ValueError(
                f"its subject {ref[:60]} is a {target.get('resourceType')}, not a Patient"
            )

    def _check_focus(self, resource: dict[str, Any]) -> None:
        for focus in resource.get("focus", []) or []:
            ref = str(focus.get("reference", "")) if isinstance(focus, dict) else ""
            if ref.startswith("urn:uuid:") and self.bundle.resolve(focus) is None:
                raise ValueError(f"its focus {ref[:60]} is not in the bundle")

    def extract(self, where: str, resource: dict[str, Any], extra: dict[str, Any]) -> None:
        kind = resource["resourceType"]
        handlers: dict[str, Callable[[str, dict[str, Any], dict[str, Any]], None]] = {
            "Patient": lambda *_: None,
            "Condition": self.condition,
            "Observation": self.observation,
            "MedicationStatement": self.medication,
            "MedicationRequest": self.medication,
            "MedicationAdministration": self.medication,
            "Procedure": self.procedure,
        }
        handler = handlers.get(kind)
        if handler is None:
            self.contents.skipped[kind] = self.contents.skipped.get(kind, 0) + 1
            return
        if kind != "Patient":
            self._check_subject(where, resource)
        handler(where, resource, extra)

    def _ref(self, resource: dict[str, Any]) -> tuple[str, str]:
        ident = f"{resource['resourceType']}/{resource.get('id', '')}"
        return ident, f"fhir:{ident}"

    def condition(self, where: str, resource: dict[str, Any], extra: dict[str, Any]) -> None:
        ident, key = self._ref(resource)
        profiles = _profiles(resource)
        display = _display(resource.get("code"))
        if "secondary-cancer-condition" in profiles or re.search(r"(?i)secondary|metasta", display):
            kind = "secondary_cancer"
        elif "primary-cancer-condition" in profiles or re.search(
            r"(?i)neoplasm|cancer|carcinoma|sarcoma|lymphoma|leuk", display
        ):
            kind = "primary_cancer"
        else:
            kind = "comorbidity"
        histology = ""
        for extension in resource.get("extension", []) or []:
            if str(extension.get("url", "")).endswith("histology-morphology-behavior"):
                histology = _display(extension.get("valueCodeableConcept"))
        sites = [_display(site) for site in resource.get("bodySite", []) or []]
        coding = next(iter(_codings(resource.get("code"))), {})
        onset, _ = _when(resource, "onsetDateTime", "onsetPeriod", "recordedDate")
        if onset is None:
            onset = fhir_date(resource.get("recordedDate"))
        stages = [
            _display(stage.get("summary")) for stage in resource.get("stage", []) or [] if stage
        ]
        self.contents.facts.append(
            FactRecord(
                source_ref=ident,
                source_key=key,
                kind=kind,
                display=display[:200],
                code_system=str(coding.get("system", ""))[:100],
                code=str(coding.get("code", ""))[:40],
                date=onset,
                detail={
                    "histology": histology[:200],
                    "body_site": ", ".join(s for s in sites if s)[:200],
                    "clinical_status": _display(resource.get("clinicalStatus")),
                    "stage": [s[:60] for s in stages if s],
                },
            )
        )

    def observation(self, where: str, resource: dict[str, Any], extra: dict[str, Any]) -> None:
        self._check_focus(resource)
        ident, key = self._ref(resource)
        codes = _loinc_codes(resource.get("code"))
        profiles = _profiles(resource)
        display = _display(resource.get("code"))
        when, _ = _when(resource, "effectiveDateTime", "effectivePeriod", "issued")
        if when is None:
            when = fhir_date(resource.get("issued"))
        values = {**{k: resource[k] for k in _VALUE_PRIORITY if k in resource}, **extra}
        stage_type = next((STAGE_GROUP[c] for c in codes if c in STAGE_GROUP), None)
        if stage_type is None and "stage-group" in profiles:
            stage_type = "pathological" if "pathological" in profiles else "clinical"
        if stage_type:
            value = values.get("valueCodeableConcept")
            self.contents.facts.append(
                FactRecord(
                    ident,
                    key,
                    "stage_group",
                    display[:200],
                    value_text=_roman_stage(
                        next(
                            (
                                str(c.get("code"))
                                for c in _codings(value)
                                if "cancerstaging" in str(c.get("system", ""))
                            ),
                            "",
                        )
                        or _display(value)
                    ),
                    date=when,
                    detail={"type": stage_type, "as_reported": _display(value)[:100]},
                )
            )
            return
        tnm = next((TNM_CATEGORY[c] for c in codes if c in TNM_CATEGORY), None)
        if tnm is None:
            for fragment, letter in (
                ("primary-tumor-category", "T"),
                ("regional-nodes-category", "N"),
                ("distant-metastases-category", "M"),
            ):
                if fragment in profiles:
                    kind = (
                        "pathological"
                        if "pathological" in profiles or display.startswith("p")
                        else "clinical"
                    )
                    tnm = (kind, letter)
        if tnm:
            self.contents.facts.append(
                FactRecord(
                    ident,
                    key,
                    "tnm_category",
                    display[:200],
                    value_text=_tnm_value(values.get("valueCodeableConcept")),
                    date=when,
                    detail={"type": tnm[0], "category": tnm[1]},
                )
            )
            return
        if ECOG in codes or KARNOFSKY in codes or "performance-status" in profiles:
            kind = "karnofsky" if KARNOFSKY in codes or "karnofsky" in profiles else "ecog"
            number = values.get("valueInteger")
            if not isinstance(number, int):
                raise ValueError(f"{kind.upper()} needs an integer value")
            limit = 100 if kind == "karnofsky" else 5
            if not 0 <= number <= limit:
                raise ValueError(f"{kind.upper()} {number} is outside 0–{limit}")
            self.contents.facts.append(
                FactRecord(
                    ident,
                    key,
                    kind,
                    display[:200] or kind.upper(),
                    value_number=number,
                    value_text=str(number),
                    date=when,
                )
            )
            return
        if DISEASE_STATUS & set(codes) or "disease-status" in profiles:
            value = values.get("valueCodeableConcept")
            code = next((str(c.get("code")) for c in _codings(value)), "")
            self.contents.facts.append(
                FactRecord(
                    ident,
                    key,
                    "disease_status",
                    display[:200],
                    code=code[:40],
                    value_text=_display(value)[:200],
                    date=when,
                    detail={"response": RESPONSE_BY_STATUS.get(code, "NE")},
                )
            )
            return
        if (
            GENETIC_VARIANT & set(codes)
            or "genetic-variant" in profiles
            or "genomic-variant" in profiles
        ):
            self.variant(ident, key, resource, when)
            return
        if REGION_STUDIED & set(codes) or "region-studied" in profiles:
            genes = [
                self._gene_of(c)
                for c in resource.get("component", []) or []
                if "48018-6" in _loinc_codes(c.get("code"))
            ]
            self.contents.facts.append(
                FactRecord(
                    ident,
                    key,
                    "genomic_region",
                    display[:200] or "Genomic region studied",
                    date=when,
                    detail={"genes": sorted(g for g in genes if g)},
                )
            )
            return
        marker = next((BIOMARKER_LOINC[c] for c in codes if c in BIOMARKER_LOINC), None)
        if marker is None:
            lowered = " ".join([display, str(resource.get("code", {}).get("text", ""))]).lower()
            marker = next(((name, "") for word, name in BIOMARKER_WORDS if word in lowered), None)
        if marker is not None:
            self.biomarker(ident, key, marker, resource, values, when)
            return
        self.lab(ident, key, codes, display, resource, values, when)

    def _gene_of(self, component: dict[str, Any]) -> str:
        concept = component.get("valueCodeableConcept")
        for coding in _codings(concept):
            code = str(coding.get("code", ""))
            symbol = HGNC_SYMBOLS.get(code) or normalise_gene(
                str(coding.get("display", "")) or code
            )
            if symbol:
                return symbol
        text = _display(concept)
        return normalise_gene(text) or ""

    def variant(self, ident: str, key: str, resource: dict[str, Any], when: date | None) -> None:
        value = resource.get("valueCodeableConcept")
        if any(c.get("code") == "LA9634-2" for c in _codings(value)):
            self.log.warn(ident, "reports the variant as absent; not imported as a finding.")
            return
        record = VariantRecord(
            source_ref=ident,
            source_key=key,
            kind="mutation",
            gene="",
            gene_as_reported="",
            reported_on=when,
        )
        for component in resource.get("component", []) or []:
            codes = _loinc_codes(component.get("code"))
            concept = component.get("valueCodeableConcept")
            text = next(
                (str(c.get("code")) for c in _codings(concept) if c.get("code")), ""
            ) or _display(concept)
            if "48018-6" in codes:
                record.gene = self._gene_of(component)
                record.gene_as_reported = text[:40]
            elif "48005-3" in codes and text:
                change = normalise_protein_change(text)
                record.protein_short, record.protein_long = change.short, change.long
            elif "48004-6" in codes:
                record.hgvs_c = text[:100]
            elif "81290-9" in codes:
                match = re.match(r"^NC_0+(\d{1,2})\.\d+:g\.(\d+)([ACGT]+)>([ACGT]+)$", text)
                if match:
                    number = int(match.group(1))
                    record.chromosome = normalise_chromosome(
                        {23: "X", 24: "Y"}.get(number, str(number))
                    )
                    record.position = int(match.group(2))
                    record.ref, record.alt = match.group(3), match.group(4)
                record.detail_g = text  # type: ignore[attr-defined]
            elif "48002-0" in codes:
                origin = _display(concept).lower() + text
                record.origin = (
                    "germline" if "germline" in origin or "LA6683-2" in origin else "somatic"
                )
            elif "81258-6" in codes:
                quantity = component.get("valueQuantity") or {}
                fraction = quantity.get("value")
                if isinstance(fraction, int | float):
                    record.vaf = float(fraction) / 100 if fraction > 1 else float(fraction)
            elif "62378-5" in codes:
                shown = _display(concept).lower()
                record.kind = "copy_number"
                record.copy_number_level = (
                    2
                    if "amplif" in shown
                    else 1
                    if "gain" in shown
                    else -2
                    if "deletion" in shown
                    else -1
                )
        if not record.gene:
            self.log.warn(ident, "names no gene this importer can resolve; kept by position.")
        self.contents.variants.append(record)

    def biomarker(
        self,
        ident: str,
        key: str,
        marker: tuple[str, str],
        resource: dict[str, Any],
        values: dict[str, Any],
        when: date | None,
    ) -> None:
        name, method = marker
        codes = _loinc_codes(resource.get("code"))
        for code in codes:
            if code in BIOMARKER_LOINC and BIOMARKER_LOINC[code][1]:
                method = BIOMARKER_LOINC[code][1]
        lowered = (
            _display(resource.get("code")).lower()
            + " "
            + " ".join(str(c.get("display", "")).lower() for c in _codings(resource.get("code")))
        )
        if not method:
            method = (
                "ISH"
                if "fish" in lowered or "in situ" in lowered
                else "IHC"
                if "immune stain" in lowered or name in {"ER", "PR", "HER2"}
                else ""
            )
        if name == "PD-L1":
            method = "CPS" if "combined positive" in lowered or "cps" in lowered else "TPS"
        if name in {"MSI", "TMB"}:
            method = "NGS" if name == "TMB" else "PCR"
        status = _status_from(values.get("valueCodeableConcept"))
        value_text = ""
        quantity = values.get("valueQuantity")
        if isinstance(quantity, dict) and isinstance(quantity.get("value"), int | float):
            number = quantity["value"]
            value_text = (
                f"{number}+"
                if name == "HER2" and method == "IHC" and number in (0, 1, 2, 3)
                else f"{quantity.get('comparator', '')}{number}"
            )
        elif isinstance(values.get("valueInteger"), int):
            value_text = str(values["valueInteger"])
        ratio = values.get("valueRatio")
        detail_ratio = ""
        if isinstance(ratio, dict):
            num, den = ratio.get("numerator", {}), ratio.get("denominator", {})
            detail_ratio = (
                f"{num.get('comparator', '')}{num.get('value')}:"
                f"{den.get('comparator', '')}{den.get('value')}"
            )
        record = normalise_biomarker(
            name=name,
            method=method,
            value=value_text,
            unit=str((quantity or {}).get("unit", "")) if isinstance(quantity, dict) else "",
            status=status,
            measured_on=when,
            source_ref=ident,
            source_key=key,
            loinc=codes[0] if codes else "",
        )
        if detail_ratio and not record.value_text:
            record.value_text = detail_ratio[:60]
        self.contents.biomarkers.append(record)

    def lab(
        self,
        ident: str,
        key: str,
        codes: list[str],
        display: str,
        resource: dict[str, Any],
        values: dict[str, Any],
        when: date | None,
    ) -> None:
        quantity = values.get("valueQuantity")
        analyte = next(
            (self.catalogue.by_loinc[c] for c in codes if c in self.catalogue.by_loinc), None
        )
        marker = next((c for c in codes if c in self.catalogue.tumour_markers), "")
        if not isinstance(quantity, dict) or "value" not in quantity:
            if analyte or marker:
                text = _display(values.get("valueCodeableConcept")) or str(
                    values.get("valueString", "")
                )
                if not text:
                    raise ValueError("a lab result needs a value")
                quantity = {"value": text, "unit": ""}
            else:
                self.contents.skipped["Observation"] = (
                    self.contents.skipped.get("Observation", 0) + 1
                )
                self.log.warn(
                    ident, f"“{display[:60]}” is not a kind of observation OncoBoard keeps."
                )
                return
        if when is None:
            raise ValueError("a lab result needs an effective date")
        low = high = None
        for reference in resource.get("referenceRange", []) or []:
            low = (reference.get("low") or {}).get("value", low)
            high = (reference.get("high") or {}).get("value", high)
        comparator = str(quantity.get("comparator", ""))
        record = normalise(
            catalogue=self.catalogue,
            analyte=analyte,
            loinc=analyte.loinc if analyte else (marker or (codes[0] if codes else "")),
            name=display,
            value_text=f"{comparator}{quantity['value']}",
            unit=str(quantity.get("code") or quantity.get("unit") or ""),
            collected_at=datetime.combine(when, time()),
            reference=Range(low, high) if (low is not None or high is not None) else None,
            context=self.context,
            source_ref=ident,
            source_key=key,
        )
        self.contents.labs.append(record)

    def medication(self, where: str, resource: dict[str, Any], extra: dict[str, Any]) -> None:
        ident, key = self._ref(resource)
        concept = resource.get("medicationCodeableConcept")
        if concept is None and "medicationReference" in resource:
            medication = self.bundle.resolve(resource["medicationReference"])
            if medication is None:
                ref = str(resource["medicationReference"].get("reference", ""))[:60]
                raise ValueError(f"its medicationReference {ref} is not in the bundle")
            concept = medication.get("code")
        display = _display(concept)
        if not display:
            raise ValueError("names no medication")
        start, end = _when(resource, "effectiveDateTime", "effectivePeriod", "authoredOn")
        if resource["resourceType"] == "MedicationRequest" and start is None:
            start = fhir_date(resource.get("authoredOn"))
        if start is None:
            raise ValueError("has no date (effective[x] or authoredOn)")
        coding = next(iter(_codings(concept)), {})
        self.contents.facts.append(
            FactRecord(
                ident,
                key,
                "medication",
                display[:200],
                code_system=str(coding.get("system", ""))[:100],
                code=str(coding.get("code", ""))[:40],
                value_text=_drug_name(display),
                date=start,
                end_date=end,
                detail={
                    "resource": resource["resourceType"],
                    "status": str(resource.get("status", "")),
                },
            )
        )

    def procedure(self, where: str, resource: dict[str, Any], extra: dict[str, Any]) -> None:
        ident, key = self._ref(resource)
        profiles = _profiles(resource)
        display = _display(resource.get("code"))
        text = (display + " " + str(resource.get("code", {}).get("text", ""))).lower()
        if "surgical-procedure" in profiles:
            kind = "surgery"
        elif "radiation-procedure" in profiles or re.search(
            r"radiat|radiotherap|brachytherap", text
        ):
            kind = "radiotherapy"
        else:
            kind = "surgery"
        start, end = _when(resource, "performedDateTime", "performedPeriod")
        if start is None:
            raise ValueError("has no performed date")
        coding = next(iter(_codings(resource.get("code"))), {})
        sites = [_display(site) for site in resource.get("bodySite", []) or []]
        self.contents.facts.append(
            FactRecord(
                ident,
                key,
                kind,
                display[:200],
                code_system=str(coding.get("system", ""))[:100],
                code=str(coding.get("code", ""))[:40],
                date=start,
                end_date=end,
                detail={"body_site": ", ".join(s for s in sites if s)[:200]},
            )
        )
