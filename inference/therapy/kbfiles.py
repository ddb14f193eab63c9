"""Reading and validating the shipped knowledge-base files, all or nothing.

:func:`kb_read` parses every file into one :class:`KnowledgeBase`; the first problem raises
:class:`KbFileError` naming the file and line, so a broken file is refused whole and the caller
keeps the previous version active.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import yaml

from inference.therapy.types import (
    DiseaseMap,
    Drug,
    EvidenceItem,
    Guideline,
    KnowledgeBase,
    Regimen,
    ResistanceRule,
    SafetyRule,
    SafetyState,
    StandardRule,
)

KB_FILES = (
    "drugs.yaml",
    "diseases.tsv",
    "civic_predictive.tsv.gz",
    "oncoref_agents.tsv",
    "standard_of_care.yaml",
    "safety_rules.yaml",
)
#: Bumped whenever reading the same files gives different content (2: salts and esters stripped
#: from drug names).
READER_VERSION = 2
CIVIC_LEVELS = ("A", "B", "C", "D", "E")
ONCOREF_PHASES = (
    "approved",
    "phase_3",
    "phase_2",
    "phase_1",
    "early_clinical",
    "off_label",
    "preclinical",
)
LAB_CHECK_KEYS = {
    "kind",
    "lab",
    "unit",
    "block_below",
    "caution_below",
    "block_above",
    "caution_above",
    "scale",
    "liver_metastases",
}
CHECK_KINDS = {
    "lab": LAB_CHECK_KEYS,
    "ecog": {"kind", "block_at_or_above", "caution_at_or_above"},
    "pregnancy": {"kind"},
    "comorbidity": {"kind", "match"},
    "comedication": {"kind", "match"},
    "prior_toxicity": {"kind"},
    "recent_bleeding": {"kind", "within_days"},
}
CONDITION_KEYS = {
    "gene",
    "variants",
    "codons",
    "deletion_in",
    "kind",
    "partner",
    "biomarker",
    "status",
    "any",
}
CONDITION_KINDS = {"mutation", "truncating", "amplification", "deletion", "fusion"}
BIOMARKERS = {"ER", "PR", "HER2", "PD-L1", "MSI", "MMR", "TMB"}
_LINE = "__line__"
_PROTEIN = re.compile(r"^[A-Z]\d+[A-Z*]?$|^[A-Z]\d+_[A-Z]\d+(DEL|INS|DELINS)[A-Z]*$")

OncoTreeLineage = Callable[[str], "tuple[str, ...] | None"]


class KbFileError(ValueError):
    """A knowledge-base file that cannot be loaded: which file, which line, what is wrong."""

    def __init__(self, file: str, line: int, message: str) -> None:
        self.file, self.line, self.message = file, line, message
        super().__init__(f"{file}, line {line}: {message}")


class _LineLoader(yaml.SafeLoader):
    """A safe loader that remembers the line of every mapping (for error messages)."""


def _mapping_with_line(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping[_LINE] = node.start_mark.line + 1
    return cast(dict[str, Any], mapping)


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_line)


@dataclass(frozen=True)
class _Yaml:
    name: str
    data: dict[str, Any]


def _yaml(folder: Path, name: str) -> _Yaml:
    try:
        text = (folder / name).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise KbFileError(name, 0, "the file is missing") from exc
    except UnicodeDecodeError as exc:
        raise KbFileError(name, 0, "the file is not UTF-8 text") from exc
    try:
        data = yaml.load(text, Loader=_LineLoader)  # noqa: S506  (a SafeLoader subclass)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        raise KbFileError(name, line, f"not valid YAML ({exc.problem})") from exc
    except yaml.YAMLError as exc:
        raise KbFileError(name, 0, f"not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise KbFileError(name, 1, "the file must be a mapping with a version and its entries")
    if not str(data.get("version", "")).strip():
        raise KbFileError(name, 1, "the file has no version")
    return _Yaml(name, data)


def _line(entry: Any) -> int:
    return int(entry.get(_LINE, 0)) if isinstance(entry, dict) else 0


def _strip(value: Any) -> Any:
    """Drop the line markers before a value is stored."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k != _LINE}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _list(file: str, entry: dict[str, Any], key: str, *, required: bool = False) -> list[Any]:
    value = entry.get(key, [])
    if value is None or (required and not value):
        raise KbFileError(file, _line(entry), f"“{key}” must list at least one value")
    if not isinstance(value, list):
        raise KbFileError(file, _line(entry), f"“{key}” must be a list")
    return value


