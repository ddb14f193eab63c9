"""Rebuild the compact vocabulary extracts shipped in ``oncology_ui/clinical/vocab/``.

The app never reads ``../shared/data`` or the ``oncoref`` package at run time: this command is
run by a developer when a source is updated, and its output is committed with ATTRIBUTION.md.

1. ``tumour_marker_loinc.tsv``: the mCODE tumour-marker LOINC value set (CC0, LOINC notice).
2. ``gene_synonyms.tsv.gz`` and ``oncoref_key_genes.tsv``: NCBI symbol/synonym table and the
   biomarker -> agent rows from ``oncoref`` (Apache-2.0), when the package is installed.

The CIViC extract is the therapy knowledge base's (``scripts/build_therapy_kb.py``): one file
for the molecular table and the therapy ranking.
"""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from oncology_ui.clinical.parsers import VOCAB_DIR

ONCOREF_COLUMNS = (
    "cancer_code",
    "subtype",
    "symbol",
    "role",
    "agent",
    "agent_class",
    "phase",
    "line_of_therapy",
    "indication",
    "rationale",
    "source",
)


class Command(BaseCommand):
    help = "Rebuild the clinical vocabulary extracts from ../shared/data and oncoref."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--shared", default="../shared/data", help="the shared data folder")
        parser.add_argument("--out", default=str(VOCAB_DIR), help="where to write the extracts")

    def handle(self, *args: Any, **options: Any) -> None:
        shared = Path(options["shared"])
        out = Path(options["out"])
        if not shared.is_dir():
            raise CommandError(f"{shared} is not a folder; pass --shared")
        out.mkdir(parents=True, exist_ok=True)
        self._tumour_markers(shared / "lab-loinc-reference", out)
        self._oncoref(out)

    def _tumour_markers(self, folder: Path, out: Path) -> None:
        valueset = json.loads(
            (folder / "ValueSet-mcode-tumor-marker-test-vs.json").read_text(encoding="utf-8")
        )
        concepts = [
            (concept["code"], concept.get("display", ""))
            for include in valueset["compose"]["include"]
            for concept in include.get("concept", [])
        ]
        with (out / "tumour_marker_loinc.tsv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
            writer.writerow(("loinc", "display"))
            writer.writerows(sorted(concepts))
        self.stdout.write(f"tumour_marker_loinc.tsv: {len(concepts)} codes")

    def _oncoref(self, out: Path) -> None:
        try:
            import oncoref
        except ImportError:
            self.stdout.write("oncoref is not installed: gene tables left as they are")
            return
        data = Path(oncoref.__file__).parent / "data"
        with gzip.open(data / "ncbi-symbol-synonyms.csv.gz", "rt", encoding="utf-8") as handle:
            synonyms = list(csv.reader(handle))[1:]
        with gzip.open(data / "ncbi-entrez-gene-mappings.csv.gz", "rt", encoding="utf-8") as handle:
            officials = sorted({row["canonical_symbol"] for row in csv.DictReader(handle)} - {""})
        # Official symbols map to themselves so "is this a current symbol" needs one table.
        synonyms = [[symbol, symbol] for symbol in officials] + synonyms
        # mtime=0 keeps the gzip byte-identical between rebuilds.
        with (
            open(out / "gene_synonyms.tsv.gz", "wb") as raw,
            gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as zipped,
        ):
            zipped.write(b"alias\tofficial_symbol\n")
            for alias, official in synonyms:
                zipped.write(f"{alias}\t{official}\n".encode())
        with (data / "cancer-key-genes.csv").open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        with (out / "oncoref_key_genes.tsv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
            writer.writerow(ONCOREF_COLUMNS)
            for row in rows:
                writer.writerow(
                    [row.get(c, "").replace("\t", " ").replace("\n", " ") for c in ONCOREF_COLUMNS]
                )
        version = getattr(oncoref, "__version__", "?")
        self.stdout.write(
            f"gene_synonyms.tsv.gz: {len(synonyms)} aliases; oncoref_key_genes.tsv: {len(rows)} "
            f"rows (oncoref {version})"
        )
