"""Read ClinicalTrials.gov records (API v2 JSON, legacy XML, the shared JSONL) into TrialRecords.

Every reader raises :class:`TrialRecordError` naming the record when a record cannot be read;
the bulk readers collect those errors per record instead of dropping records silently.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from inference.trials.schema import Location, TrialRecord

logger = logging.getLogger(__name__)

NCT_RE = re.compile(r"^NCT\d{8}$")
_AGE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(year|month|week|day|hour|minute)s?\s*$", re.I)
_AGE_UNIT_YEARS = {
    "year": 1.0,
    "month": 1 / 12,
    "week": 7 / 365.25,
    "day": 1 / 365.25,
    "hour": 1 / 8766,
    "minute": 1 / 525960,
}
# API v2 spells phases as enum constants; the legacy formats use words.
_PHASE_WORDS = {
    "EARLY_PHASE1": "Early Phase 1",
    "PHASE1": "Phase 1",
    "PHASE2": "Phase 2",
    "PHASE3": "Phase 3",
    "PHASE4": "Phase 4",
    "NA": "N/A",
}


class TrialRecordError(ValueError):
    """A record that cannot be turned into a TrialRecord; the message names the record."""

    def __init__(self, record_ref: str, reason: str) -> None:
        super().__init__(f"{record_ref}: {reason}")
        self.record_ref = record_ref
        self.reason = reason


@dataclass(frozen=True)
class ReadResult:
    """Records read from a bulk source, plus one error per record that could not be read."""

    records: tuple[TrialRecord, ...]
    errors: tuple[TrialRecordError, ...]


def parse_age_years(text: str | None) -> float | None:
    """Convert a CT.gov age string ("18 Years", "6 Months", "N/A") to years.

    Args:
        text: the raw age string.

    Returns:
        The age in years, or None when absent or not a number.
    """
    if not text:
        return None
    match = _AGE_RE.match(text)
    if not match:
        return None
    return round(float(match.group(1)) * _AGE_UNIT_YEARS[match.group(2).lower()], 4)


def normalise_phase(phases: Iterable[str]) -> str:
    """Join phase values ("PHASE1", "Phase 2") into the legacy wording ("Phase 1/Phase 2")."""
    words = [_PHASE_WORDS.get(p.strip().upper().replace(" ", ""), p.strip()) for p in phases]
    return "/".join(w for w in words if w)


def normalise_status(status: str) -> str:
    """Map "ACTIVE_NOT_RECRUITING" and "Active, not recruiting" to one lower-case form."""
    cleaned = re.sub(r"[^a-z]+", " ", status.lower()).strip()
    return cleaned.replace(" ", "_")


def _normalise_sex(sex: str | None) -> str:
    value = (sex or "").strip().lower()
    if value in {"female", "male"}:
        return value
    return "all"


def _check_nct(ref: str, nct_id: Any) -> str:
    if not isinstance(nct_id, str) or not NCT_RE.match(nct_id.strip()):
        raise TrialRecordError(ref, f"missing or malformed NCT id {nct_id!r}")
    return nct_id.strip()


def _str_tuple(ref: str, field: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TrialRecordError(ref, f"field {field!r} must be a list of strings")
    return tuple(v.strip() for v in value if v.strip())


def _str(ref: str, field: str, value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TrialRecordError(ref, f"field {field!r} must be a string, got {type(value).__name__}")
    return value.strip()


def _mapping(ref: str, field: str, value: Any) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TrialRecordError(ref, f"field {field!r} must be an object")
    return value


def trial_from_api_v2(study: Mapping[str, Any], ref: str = "study") -> TrialRecord:
    """Convert one ClinicalTrials.gov API v2 study object (``protocolSection`` ...).

    Args:
        study: the decoded JSON object of one study.
        ref: a name for error messages (file name, line number).

    Returns:
        The TrialRecord.

    Raises:
        TrialRecordError: when the object is not a study or a field has the wrong type.
    """
    if not isinstance(study, dict) or "protocolSection" not in study:
        raise TrialRecordError(ref, "not an API v2 study (no protocolSection)")
    proto = _mapping(ref, "protocolSection", study["protocolSection"])
    ident = _mapping(ref, "identificationModule", proto.get("identificationModule"))
    nct_id = _check_nct(ref, ident.get("nctId"))
    ref = f"{ref} ({nct_id})"
    desc = _mapping(ref, "descriptionModule", proto.get("descriptionModule"))
    conds = _mapping(ref, "conditionsModule", proto.get("conditionsModule"))
    design = _mapping(ref, "designModule", proto.get("designModule"))
    status = _mapping(ref, "statusModule", proto.get("statusModule"))
    elig = _mapping(ref, "eligibilityModule", proto.get("eligibilityModule"))
    arms = _mapping(ref, "armsInterventionsModule", proto.get("armsInterventionsModule"))
    contacts = _mapping(ref, "contactsLocationsModule", proto.get("contactsLocationsModule"))
    interventions = _intervention_names(ref, arms.get("interventions"))
    locations = _locations(ref, contacts.get("locations"))
    return TrialRecord(
        nct_id=nct_id,
        title=_str(ref, "briefTitle", ident.get("briefTitle"))
        or _str(ref, "officialTitle", ident.get("officialTitle")),
        summary=_str(ref, "briefSummary", desc.get("briefSummary")),
        conditions=_str_tuple(ref, "conditions", conds.get("conditions")),
        interventions=interventions,
        keywords=_str_tuple(ref, "keywords", conds.get("keywords")),
        phase=normalise_phase(_str_tuple(ref, "phases", design.get("phases"))),
        status=normalise_status(_str(ref, "overallStatus", status.get("overallStatus"))),
        min_age_years=parse_age_years(_str(ref, "minimumAge", elig.get("minimumAge"))),
        max_age_years=parse_age_years(_str(ref, "maximumAge", elig.get("maximumAge"))),
        sex=_normalise_sex(_str(ref, "sex", elig.get("sex"))),
        locations=locations,
        eligibility_text=_str(ref, "eligibilityCriteria", elig.get("eligibilityCriteria")),
        source="ctgov_api_v2",
    )


def _xml_text(node: Element | None, path: str) -> str:
    if node is None:
        return ""
    found = node.find(path)
    if found is None:
        return ""
    return " ".join("".join(found.itertext()).split()) if path != _CRITERIA else _block(found)


_CRITERIA = "eligibility/criteria/textblock"


def _xml_all(node: Element, path: str) -> list[str]:
    return [" ".join("".join(found.itertext()).split()) for found in node.findall(path)]


def _block(node: Element) -> str:
    # Keep line structure in criteria text: the criteria splitter needs bullets and numbering.
    lines = [line.strip() for line in "".join(node.itertext()).splitlines()]
    return "\n".join(lines).strip()


def trial_from_legacy_xml(data: bytes | str, ref: str = "xml") -> TrialRecord:
    """Parse one legacy ``<clinical_study>`` XML document with defusedxml.

    Args:
        data: the XML document.
        ref: a name for error messages.

    Returns:
        The TrialRecord.

    Raises:
        TrialRecordError: on malformed or hostile XML (entity expansion, external entities) or a
            document that is not a clinical study.
    """
    try:
        root = SafeET.fromstring(data)
    except DefusedXmlException as exc:
        raise TrialRecordError(ref, f"refused unsafe XML ({type(exc).__name__})") from exc
    except SafeET.ParseError as exc:
        raise TrialRecordError(ref, f"malformed XML: {exc}") from exc
    if root.tag != "clinical_study":
        raise TrialRecordError(ref, f"root element is <{root.tag}>, expected <clinical_study>")
    nct_id = _check_nct(ref, root.findtext("id_info/nct_id"))
    locations = tuple(
        Location(
            facility=_xml_text(loc, "facility/name"),
            city=_xml_text(loc, "facility/address/city"),
            state=_xml_text(loc, "facility/address/state"),
            country=_xml_text(loc, "facility/address/country"),
            status=normalise_status(_xml_text(loc, "status")),
        )
        for loc in root.findall("location")
    )
    elig = root.find("eligibility")
    return TrialRecord(
        nct_id=nct_id,
        title=_xml_text(root, "brief_title") or _xml_text(root, "official_title"),
        summary=_xml_text(root, "brief_summary/textblock"),
        conditions=tuple(
            " ".join("".join(c.itertext()).split()) for c in root.findall("condition")
        ),
        interventions=tuple(
            _xml_text(i, "intervention_name") for i in root.findall("intervention")
        ),
        keywords=tuple(_xml_all(root, "keyword")),
        phase=normalise_phase([_xml_text(root, "phase")] if _xml_text(root, "phase") else []),
        status=normalise_status(_xml_text(root, "overall_status")),
        min_age_years=parse_age_years(_xml_text(elig, "minimum_age")),
        max_age_years=parse_age_years(_xml_text(elig, "maximum_age")),
        sex=_normalise_sex(_xml_text(elig, "gender")),
        locations=locations,
        eligibility_text=_xml_text(root, _CRITERIA),
        source="ctgov_legacy_xml",
    )


def trial_from_corpus_json(obj: Mapping[str, Any], ref: str = "line") -> TrialRecord:
    """Convert one line object of the shared ``ctgov-trials/trials.jsonl.gz`` corpus.

    Args:
        obj: the decoded JSON object (schema in that folder's SOURCE.md).
        ref: a name for error messages.

    Returns:
        The TrialRecord.

    Raises:
        TrialRecordError: when ``nct_id`` is missing or a field has the wrong type.
    """
    if not isinstance(obj, dict):
        raise TrialRecordError(ref, "line is not a JSON object")
    nct_id = _check_nct(ref, obj.get("nct_id"))
    ref = f"{ref} ({nct_id})"
    interventions = _intervention_names(ref, obj.get("interventions"))
    locations = _locations(ref, obj.get("locations"))

    def _age(key_years: str, key_raw: str) -> float | None:
        value = obj.get(key_years)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        return parse_age_years(_str(ref, key_raw, obj.get(key_raw)))

    sources = obj.get("sources") or []
    return TrialRecord(
        nct_id=nct_id,
        title=_str(ref, "title", obj.get("title"))
        or _str(ref, "official_title", obj.get("official_title")),
        summary=_str(ref, "brief_summary", obj.get("brief_summary")),
        conditions=_str_tuple(ref, "conditions", obj.get("conditions")),
        interventions=interventions,
        keywords=_str_tuple(ref, "keywords", obj.get("keywords")),
        phase=_str(ref, "phase", obj.get("phase")),
        status=normalise_status(_str(ref, "overall_status", obj.get("overall_status"))),
        min_age_years=_age("min_age_years", "min_age"),
        max_age_years=_age("max_age_years", "max_age"),
        sex=_normalise_sex(_str(ref, "sex", obj.get("sex"))),
        locations=locations,
        eligibility_text=_str(ref, "eligibility_criteria", obj.get("eligibility_criteria")),
        source=str(sources[0]) if isinstance(sources, list) and sources else "ctgov_corpus",
    )


def iter_jsonl(path: Path) -> Iterator[tuple[str, Any]]:
    """Yield ``(ref, decoded object or TrialRecordError)`` per line of a (gzipped) JSONL file."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            ref = f"{path.name}:{number}"
            try:
                yield ref, json.loads(line)
            except json.JSONDecodeError as exc:
                yield ref, TrialRecordError(ref, f"invalid JSON: {exc.msg}")


def read_corpus_jsonl(path: Path) -> ReadResult:
    """Read a corpus JSONL file (plain or gzipped), one TrialRecord per good line.

    Args:
        path: the file.

    Returns:
        The records and one error per unreadable line (never silently dropped).
    """
    records: list[TrialRecord] = []
    errors: list[TrialRecordError] = []
    for ref, obj in iter_jsonl(path):
        if isinstance(obj, TrialRecordError):
            errors.append(obj)
            continue
        try:
            records.append(trial_from_corpus_json(obj, ref))
        except TrialRecordError as exc:
            errors.append(exc)
    for error in errors:
        logger.warning("skipped trial record %s", error)
    return ReadResult(tuple(records), tuple(errors))


def read_trial_file(path: Path) -> TrialRecord:
    """Read one trial file, choosing the format from its content (API v2 JSON or legacy XML).

    Args:
        path: a ``.json`` or ``.xml`` file.

    Returns:
        The TrialRecord.

    Raises:
        TrialRecordError: when the file is neither format or is malformed.
    """
    data = path.read_bytes()
    head = data.lstrip()[:1]
    if head == b"<":
        return trial_from_legacy_xml(data, path.name)
    if head == b"{":
        try:
            obj = json.loads(data)
        except json.JSONDecodeError as exc:
            raise TrialRecordError(path.name, f"invalid JSON: {exc.msg}") from exc
        if isinstance(obj, dict) and "protocolSection" in obj:
            return trial_from_api_v2(obj, path.name)
        return trial_from_corpus_json(obj, path.name)
    raise TrialRecordError(path.name, "neither JSON nor XML")


def _intervention_names(ref: str, items: Any) -> tuple[str, ...]:
    """The non-empty ``name`` of each intervention object (both record formats share the shape)."""
    names = (
        _str(ref, "interventions.name", _mapping(ref, "i", item).get("name"))
        for item in items or []
    )
    return tuple(name for name in names if name)


def _locations(ref: str, items: Any) -> tuple[Location, ...]:
    """The trial sites (both record formats share the shape of a location object)."""
    locations = []
    for item in items or []:
        loc = _mapping(ref, "locations[]", item)
        locations.append(
            Location(
                facility=_str(ref, "facility", loc.get("facility")),
                city=_str(ref, "city", loc.get("city")),
                state=_str(ref, "state", loc.get("state")),
                country=_str(ref, "country", loc.get("country")),
                status=normalise_status(_str(ref, "status", loc.get("status"))),
            )
        )
    return tuple(locations)
