"""The molecular table and the therapy ranking read one CIViC extract through one matcher.

Variants go through the real importer (annotated for the table) and the real ranking service;
every CIViC item the ranking weighs for them is in the table with the same match kind, every
item that must propose an option in the ranking does, and both name the same knowledge base.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import RequestFactory

from inference.therapy.kbevidence import CIVIC_FILE
from oncology_ui.casepage.composition import molecular_with_knowledge_base
from oncology_ui.clinical.diseases import civic_disease_relation
from oncology_ui.clinical.models import ClinicalImport, Variant
from oncology_ui.clinical.selectors import molecular_view
from oncology_ui.patients.models import Case
from oncology_ui.therapies import services
from oncology_ui.therapies.models import KnowledgeBase
from oncology_ui.therapies.selectors import therapies_section
from tests.factories import CaseFactory
from tests.oncology_ui.clinical.conftest import run_import
from tests.oncology_ui.conftest import Cast

pytestmark = pytest.mark.django_db
PANEL = (
    b"kind,gene,protein_change,copy_number\n"
    b"mutation,BRAF,p.Val600Glu,\n"
    b"mutation,EGFR,p.Leu858Arg,\n"
    b"mutation,EGFR,p.Glu746_Ala750del,\n"
    b"mutation,KRAS,p.Gly12Cys,\n"
    b"amplification,ERBB2,,12\n"
)
#: The actionability badge of each variant: the best predictive CIViC level matched beyond
#: the gene (the exon 19 deletion by its residue span, as the ranking matches it).
BEST_LEVELS = {
    "BRAF p.V600E": "A",
    "EGFR p.L858R": "A",
    "EGFR p.E746_A750del": "A",
    "KRAS p.G12C": "B",
    "ERBB2 amplification (12 copies)": "A",
}


@pytest.fixture
def lung_case(cast: Cast, therapy_kb: KnowledgeBase) -> Case:
    case = CaseFactory.create(
        patient=cast.patient, oncotree_code="LUAD", icd10_code="C34.11", stage_group="IV"
    )
    record = run_import(case, PANEL, "panel.csv")
    assert record.status == ClinicalImport.Status.IMPORTED, record.problems
    return case


def _table_items(case: Case) -> dict[str, dict[str, Any]]:
    """The table's CIViC items by evidence id, with the variants they were found for."""
    items: dict[str, dict[str, Any]] = {}
    for variant in Variant.objects.filter(case=case).prefetch_related("evidence"):
        for e in variant.evidence.all():
            if e.source == "civic":
                entry = items.setdefault(
                    f"EID{e.evidence_id}", {"evidence": e, "variants": set(), "matches": set()}
                )
                entry["variants"].add(variant.label)
                entry["matches"].add(e.match)
    return items


def _ranking_refs(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        ref
        for ranked in result["options"]
        for ref in ranked["option"]["supporting"] + ranked["option"]["opposing"]
        if ref["source"] == "civic"
    ]


def test_the_table_shows_every_civic_item_the_ranking_weighs(lung_case: Case, cast: Cast) -> None:
    ranking = services.ranking_compute(case=lung_case, user=cast.oncologist)
    table = _table_items(lung_case)
    refs = _ranking_refs(ranking.result)
    assert refs, "the ranking weighs CIViC evidence for these variants"
    for ref in refs:
        assert ref["item_id"] in table, ref
        item = table[ref["item_id"]]
        assert ref["match"] in item["matches"], (ref, item["matches"])
        assert ref["level"] == item["evidence"].level


def test_every_item_that_proposes_an_option_in_the_table_does_so_in_the_ranking(
    lung_case: Case, cast: Cast
) -> None:
    ranking = services.ranking_compute(case=lung_case, user=cast.oncologist)
    supporting = {ref["item_id"] for ref in _ranking_refs(ranking.result)}
    relation = civic_disease_relation(lung_case.oncotree_code)
    proposing = [
        item_id
        for item_id, entry in _table_items(lung_case).items()
        if (e := entry["evidence"]).evidence_type == "Predictive"
        and e.direction == "Supports"
        and e.significance == "Sensitivity/Response"
        and e.drugs
        and entry["matches"] - {"gene"}
        and (rel := relation(e.disease)) != "unmapped"
        and (rel in {"same", "narrower", "pan-cancer"} or e.level in {"A", "B"})
    ]
    assert len(proposing) > 20
    assert set(proposing) <= supporting


def test_each_variant_has_its_expected_actionability_level(lung_case: Case) -> None:
    view = molecular_view(lung_case)
    levels = {
        f"{r['variant'].gene} {r['variant'].label}": r["variant"].best_level for r in view["rows"]
    }
    assert levels == BEST_LEVELS


def test_the_table_and_the_therapy_section_name_the_same_knowledge_base(
    lung_case: Case, cast: Cast, therapy_kb: KnowledgeBase
) -> None:
    ranking = services.ranking_compute(case=lung_case, user=cast.oncologist)
    request = RequestFactory().get("/")
    request.user = cast.oncologist
    section = therapies_section(request, lung_case)
    view = molecular_with_knowledge_base(request, lung_case)["molecular_view"]
    assert view["kb_version"] == section["therapy_kb_version"] == ranking.kb_version
    assert view["kb_version"] == therapy_kb.version
    assert view["civic_release"] == therapy_kb.file_versions[CIVIC_FILE] == "CIViC 01-Aug-2021"
