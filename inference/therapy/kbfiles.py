"""Reading and validating the shipped knowledge-base files, all or nothing.

:func:`kb_read` parses every file into one :class:`KnowledgeBase`; the first problem raises
:class:`KbFileError` naming the file and line, so a broken file is refused whole and the caller
keeps the previous version active.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from inference.therapy.kbdrugs import drug_index, drugs_read
from inference.therapy.kbevidence import CIVIC_FILE, civic_read, oncoref_read
from inference.therapy.kbformat import KbFileError, OncoTreeLineage, text_read, tsv_rows
from inference.therapy.kbrules import safety_read, standard_read
from inference.therapy.types import DiseaseMap, EvidenceItem, KnowledgeBase

KB_FILES = (
    "drugs.yaml",
    "diseases.tsv",
    CIVIC_FILE,
    "oncoref_agents.tsv",
    "standard_of_care.yaml",
    "safety_rules.yaml",
)
#: Bumped whenever reading the same files gives different content (2: salts and esters stripped
#: from drug names; 3: one CIViC extract with every evidence type, read for the molecular table
#: and the therapy ranking alike).
READER_VERSION = 3


def diseases_read(folder: Path, *, lineage_of: OncoTreeLineage) -> tuple[DiseaseMap, ...]:
    """Only ``diseases.tsv``: CIViC and oncoref disease names with their OncoTree codes."""
    name = "diseases.tsv"
    out: list[DiseaseMap] = []
    seen: set[tuple[str, str]] = set()
    for number, row in tsv_rows(name, text_read(folder, name), ("source", "name", "oncotree_code")):
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


def civic_evidence_read(folder: Path) -> tuple[tuple[EvidenceItem, ...], str]:
    """Only the CIViC extract (drug names normalised through ``drugs.yaml``) and its version:
    what the molecular table annotates with, read exactly as :func:`kb_read` reads it."""
    drugs, _, _ = drugs_read(folder)
    return civic_read(folder, drug_index(drugs))


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
    drugs, regimens, drugs_version = drugs_read(folder)
    index = drug_index(drugs)
    diseases = diseases_read(folder, lineage_of=lineage_of)
    civic, civic_version = civic_read(folder, index)
    evidence = civic + oncoref_read(folder, index)
    standard, resistance, soc_version = standard_read(folder, lineage_of, drugs)
    safety, max_age, safety_version = safety_read(folder, drugs)
    _, hashes = kb_content_hash(folder)
    versions = dict(hashes)
    versions.update(
        {
            "drugs.yaml": drugs_version,
            CIVIC_FILE: civic_version,
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
    "civic_evidence_read",
    "diseases_read",
    "kb_content_hash",
    "kb_read",
]
