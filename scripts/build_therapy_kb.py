"""Rebuild the therapy knowledge-base extracts in ``oncology_ui/therapies/kb/``.

Run by a person when a source is updated, never by the app: OncoBoard reads only the shipped
extracts at run time (no network, no ``../shared/data``).

1. ``civic_evidence.tsv.gz``: CIViC 01-Aug-2021 accepted predictive, prognostic and diagnostic
   evidence items (CC0), without the free-text statements. The one CIViC extract of the app: the
   therapy ranking reads its predictive items that name a therapy, the molecular table all of them.
2. ``oncoref_agents.tsv``: ``oncoref`` (Apache-2.0) ``cancer-key-genes.csv`` rows that name an
   agent (target gene -> agent, phase, line of therapy, PubMed id).

Usage: ``python scripts/build_therapy_kb.py --shared ../shared/data``
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import sys
from pathlib import Path

KB_DIR = Path(__file__).resolve().parent.parent / "oncology_ui" / "therapies" / "kb"
CIVIC_FILE = "civic-2021-08-01/01-Aug-2021-ClinicalEvidenceSummaries.tsv"
CIVIC_RELEASE = "CIViC 01-Aug-2021"
CIVIC_TYPES = ("Predictive", "Prognostic", "Diagnostic")
CIVIC_COLUMNS = (
    "evidence_id",
    "gene",
    "entrez_id",
    "variant",
    "variant_id",
    "disease",
    "doid",
    "drugs",
    "drug_interaction_type",
    "evidence_type",
    "evidence_direction",
    "evidence_level",
    "clinical_significance",
    "citation_id",
    "source_type",
    "rating",
    "variant_origin",
)
ONCOREF_COLUMNS = (
    "cancer_code",
    "symbol",
    "agent",
    "agent_class",
    "phase",
    "line_of_therapy",
    "indication",
    "source",
)


def _clean(value: str) -> str:
    return value.replace("\t", " ").replace("\n", " ").strip()


def build_civic(shared: Path, out: Path) -> int:
    path = shared / CIVIC_FILE
    with path.open(encoding="utf-8", newline="") as handle:
        rows = [
            row
            for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
            if row["evidence_type"] in CIVIC_TYPES and row["evidence_status"] == "accepted"
        ]
    rows.sort(key=lambda row: int(row["evidence_id"]))
    buffer = io.StringIO()
    # The version line is read by the knowledge-base loader and shown with the evidence.
    buffer.write(f"# version: {CIVIC_RELEASE}\n")
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_NONE)
    writer.writerow(CIVIC_COLUMNS)
    for row in rows:
        writer.writerow([_clean(row[column]) for column in CIVIC_COLUMNS])
    # mtime=0: the same source gives a byte-identical file, so the KB content hash is stable.
    with (
        open(out / "civic_evidence.tsv.gz", "wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as zipped,
    ):
        zipped.write(buffer.getvalue().encode("utf-8"))
    return len(rows)


def build_oncoref(out: Path) -> int:
    import oncoref

    data = Path(oncoref.__file__).parent / "data" / "cancer-key-genes.csv"
    with data.open(encoding="utf-8", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row.get("agent", "").strip()]
    with (out / "oncoref_agents.tsv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_NONE)
        writer.writerow(ONCOREF_COLUMNS)
        for row in rows:
            writer.writerow([_clean(row.get(column, "")) for column in ONCOREF_COLUMNS])
    return len(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=KB_DIR)
    args = parser.parse_args(argv)
    civic = build_civic(args.shared, args.out)
    try:
        oncoref_rows = build_oncoref(args.out)
    except ImportError:
        sys.stderr.write("oncoref is not installed: oncoref_agents.tsv left as it is\n")
        oncoref_rows = -1
    sys.stdout.write(f"civic_evidence.tsv.gz: {civic} items; oncoref_agents.tsv: {oncoref_rows}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
