"""Loading the shipped knowledge base into its versioned tables, and reading the active one."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from inference.therapy import types as t
from inference.therapy.kbevidence import CIVIC_FILE
from inference.therapy.kbfiles import kb_content_hash, kb_read
from oncology_ui.patients.vocabularies import oncotree_lineage
from oncology_ui.therapies import KB_DIR, models

logger = logging.getLogger(__name__)

NO_KB = "not available"  # the report prints "Knowledge base not available"


@dataclass(frozen=True)
class LoadReport:
    kb: models.KnowledgeBase
    created: bool  # False: the same content was already loaded and is now active again


def _entries(kb_row: models.KnowledgeBase, kb: t.KnowledgeBase) -> list[models.KbEntry]:
    K = models.KbEntry.Kind
    rows: list[models.KbEntry] = []

    def add(kind: str, key: str, file: str, line: int, value: Any, gene: str = "") -> None:
        rows.append(
            models.KbEntry(
                kb=kb_row,
                kind=kind,
                key=key[:200],
                gene=gene[:40],
                source_file=file,
                source_line=line,
                payload=asdict(value),
            )
        )

    for drug in kb.drugs:
        add(K.DRUG, drug.name, "drugs.yaml", 0, drug)
    for regimen in kb.regimens:
        add(K.REGIMEN, regimen.name, "drugs.yaml", 0, regimen)
    for disease in kb.diseases:
        add(K.DISEASE, f"{disease.source}:{disease.name}", "diseases.tsv", 0, disease)
    for item in kb.evidence:
        file = CIVIC_FILE if item.source == "civic" else "oncoref_agents.tsv"
        add(K.EVIDENCE, item.item_id, file, item.source_line, item, gene=item.gene)
    for rule in kb.standard_rules:
        add(K.STANDARD, rule.rule_id, "standard_of_care.yaml", rule.source_line, rule)
    for resistance in kb.resistance_rules:
        add(
            K.RESISTANCE,
            resistance.rule_id,
            "standard_of_care.yaml",
            resistance.source_line,
            resistance,
        )
    for safety in kb.safety_rules:
        add(K.SAFETY, safety.rule_id, "safety_rules.yaml", safety.source_line, safety)
    return rows


def kb_load(*, folder: Path = KB_DIR) -> LoadReport:
    """Validate every file, then store and activate the new version in one transaction.

    1. Hash the files; the same content already loaded is simply made active again.
    2. Parse and validate everything (:class:`KbFileError` names the file and line; nothing is
       written, the previous version stays active).
    3. Write the version and its entries, deactivate the previous one, activate this one.
    """
    digest, _ = kb_content_hash(folder)
    existing = models.KnowledgeBase.objects.filter(content_sha256=digest).first()
    if existing is not None:
        with transaction.atomic():
            models.KnowledgeBase.objects.filter(is_active=True).exclude(pk=existing.pk).update(
                is_active=False
            )
            if not existing.is_active:
                existing.is_active = True
                existing.save(update_fields=["is_active"])
        return LoadReport(existing, created=False)
    version = f"{timezone.localdate():%Y-%m-%d}+{digest[:12]}"
    content = kb_read(folder, version=version, lineage_of=oncotree_lineage)
    counts = {
        "drugs": len(content.drugs),
        "diseases": len(content.diseases),
        "civic_items": sum(1 for e in content.evidence if e.source == "civic"),
        "oncoref_rows": sum(1 for e in content.evidence if e.source == "oncoref"),
        "standard_rules": len(content.standard_rules),
        "resistance_rules": len(content.resistance_rules),
        "safety_rules": len(content.safety_rules),
    }
    with transaction.atomic():
        models.KnowledgeBase.objects.filter(is_active=True).update(is_active=False)
        row = models.KnowledgeBase.objects.create(
            version=version,
            content_sha256=digest,
            file_versions=dict(content.file_versions),
            counts=counts,
            is_active=True,
            max_lab_age_days=content.max_lab_age_days,
        )
        models.KbEntry.objects.bulk_create(_entries(row, content), batch_size=1000)
    _CACHE.pop(row.pk, None)
    logger.info("therapy knowledge base %s loaded: %s", version, counts)
    return LoadReport(row, created=True)


def kb_active() -> models.KnowledgeBase | None:
    return models.KnowledgeBase.objects.filter(is_active=True).first()


def kb_active_version() -> str:
    """For the report's header: the active knowledge-base version, or "not loaded"."""
    row = kb_active()
    return row.version if row else NO_KB


# ------------------------------------------------------------------- rows -> engine content

_CACHE: dict[int, t.KnowledgeBase] = {}
_CACHE_SIZE = 4


def _tuples(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in payload.items()}


def _with_guideline(payload: dict[str, Any]) -> dict[str, Any]:
    values = _tuples(payload)
    values["guideline"] = t.Guideline(**payload["guideline"])
    return values


def kb_content(row: models.KnowledgeBase) -> t.KnowledgeBase:
    """The engine's view of a stored version (read once per process; versions never change)."""
    cached = _CACHE.get(row.pk)
    if cached is not None:
        return cached
    K = models.KbEntry.Kind
    parts: dict[str, list[Any]] = {kind: [] for kind in K.values}
    for kind, payload in row.entries.order_by("id").values_list("kind", "payload"):
        parts[kind].append(payload)
    content = t.KnowledgeBase(
        version=row.version,
        drugs=tuple(t.Drug(**_tuples(p)) for p in parts[K.DRUG]),
        regimens=tuple(t.Regimen(**_tuples(p)) for p in parts[K.REGIMEN]),
        diseases=tuple(t.DiseaseMap(**_tuples(p)) for p in parts[K.DISEASE]),
        evidence=tuple(t.EvidenceItem(**_tuples(p)) for p in parts[K.EVIDENCE]),
        standard_rules=tuple(t.StandardRule(**_with_guideline(p)) for p in parts[K.STANDARD]),
        resistance_rules=tuple(t.ResistanceRule(**_with_guideline(p)) for p in parts[K.RESISTANCE]),
        safety_rules=tuple(t.SafetyRule(**_tuples(p)) for p in parts[K.SAFETY]),
        max_lab_age_days=row.max_lab_age_days,
        file_versions=tuple(sorted(row.file_versions.items())),
    )
    _CACHE[row.pk] = content
    for stale in sorted(_CACHE)[:-_CACHE_SIZE]:
        del _CACHE[stale]  # versions only grow; keep the latest few in memory
    return content
