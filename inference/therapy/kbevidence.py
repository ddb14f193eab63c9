"""The evidence extracts: CIViC evidence items and oncoref target gene -> agent rows."""

from __future__ import annotations

from pathlib import Path

from inference.therapy.kbdrugs import normalise_drug_names
from inference.therapy.kbformat import KbFileError, text_read, tsv_rows, tsv_version
from inference.therapy.types import Drug, EvidenceItem

#: The one CIViC extract: the therapy ranking and the molecular table both read it.
CIVIC_FILE = "civic_evidence.tsv.gz"
CIVIC_LEVELS = ("A", "B", "C", "D", "E")
CIVIC_TYPES = ("Predictive", "Prognostic", "Diagnostic")
ONCOREF_PHASES = (
    "approved",
    "phase_3",
    "phase_2",
    "phase_1",
    "early_clinical",
    "off_label",
    "preclinical",
)


def civic_read(folder: Path, index: dict[str, Drug]) -> tuple[tuple[EvidenceItem, ...], str]:
    """Every CIViC evidence item of the extract, and the release named in its version line.

    Predictive, prognostic and diagnostic items alike; predictive items may name no therapy
    (the ranking skips those, the molecular table shows them).
    """
    name = CIVIC_FILE
    columns = (
        "evidence_id",
        "gene",
        "variant",
        "disease",
        "drugs",
        "drug_interaction_type",
        "evidence_type",
        "evidence_direction",
        "evidence_level",
        "clinical_significance",
        "citation_id",
        "source_type",
        "rating",
    )
    text = text_read(folder, name)
    version = tsv_version(text)
    if not version:
        raise KbFileError(name, 1, "the file has no “# version: ...” line")
    items = []
    for number, row in tsv_rows(name, text, columns):
        if not row["evidence_id"].isdigit():
            raise KbFileError(name, number, f"evidence id “{row['evidence_id']}” is not a number")
        if row["evidence_level"] not in CIVIC_LEVELS:
            raise KbFileError(name, number, f"level “{row['evidence_level']}” is not A-E")
        if row["evidence_direction"] not in {"Supports", "Does Not Support"}:
            raise KbFileError(name, number, f"direction “{row['evidence_direction']}” unknown")
        if row["evidence_type"] not in CIVIC_TYPES:
            raise KbFileError(name, number, f"evidence type “{row['evidence_type']}” unknown")
        if not row["gene"]:
            raise KbFileError(name, number, "the gene is required")
        known, unknown = normalise_drug_names(row["drugs"], index)
        pubmed = row["source_type"] == "PubMed"
        pmid = row["citation_id"] if pubmed else ""
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
                evidence_type=row["evidence_type"],
                citation="" if pubmed else row["citation_id"],
            )
        )
    return tuple(items), version


def oncoref_read(folder: Path, index: dict[str, Drug]) -> tuple[EvidenceItem, ...]:
    name = "oncoref_agents.tsv"
    columns = ("cancer_code", "symbol", "agent", "phase", "line_of_therapy", "source")
    items = []
    for number, row in tsv_rows(name, text_read(folder, name), columns):
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
