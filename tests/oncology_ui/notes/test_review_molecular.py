"""Accepting variants and diagnoses read from a note: the importers' rows, seen by trial matching
and therapy ranking; rejected or family facts never reach them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from inference.trials.criteria import parse_criteria
from inference.trials.eligibility import evaluate_criterion
from inference.trials.schema import Verdict
from oncology_ui.clinical.models import ClinicalFact, Variant
from oncology_ui.notes import review
from oncology_ui.notes.models import ClinicalDocument
from oncology_ui.patients.models import Case
from oncology_ui.therapies import services as therapy_services
from oncology_ui.therapies.models import KnowledgeBase
from oncology_ui.trials.facts import case_facts
from tests.factories import CaseFactory
from tests.oncology_ui.conftest import Cast
from tests.oncology_ui.notes.conftest import proposal, read_note
from tests.oncology_ui.therapies.conftest import therapy_kb  # noqa: F401 (fixture)
from tests.oncology_ui.therapies.factories import fine_labs

pytestmark = pytest.mark.django_db
NOTE = (
    Path(__file__).resolve().parents[2] / "fixtures" / "notes" / "thoracic_molecular_note.txt"
).read_text()
NOTE_DAY = dt.date(2025, 1, 10)
SOURCE = "from Clinical note “Oncology clinic” of 2025-01-10, accepted by onco"
# "EGFR L858R mutation" is not used: the engine compares "L858R" with the row's "p.L858R" and
# says not met for imported variants too (reported to the trials owners).
ELIGIBILITY = """Inclusion Criteria:
- Documented EGFR mutation
- KRAS wild-type tumour
Exclusion Criteria:
- Known ALK rearrangement
- Germline BRCA1 mutation
"""


def _lung_case(cast: Cast) -> Case:
    return CaseFactory.create(
        patient=cast.patient,
        primary_diagnosis="Non-small cell lung cancer",
        oncotree_code="NSCLC",
        icd10_code="C34.11",
        stage_group="IVA",
        ecog=1,
        ecog_date=timezone.localdate() - dt.timedelta(days=3),
    )


def _verdict(case: Case, words: str) -> tuple[Verdict, tuple[str, ...]]:
    (criterion,) = [c for c in parse_criteria(ELIGIBILITY) if words in c.text]
    result = evaluate_criterion(criterion, case_facts(case, as_of=NOTE_DAY).facts)
    return result.verdict, tuple(e.source for e in result.evidence)


def _document(case: Case) -> ClinicalDocument:
    return read_note(case, NOTE, on=NOTE_DAY)


def test_an_accepted_variant_becomes_an_annotated_variant_row_with_provenance(
    cast: Cast,
) -> None:
    case = _lung_case(cast)
    document = _document(case)
    accepted = review.proposal_accept(
        proposal=proposal(document, "variant", "TP53 c.524G>A (p.R175H)"), user=cast.oncologist
    )
    variant = Variant.objects.get(case=case)
    assert accepted.result_ref == f"variant:{variant.pk}"
    assert (variant.gene, variant.kind, variant.origin) == ("TP53", "mutation", "somatic")
    assert (variant.protein_short, variant.protein_long) == ("p.R175H", "p.Arg175His")
    assert variant.hgvs_c == "c.524G>A" and variant.reported_on == NOTE_DAY
    assert variant.source_label == SOURCE
    assert variant.evidence.exists()  # annotated like an imported variant


def test_an_accepted_variant_decides_trial_criteria_and_a_rejected_one_never_does(
    cast: Cast,
) -> None:
    case = _lung_case(cast)
    document = _document(case)
    assert _verdict(case, "EGFR mutation")[0] == Verdict.UNKNOWN
    assert _verdict(case, "ALK")[0] == Verdict.UNKNOWN
    review.proposal_reject(
        proposal=proposal(document, "variant", "EGFR p.L858R"), user=cast.oncologist
    )
    review.proposal_reject(
        proposal=proposal(document, "variant", "ALK rearrangement"), user=cast.oncologist
    )
    assert _verdict(case, "EGFR mutation")[0] == Verdict.UNKNOWN
    assert _verdict(case, "ALK")[0] == Verdict.UNKNOWN
    assert not Variant.objects.filter(case=case).exists()

    again = read_note(case, "Repeat NGS: EGFR p.L858R detected.", on=NOTE_DAY)
    review.proposal_accept(
        proposal=proposal(again, "variant", "EGFR p.L858R"), user=cast.oncologist
    )
    verdict, sources = _verdict(case, "EGFR mutation")
    assert verdict == Verdict.MET and SOURCE in sources


def test_a_note_repeating_a_recorded_variant_points_at_that_row_instead_of_a_copy(
    cast: Cast,
) -> None:
    case = _lung_case(cast)
    first = read_note(case, "NGS: TP53 p.R175H detected.", on=NOTE_DAY)
    accepted = review.proposal_accept(
        proposal=proposal(first, "variant", "TP53 p.R175H"), user=cast.oncologist
    )
    (recorded,) = Variant.objects.filter(case=case)
    again = read_note(case, "Repeat NGS confirms TP53 p.(Arg175His).", on=NOTE_DAY)
    repeated = review.proposal_accept(
        proposal=proposal(again, "variant", "TP53 p.(Arg175His)"), user=cast.oncologist
    )
    assert Variant.objects.filter(case=case).count() == 1
    assert repeated.result_ref == accepted.result_ref == f"variant:{recorded.pk}"
    other = read_note(case, "A second clone: TP53 p.R248Q.", on=NOTE_DAY)
    review.proposal_accept(
        proposal=proposal(other, "variant", "TP53 p.R248Q"), user=cast.oncologist
    )
    assert Variant.objects.filter(case=case).count() == 2


def test_an_accepted_negated_variant_is_wild_type_for_matching(cast: Cast) -> None:
    case = _lung_case(cast)
    document = _document(case)
    review.proposal_accept(
        proposal=proposal(document, "variant", "KRAS wild-type"), user=cast.oncologist
    )
    review.proposal_accept(
        proposal=proposal(document, "variant", "ALK rearrangement"), user=cast.oncologist
    )
    facts = ClinicalFact.objects.filter(case=case, kind="genomic_region")
    assert sorted(f.detail["genes"][0] for f in facts) == ["ALK", "KRAS"]
    assert not Variant.objects.filter(case=case).exists()
    assert _verdict(case, "KRAS wild-type")[0] == Verdict.MET
    assert _verdict(case, "ALK")[0] == Verdict.NOT_MET  # the exclusion does not apply


def test_a_family_members_variant_never_becomes_the_patients(cast: Cast) -> None:
    case = _lung_case(cast)
    document = _document(case)
    family = proposal(document, "variant", "BRCA1 mutation")
    with pytest.raises(ValidationError, match="family member"):
        review.proposal_accept(proposal=family, user=cast.oncologist)
    result = review.document_accept_all(document=document, user=cast.oncologist)
    assert family.pk in {p.pk for p, _ in result.left}
    assert not Variant.objects.filter(case=case, gene="BRCA1").exists()
    assert _verdict(case, "Germline BRCA1")[0] != Verdict.MET
    # Accept-all took the current variants and wild-type results, not the planned T790M test.
    genes = set(Variant.objects.filter(case=case).values_list("gene", flat=True))
    assert genes == {"EGFR", "TP53", "MET"}
    assert not Variant.objects.filter(case=case, protein_short="p.T790M").exists()


def test_an_accepted_note_variant_changes_the_therapy_ranking(
    cast: Cast,
    therapy_kb: KnowledgeBase,  # noqa: F811 (fixture)
) -> None:
    case = _lung_case(cast)
    fine_labs(case)
    before = therapy_services.ranking_compute(case=case, user=cast.oncologist)
    assert "Osimertinib" not in before.option_labels[:1]
    document = _document(case)
    review.proposal_accept(
        proposal=proposal(document, "variant", "EGFR p.L858R"), user=cast.oncologist
    )
    after = therapy_services.ranking_compute(case=case, user=cast.oncologist)
    assert after.option_labels[0] == "Osimertinib"


def test_an_accepted_diagnosis_refines_the_case_code_and_keeps_a_coded_fact(cast: Cast) -> None:
    case = _lung_case(cast)
    document = _document(case)
    review.proposal_accept(
        proposal=proposal(document, "diagnosis", "Lung adenocarcinoma of the right upper lobe"),
        user=cast.oncologist,
    )
    case.refresh_from_db()
    assert case.oncotree_code == "LUAD"  # NSCLC refined to LUAD
    fact = ClinicalFact.objects.get(case=case, kind="primary_cancer")
    assert (fact.code_system, fact.code, fact.display) == (
        "OncoTree",
        "LUAD",
        "Lung Adenocarcinoma",
    )
    assert fact.detail["icd10"] == "C34.9" and fact.detail["body_site"] == "right"
    assert fact.source_label == SOURCE


def test_a_diagnosis_of_another_cancer_is_recorded_without_changing_the_case(cast: Cast) -> None:
    case = _lung_case(cast)
    document = read_note(case, "Pathology: invasive lobular carcinoma.", on=NOTE_DAY)
    review.proposal_accept(proposal=document.proposals.get(kind="diagnosis"), user=cast.oncologist)
    case.refresh_from_db()
    assert case.oncotree_code == "NSCLC"
    assert ClinicalFact.objects.get(case=case, kind="primary_cancer").code == "ILC"


def test_family_and_rule_out_diagnoses_cannot_be_accepted_as_the_patients(cast: Cast) -> None:
    case = _lung_case(cast)
    document = _document(case)
    for evidence in ("breast cancer", "small cell lung cancer"):
        with pytest.raises(ValidationError):
            review.proposal_accept(
                proposal=proposal(document, "diagnosis", evidence), user=cast.oncologist
            )
    case.refresh_from_db()
    assert case.oncotree_code == "NSCLC"
    assert not ClinicalFact.objects.filter(case=case, kind="primary_cancer").exists()


def test_an_edited_variant_with_an_unknown_gene_is_refused_with_a_message(cast: Cast) -> None:
    case = _lung_case(cast)
    document = _document(case)
    with pytest.raises(ValidationError, match="not an HGNC/NCBI gene symbol"):
        review.proposal_accept(
            proposal=proposal(document, "variant", "EGFR p.L858R"),
            user=cast.oncologist,
            edits={"gene": "NOTAGENE1"},
        )
    assert not Variant.objects.filter(case=case).exists()


def test_the_document_page_and_a_variant_edit_form_show_the_new_facts_and_accept_an_edit(
    cast: Cast, oncologist_client: Client
) -> None:
    document = read_note(cast.case, NOTE, on=NOTE_DAY)
    page = oncologist_client.get(reverse("notes-document", args=[document.pk]))
    body = page.content.decode()
    assert page.status_code == 200
    assert "EGFR p.L858R" in body and "Lung Adenocarcinoma (OncoTree LUAD" in body
    egfr = proposal(document, "variant", "EGFR p.L858R")
    url = reverse("notes-fact-edit", args=[egfr.pk])
    form = oncologist_client.get(url).content.decode()
    assert 'name="value_protein"' in form and 'name="value_gene"' in form
    sent = {f"value_{key}": str(value or "") for key, value in egfr.value.items()}
    wrong = oncologist_client.post(url, {**sent, "value_protein": "unknown"})
    assert wrong.status_code == 400 and "HGVS" in wrong.content.decode()
    assert not Variant.objects.filter(case=cast.case).exists()
    right = oncologist_client.post(url, {**sent, "value_protein": "p.Leu858Arg"})
    assert right.status_code == 302
    variant = Variant.objects.get(case=cast.case)
    assert (variant.protein_short, variant.protein_long) == ("p.L858R", "p.Leu858Arg")