def _text(file: str, entry: dict[str, Any], key: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str | int | float) or not str(value).strip():
        raise KbFileError(file, _line(entry), f"“{key}” is missing or empty")
    return str(value).strip()


def _unknown_keys(file: str, entry: dict[str, Any], allowed: set[str]) -> None:
    extra = set(entry) - allowed - {_LINE}
    if extra:
        raise KbFileError(file, _line(entry), f"unknown field(s): {', '.join(sorted(extra))}")


# ------------------------------------------------------------------------------------ drugs


def _drugs(folder: Path) -> tuple[tuple[Drug, ...], tuple[Regimen, ...], str]:
    doc = _yaml(folder, "drugs.yaml")
    drugs: list[Drug] = []
    seen: dict[str, int] = {}
    for entry in _list(doc.name, doc.data, "drugs", required=True):
        if not isinstance(entry, dict):
            raise KbFileError(doc.name, _line(doc.data), "each drug must be a mapping")
        _unknown_keys(doc.name, entry, {"name", "classes", "synonyms", "whatif"})
        name = _text(doc.name, entry, "name").lower()
        classes = tuple(str(c) for c in _list(doc.name, entry, "classes", required=True))
        synonyms = tuple(str(s).strip().lower() for s in _list(doc.name, entry, "synonyms"))
        whatif = str(entry.get("whatif", "") or "")
        if whatif and whatif not in {"endocrine", "chemotherapy", "radiotherapy"}:
            raise KbFileError(doc.name, _line(entry), f"unknown what-if class “{whatif}”")
        for word in (name, *synonyms):
            if word in seen:
                raise KbFileError(
                    doc.name,
                    _line(entry),
                    f"“{word}” is already used on line {seen[word]}: one name, one drug",
                )
            seen[word] = _line(entry)
        drugs.append(Drug(name=name, classes=classes, synonyms=synonyms, whatif=whatif))
    names = {drug.name for drug in drugs}
    regimens: list[Regimen] = []
    for entry in _list(doc.name, doc.data, "regimens"):
        _unknown_keys(doc.name, entry, {"name", "drugs", "synonyms"})
        members = tuple(str(d).lower() for d in _list(doc.name, entry, "drugs", required=True))
        missing = [d for d in members if d not in names]
        if missing:
            raise KbFileError(
                doc.name, _line(entry), f"regimen names drugs not in the list: {', '.join(missing)}"
            )
        regimens.append(
            Regimen(
                name=_text(doc.name, entry, "name"),
                drugs=members,
                synonyms=tuple(str(s).lower() for s in _list(doc.name, entry, "synonyms")),
            )
        )
    return tuple(drugs), tuple(regimens), str(doc.data["version"])


# Salt, ester and hydrate words that name a form of the same agent, not another agent (USAN/INN
# practice: "imatinib mesylate" is imatinib). Stripped from the end of a name, in any order.
SALT_WORDS = frozenset(
    {
        "acetate",
        "besilate",
        "besylate",
        "bismesylate",
        "bitartrate",
        "calcium",
        "citrate",
        "dihydrochloride",
        "dimaleate",
        "dimesylate",
        "disodium",
        "ditosylate",
        "edisylate",
        "esylate",
        "fumarate",
        "hcl",
        "hemihydrate",
        "hydrate",
        "hydrobromide",
        "hydrochloride",
        "isethionate",
        "lactate",
        "l-malate",
        "malate",
        "maleate",
        "meglumine",
        "mesilate",
        "mesylate",
        "monohydrate",
        "phosphate",
        "potassium",
        "sesquihydrate",
        "sodium",
        "succinate",
        "sulfate",
        "sulphate",
        "tartrate",
        "tosilate",
        "tosylate",
        "trihydrate",
        "tromethamine",
    }
)


def drug_base_name(name: str) -> str:
    """``"Pictilisib Bismesylate"`` -> ``"Pictilisib"``: the agent without its salt or ester.

    The name keeps its own spelling; a name that is nothing but salt words is kept whole.
    """
    words = name.split()
    while len(words) > 1 and words[-1].lower() in SALT_WORDS:
        words.pop()
    return " ".join(words)


