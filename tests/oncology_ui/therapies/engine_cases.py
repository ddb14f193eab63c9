"""Patient states for the engine tests: plain dataclasses, no database."""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache
from pathlib import Path

from inference.therapy import types as t
from inference.therapy.kbfiles import kb_read

TODAY = date(2026, 11, 20)
KB_DIR = Path(__file__).resolve().parents[3] / "oncology_ui" / "therapies" / "kb"


def lineage(code: str) -> tuple[str, ...] | None:
    from oncology_ui.patients.vocabularies import oncotree_lineage

    return oncotree_lineage(code)


@cache
def shipped_kb() -> t.KnowledgeBase:
    """The shipped files, read once per test session (they never change during a run)."""
    return kb_read(KB_DIR, version="test", lineage_of=lineage)


def mutation(gene: str, change: str, *, position: int | None = None) -> t.Finding:
    digits = "".join(c for c in change if c.isdigit()) if position is None else str(position)
    codon = change[0] + digits.split("_")[0] if change[0].isalpha() and digits else ""
    deletion = "DEL" in change.upper() and "FS" not in change.upper()
    first = int("".join(c for c in change.split("_")[0] if c.isdigit()) or 0)
    return t.Finding(
        gene=gene,
        kind="mutation",
        label=f"p.{change}",
        protein_key=change.upper(),
        codon="" if deletion else codon,
        position=first or None,
        is_deletion=deletion,
        truncating="*" in change or "fs" in change,
    )


def fusion(gene: str, partner: str) -> t.Finding:
    return t.Finding(
        gene=gene, kind="fusion", label=f"{partner}::{gene} fusion", partner_gene=partner
    )


def amplification(gene: str) -> t.Finding:
    return t.Finding(gene=gene, kind="copy_number", label="amplification", copy_number_level=2)


def fine_labs(day: date = TODAY) -> tuple[t.LabValue, ...]:
    return (
        t.LabValue("neutrophils", "Neutrophils", 4.0, "10*9/L", day),
        t.LabValue("platelets", "Platelets", 250, "10*9/L", day),
        t.LabValue("hemoglobin", "Haemoglobin", 130, "g/L", day),
        t.LabValue("crcl_cg", "CrCl", 90, "mL/min", day),
        t.LabValue("bilirubin", "Bilirubin", 10, "umol/L", day, ref_high=21),
        t.LabValue("ast", "AST", 25, "U/L", day, ref_high=40),
        t.LabValue("alt", "ALT", 25, "U/L", day, ref_high=40),
    )


def state(
    code: str,
    *,
    stage: str = "IV",
    findings: tuple[t.Finding, ...] = (),
    tested: tuple[str, ...] = (),
    biomarkers: tuple[tuple[str, str], ...] = (),
    prior: tuple[t.PriorLine, ...] = (),
    sex: str = "male",
    age: int = 63,
) -> t.PatientState:
    genes = {f.gene for f in findings} | {f.partner_gene for f in findings if f.partner_gene}
    return t.PatientState(
        today=TODAY,
        oncotree_code=code,
        lineage=lineage(code) or (),
        stage_group=stage,
        sex=sex,
        age=age,
        findings=findings,
        tested_genes=frozenset(genes | set(tested)),
        biomarkers=biomarkers,
        labs=fine_labs(),
        ecog=1,
        ecog_on=TODAY - timedelta(days=7),
        prior_lines=prior,
        conditions=(t.DatedText("Essential hypertension", date(2019, 1, 1)),),
        medications=(t.DatedText("amlodipine", date(2019, 1, 1)),),
        pregnant=None,
        liver_metastases=False,
    )


def prior_line(regimen: str, drugs: tuple[str, ...], *, stop: str = "progression") -> t.PriorLine:
    return t.PriorLine(
        regimen=regimen,
        drugs=drugs,
        unknown_words=(),
        line_number=1,
        started=date(2025, 1, 10),
        ended=date(2025, 9, 1),
        stop_reason=stop,
    )