def normalise_drug_names(
    raw: str, index: dict[str, Drug]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``"Cisplatin,Imatinib Mesylate"`` -> (normalised known names, unknown names).

    A name is looked up as written, then without its salt or ester (:func:`drug_base_name`) in
    the vocabulary's names and synonyms. An unknown name is kept without its salt, so that
    "Pictilisib" and "Pictilisib Bismesylate" are one agent (and one option) even when the
    vocabulary does not know it.
    """
    known: list[str] = []
    unknown: list[str] = []
    for part in raw.split(","):
        word = " ".join(part.split())
        if not word:
            continue
        base = drug_base_name(word)
        drug = index.get(word.lower()) or index.get(base.lower())
        if drug is None:
            if base.lower() not in {u.lower() for u in unknown}:
                unknown.append(base)
        elif drug.name not in known:
            known.append(drug.name)
    return tuple(known), tuple(unknown)


def _drug_index(drugs: tuple[Drug, ...]) -> dict[str, Drug]:
    index: dict[str, Drug] = {}
    for drug in drugs:
        index[drug.name] = drug
        for synonym in drug.synonyms:
            index[synonym] = drug
    return index


# --------------------------------------------------------------------------------- diseases


def _tsv_rows(name: str, text: str, columns: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """Rows with their file line; ``#`` lines are comments. Wrong column counts are refused."""
    rows: list[tuple[int, dict[str, str]]] = []
    header: list[str] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t")
        if header is None:
            header = cells
            missing = [c for c in columns if c not in header]
            if missing:
                raise KbFileError(name, number, f"header lacks column(s) {', '.join(missing)}")
            continue
        if len(cells) != len(header):
            raise KbFileError(
                name, number, f"{len(cells)} fields where the header has {len(header)}"
            )
        rows.append((number, dict(zip(header, cells, strict=True))))
    if header is None:
        raise KbFileError(name, 1, "the file is empty")
    return rows


def _read_text(folder: Path, name: str) -> str:
    path = folder / name
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise KbFileError(name, 0, "the file is missing") from exc
    try:
        if name.endswith(".gz"):
            raw = gzip.decompress(raw)
        return raw.decode("utf-8")
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise KbFileError(name, 0, f"cannot be read ({type(exc).__name__})") from exc


def _diseases(folder: Path, lineage_of: OncoTreeLineage) -> tuple[DiseaseMap, ...]:
    name = "diseases.tsv"
    out: list[DiseaseMap] = []
    seen: set[tuple[str, str]] = set()
    for number, row in _tsv_rows(
        name, _read_text(folder, name), ("source", "name", "oncotree_code")
    ):
        source, disease, code = row["source"], row["name"].strip(), row["oncotree_code"].strip()
        if source not in {"civic", "oncoref"}:
            raise KbFileError(name, number, f"source must be civic or oncoref, not “{source}”")
        if (source, disease.lower()) in seen:
            raise KbFileError(name, number, f"“{disease}” is mapped twice")
        seen.add((source, disease.lower()))
        lineage: tuple[str, ...] = ()
        if code and code != "*":
            found = lineage_of(code)
            if found is None:
                raise KbFileError(name, number, f"“{code}” is not an OncoTree code")
            lineage = found
        out.append(DiseaseMap(source=source, name=disease, oncotree_code=code, lineage=lineage))
    return tuple(out)


def diseases_read(folder: Path, *, lineage_of: OncoTreeLineage) -> tuple[DiseaseMap, ...]:
    """Only ``diseases.tsv``: CIViC and oncoref disease names with their OncoTree codes."""
    return _diseases(folder, lineage_of)


# --------------------------------------------------------------------------------- evidence


def _civic(folder: Path, index: dict[str, Drug]) -> tuple[EvidenceItem, ...]:
    name = "civic_predictive.tsv.gz"
    columns = (
        "evidence_id",
        "gene",
        "variant",
        "disease",
        "drugs",
        "drug_interaction_type",
        "evidence_direction",
        "evidence_level",
        "clinical_significance",
        "citation_id",
        "source_type",
        "rating",
    )
    items = []
    for number, row in _tsv_rows(name, _read_text(folder, name), columns):
        if not row["evidence_id"].isdigit():
            raise KbFileError(name, number, f"evidence id “{row['evidence_id']}” is not a number")
        if row["evidence_level"] not in CIVIC_LEVELS:
            raise KbFileError(name, number, f"level “{row['evidence_level']}” is not A-E")
        if row["evidence_direction"] not in {"Supports", "Does Not Support"}:
            raise KbFileError(name, number, f"direction “{row['evidence_direction']}” unknown")
        if not row["gene"] or not row["drugs"]:
            raise KbFileError(name, number, "gene and drugs are required")
        known, unknown = normalise_drug_names(row["drugs"], index)
        pmid = row["citation_id"] if row["source_type"] == "PubMed" else ""
        items.append(
            EvidenceItem(
                source="civic",
                item_id=f"EID{row['evidence_id']}",
                gene=row["gene"].upper(),
                variant=row["variant"],
                disease=row["disease"],
                drugs=known + unknown,
                unknown_drugs=unknown,
                interaction=row["drug_interaction_type"],
                level=row["evidence_level"],
                direction=row["evidence_direction"],
                significance=row["clinical_significance"],
                pmids=(pmid,) if pmid else (),
                rating=row["rating"],
                source_line=number,
            )
        )
    return tuple(items)


def _oncoref(folder: Path, index: dict[str, Drug]) -> tuple[EvidenceItem, ...]:
    name = "oncoref_agents.tsv"
    columns = ("cancer_code", "symbol", "agent", "phase", "line_of_therapy", "source")
    items = []
    for number, row in _tsv_rows(name, _read_text(folder, name), columns):
        if row["phase"] not in ONCOREF_PHASES:
            raise KbFileError(name, number, f"phase “{row['phase']}” unknown")
        if not row["agent"] or not row["symbol"]:
            raise KbFileError(name, number, "symbol and agent are required")
        # "dabrafenib + trametinib" is one combination option.
        known, unknown = normalise_drug_names(row["agent"].replace(" + ", ","), index)
        source = row["source"]
        pmids = (source.removeprefix("PMID:"),) if source.startswith("PMID:") else ()
        items.append(
            EvidenceItem(
                source="oncoref",
                item_id=f"oncoref:{row['cancer_code']}:{row['symbol']}:{number}",
                gene=row["symbol"].upper(),
                variant="",
                disease=row["cancer_code"],
                drugs=known + unknown,
                unknown_drugs=unknown,
                interaction="Combination" if " + " in row["agent"] else "",
                level=row["phase"],
                direction="Supports",
                significance=row.get("indication", ""),
                pmids=pmids,
                line=row["line_of_therapy"],
                source_line=number,
            )
        )
    return tuple(items)


# ------------------------------------------------------------------------------------ rules


def _guideline(file: str, entry: dict[str, Any]) -> Guideline:
    value = entry.get("guideline")
    if not isinstance(value, dict):
        raise KbFileError(
            file, _line(entry), "every rule cites its guideline (name, version, section)"
        )
    return Guideline(
        name=_text(file, value, "name"),
        version=_text(file, value, "version"),
        section=_text(file, value, "section"),
    )


def _condition(file: str, condition: Any, line: int) -> None:
    if not isinstance(condition, dict):
        raise KbFileError(file, line, "a condition must be a mapping")
    line = _line(condition) or line
    _unknown_keys(file, condition, CONDITION_KEYS)
    if "any" in condition:
        for inner in _list(file, condition, "any", required=True):
            _condition(file, inner, line)
        return
    if "biomarker" in condition:
        if condition["biomarker"] not in BIOMARKERS:
            raise KbFileError(file, line, f"unknown biomarker “{condition['biomarker']}”")
        _list(file, condition, "status", required=True)
        return
    if not condition.get("gene"):
        raise KbFileError(file, line, "a condition names a gene, a biomarker or “any”")
    if condition.get("kind") and condition["kind"] not in CONDITION_KINDS:
        raise KbFileError(file, line, f"unknown kind “{condition['kind']}”")
    for variant in _list(file, condition, "variants"):
        if not _PROTEIN.match(str(variant)):
            raise KbFileError(file, line, f"“{variant}” is not a protein change like V600E")
    span = condition.get("deletion_in")
    if span is not None and (
        not isinstance(span, list) or len(span) != 2 or not all(isinstance(v, int) for v in span)
    ):
        raise KbFileError(file, line, "deletion_in is [first residue, last residue]")


def _diseases_known(
    file: str, entry: dict[str, Any], lineage_of: OncoTreeLineage
) -> tuple[str, ...]:
    codes = tuple(str(c) for c in _list(file, entry, "disease", required=True))
    for code in codes:
        if lineage_of(code) is None:
            raise KbFileError(file, _line(entry), f"“{code}” is not an OncoTree code")
    return codes


def _drugs_known(file: str, entry: dict[str, Any], key: str, names: set[str]) -> tuple[str, ...]:
    drugs = tuple(str(d).lower() for d in _list(file, entry, key))
    missing = [d for d in drugs if d not in names]
    if missing:
        raise KbFileError(file, _line(entry), f"drug(s) not in drugs.yaml: {', '.join(missing)}")
    return drugs


def _standard(
    folder: Path, lineage_of: OncoTreeLineage, drugs: tuple[Drug, ...]
) -> tuple[tuple[StandardRule, ...], tuple[ResistanceRule, ...], str]:
    doc = _yaml(folder, "standard_of_care.yaml")
    file = doc.name
    names = {drug.name for drug in drugs}
    classes = {c for drug in drugs for c in drug.classes}
    rules: list[StandardRule] = []
    ids: set[str] = set()
    for entry in _list(file, doc.data, "rules", required=True):
        _unknown_keys(
            file,
            entry,
            {
                "id",
                "disease",
                "option",
                "requires",
                "absent",
                "stages",
                "lines",
                "min_line",
                "guideline",
                "pmids",
            },
        )
        rule_id = _text(file, entry, "id")
        if rule_id in ids:
            raise KbFileError(file, _line(entry), f"rule id “{rule_id}” is used twice")
        ids.add(rule_id)
        option = entry.get("option")
        if not isinstance(option, dict):
            raise KbFileError(file, _line(entry), "“option” (label and drugs) is missing")
        for condition in [*_list(file, entry, "requires"), *_list(file, entry, "absent")]:
            _condition(file, condition, _line(entry))
        stages = tuple(str(s) for s in _list(file, entry, "stages"))
        if any(s not in {"0", "I", "II", "III", "IV"} for s in stages):
            raise KbFileError(file, _line(entry), "stages are 0, I, II, III or IV")
        rules.append(
            StandardRule(
                rule_id=rule_id,
                diseases=_diseases_known(file, entry, lineage_of),
                label=_text(file, option, "label"),
                drugs=_drugs_known(file, option, "drugs", names),
                requires=tuple(_strip(c) for c in _list(file, entry, "requires")),
                absent=tuple(_strip(c) for c in _list(file, entry, "absent")),
                stages=stages,
                lines=tuple(int(n) for n in _list(file, entry, "lines")),
                min_line=int(entry.get("min_line", 0) or 0),
                guideline=_guideline(file, entry),
                pmids=tuple(str(p) for p in _list(file, entry, "pmids", required=True)),
                source_line=_line(entry),
            )
        )
    resistance: list[ResistanceRule] = []
    for entry in _list(file, doc.data, "resistance"):
        _unknown_keys(
            file,
            entry,
            {
                "id",
                "disease",
                "markers",
                "drugs",
                "drug_classes",
                "statement",
                "guideline",
                "pmids",
            },
        )
        rule_id = _text(file, entry, "id")
        if rule_id in ids:
            raise KbFileError(file, _line(entry), f"rule id “{rule_id}” is used twice")
        ids.add(rule_id)
        _condition(file, entry.get("markers"), _line(entry))
        wanted = tuple(str(c) for c in _list(file, entry, "drug_classes"))
        if any(c not in classes for c in wanted):
            raise KbFileError(file, _line(entry), "a drug class is not used in drugs.yaml")
        listed = _drugs_known(file, entry, "drugs", names)
        if not wanted and not listed:
            raise KbFileError(file, _line(entry), "name the drugs or drug classes affected")
        resistance.append(
            ResistanceRule(
                rule_id=rule_id,
                diseases=_diseases_known(file, entry, lineage_of),
                markers=_strip(entry["markers"]),
                drugs=listed,
                drug_classes=wanted,
                statement=_text(file, entry, "statement"),
                guideline=_guideline(file, entry),
                pmids=tuple(str(p) for p in _list(file, entry, "pmids", required=True)),
                source_line=_line(entry),
            )
        )
    return tuple(rules), tuple(resistance), str(doc.data["version"])


def _safety(folder: Path, drugs: tuple[Drug, ...]) -> tuple[tuple[SafetyRule, ...], int, str]:
    doc = _yaml(folder, "safety_rules.yaml")
    file = doc.name
    names = {drug.name for drug in drugs}
    classes = {c for drug in drugs for c in drug.classes}
    rules: list[SafetyRule] = []
    ids: set[str] = set()
    for entry in _list(file, doc.data, "rules", required=True):
        _unknown_keys(file, entry, {"id", "applies_to", "check", "verdict", "source"})
        rule_id = _text(file, entry, "id")
        if rule_id in ids:
            raise KbFileError(file, _line(entry), f"rule id “{rule_id}” is used twice")
        ids.add(rule_id)
        applies = entry.get("applies_to")
        if not isinstance(applies, dict):
            raise KbFileError(file, _line(entry), "“applies_to” is missing")
        wanted = tuple(str(c) for c in _list(file, applies, "classes"))
        if any(c not in classes for c in wanted):
            raise KbFileError(file, _line(entry), "a drug class is not used in drugs.yaml")
        listed = _drugs_known(file, applies, "drugs", names)
        if not (applies.get("all") is True or wanted or listed):
            raise KbFileError(file, _line(entry), "applies_to needs all, classes or drugs")
        check = entry.get("check")
        if not isinstance(check, dict) or check.get("kind") not in CHECK_KINDS:
            raise KbFileError(
                file, _line(entry), f"check kind must be one of {', '.join(sorted(CHECK_KINDS))}"
            )
        _unknown_keys(file, check, CHECK_KINDS[check["kind"]])
        if check["kind"] == "lab":
            _text(file, check, "lab")
            _text(file, check, "unit")
            limits = [
                k
                for k in ("block_below", "caution_below", "block_above", "caution_above")
                if k in check
            ]
            if not limits:
                raise KbFileError(file, _line(entry), "a lab check needs at least one limit")
            for key in limits:
                if not isinstance(check[key], int | float):
                    raise KbFileError(file, _line(entry), f"{key} must be a number")
        if check["kind"] in {"comorbidity", "comedication"}:
            _list(file, check, "match", required=True)
        verdict = entry.get("verdict")
        if verdict not in {"blocked", "caution"}:
            raise KbFileError(file, _line(entry), "verdict must be blocked or caution")
        rules.append(
            SafetyRule(
                rule_id=rule_id,
                applies_all=applies.get("all") is True,
                applies_classes=wanted,
                applies_drugs=listed,
                check=_strip(check),
                verdict=cast(SafetyState, verdict),
                source=_text(file, entry, "source"),
                source_line=_line(entry),
            )
        )
    max_age = doc.data.get("max_lab_age_days", 30)
    if not isinstance(max_age, int) or max_age <= 0:
        raise KbFileError(file, 1, "max_lab_age_days must be a positive whole number")
    return tuple(rules), max_age, str(doc.data["version"])


# ------------------------------------------------------------------------------------- all


def kb_content_hash(folder: Path) -> tuple[str, tuple[tuple[str, str], ...]]:
    """SHA-256 over the reader's version and every file (name and bytes, in a fixed order), and
    each file's own hash. The reader's version is part of it so that the same files read by a
    changed reader load as a new version instead of re-activating the old rows."""
    total = hashlib.sha256(f"reader {READER_VERSION}\0".encode())
    per_file = []
    for name in KB_FILES:
        path = folder / name
        data = path.read_bytes() if path.is_file() else b""
        total.update(name.encode() + b"\0" + data + b"\0")
        per_file.append((name, hashlib.sha256(data).hexdigest()))
    return total.hexdigest(), tuple(per_file)


def kb_read(folder: Path, *, version: str, lineage_of: OncoTreeLineage) -> KnowledgeBase:
    """Parse and validate every file of ``folder``.

    Args:
        folder: the knowledge-base folder (``oncology_ui/therapies/kb`` when shipped).
        version: the version label this content will carry.
        lineage_of: OncoTree code -> the code and its ancestors, or None when not a code.

    Raises:
        KbFileError: the first problem found, with file and line.
    """
    drugs, regimens, drugs_version = _drugs(folder)
    index = _drug_index(drugs)
    diseases = _diseases(folder, lineage_of)
    evidence = _civic(folder, index) + _oncoref(folder, index)
    standard, resistance, soc_version = _standard(folder, lineage_of, drugs)
    safety, max_age, safety_version = _safety(folder, drugs)
    _, hashes = kb_content_hash(folder)
    versions = dict(hashes)
    versions.update(
        {
            "drugs.yaml": drugs_version,
            "standard_of_care.yaml": soc_version,
            "safety_rules.yaml": safety_version,
        }
    )
    return KnowledgeBase(
        version=version,
        drugs=drugs,
        regimens=regimens,
        diseases=diseases,
        evidence=evidence,
        standard_rules=standard,
        resistance_rules=resistance,
        safety_rules=safety,
        max_lab_age_days=max_age,
        file_versions=tuple(sorted(versions.items())),
    )


__all__ = [
    "KB_FILES",
    "KbFileError",
    "diseases_read",
    "drug_base_name",
    "io",
    "kb_content_hash",
    "kb_read",
    "normalise_drug_names",
]
