"""Ranking a case from its rows: stored JSON, versions, inputs, known cases end to end."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from oncology_ui.patients.models import Case
from oncology_ui.therapies import services
from oncology_ui.therapies.models import KnowledgeBase, TherapyRanking
from oncology_ui.therapies.selectors import therapies_section
from tests.factories import CaseFactory, TimelineEventFactory
from tests.oncology_ui.conftest import Cast
from tests.oncology_ui.therapies.factories import (
    BiomarkerFactory,
    ClinicalFactFactory,
    VariantFactory,
    fine_labs,
)

pytestmark = pytest.mark.django_db


def colon_case(cast: Cast, **fields: object) -> Case:
    """A stage IV colon cancer with nothing else recorded (but ``fields``)."""
    return CaseFactory.create(
        patient=cast.patient, oncotree_code="COAD", icd10_code="C18.7", stage_group="IV", **fields
    )


def lung_case(cast: Cast, **variant: object) -> Case:
    case = CaseFactory.create(
        patient=cast.patient,
        primary_diagnosis="Lung adenocarcinoma",
        oncotree_code="LUAD",
        icd10_code="C34.11",
        stage_group="IVA",
        ecog=1,
        ecog_date=timezone.localdate() - dt.timedelta(days=3),
    )
    VariantFactory.create(case=case, **variant)
    return case


def test_egfr_l858r_lung_case_ranks_osimertinib_first_and_stores_what_was_shown(
    cast: Cast, therapy_kb: KnowledgeBase
) -> None:
    case = lung_case(cast, gene="EGFR", protein_short="p.L858R")
    fine_labs(case)
    ranking = services.ranking_compute(case=case, user=cast.oncologist)
    result = ranking.result
    first = result["options"][0]
    assert first["option"]["label"] == "Osimertinib"
    assert first["option"]["tier"] == "I-A"
    assert "29151359" in first["option"]["supporting"][0]["pmids"]
    assert ranking.kb_version == therapy_kb.version == result["kb_version"]
    assert result["kb_files"]["standard_of_care.yaml"]
    assert any("1 variant" in text for text in result["inputs_used"])
    assert result["planned_line"] == 1
    # Osimertinib is not a treatment the survival model knows: said so, no number.
    assert first["benefit"]["estimable"] is False
    assert "not estimable from our data" in first["benefit"]["reason"]
    assert ranking.option_labels[0] == "Osimertinib"
    assert ranking.elapsed_ms < 2000


def test_kras_mutant_colorectal_case_flags_anti_egfr_resistance_end_to_end(
    cast: Cast, therapy_kb: KnowledgeBase
) -> None:
    case = colon_case(cast, primary_diagnosis="Colon adenocarcinoma")
    VariantFactory.create(case=case, gene="KRAS", protein_short="p.G12D")
    ranking = services.ranking_compute(case=case, user=cast.oncologist)
    flags = ranking.result["resistance_flags"]
    assert any(f["rule_or_item"] == "crc-ras-anti-egfr" for f in flags)
    assert all(
        not {"cetuximab", "panitumumab"} & set(o["option"]["drugs"]) or o["option"]["resistance"]
        for o in ranking.result["options"]
    )


def test_missing_labs_ecog_and_conditions_are_listed_and_gate_with_caution(
    cast: Cast, therapy_kb: KnowledgeBase
) -> None:
    case = colon_case(cast)
    BiomarkerFactory.create(case=case, name="MSI", status="high")
    ranking = services.ranking_compute(case=case, user=cast.oncologist)
    missing = " ".join(ranking.result["inputs_missing"])
    assert "labs: ANC" in missing and "Creatinine clearance" in missing and "ECOG" in missing
    assert "crcl_cg" not in missing and "conditions" in missing
    folfox = next(o for o in ranking.result["options"] if o["option"]["label"] == "FOLFOX")
    assert folfox["safety"]["state"] == "caution"
    assert any(c["data"] == "missing" for c in folfox["safety"]["checks"])


def test_stale_labs_are_flagged_with_their_date(cast: Cast, therapy_kb: KnowledgeBase) -> None:
    case = lung_case(cast, gene="KRAS", protein_short="p.G12C")
    fine_labs(case, days_ago=120)
    TimelineEventFactory.create(
        case=case,
        kind="systemic_therapy",
        regimen="Carboplatin + pemetrexed + pembrolizumab",
        line_number=1,
        date=dt.date(2025, 3, 1),
    )
    ranking = services.ranking_compute(case=case, user=cast.oncologist)
    first = ranking.result["options"][0]
    assert first["option"]["label"] in {"Sotorasib", "Adagrasib"}
    stale = [c for c in first["safety"]["checks"] if c["data"] == "stale"]
    assert stale and "days old" in stale[0]["reason"]
    assert first["safety"]["state"] == "caution"


def test_it_blocks_a_stale_abnormal_alt_and_anc_and_ranks_as_if_they_were_fresh(
    cast: Cast, therapy_kb: KnowledgeBase
) -> None:
    """ALT 210 U/L and ANC 0.8 from 36 days ago block, as they do two days after the draw."""

    def ranked(days_ago: int) -> TherapyRanking:
        case = colon_case(cast)
        BiomarkerFactory.create(case=case, name="MSI", status="high")
        fine_labs(case, days_ago=days_ago, alt=210.0, neutrophils=0.8)
        return services.ranking_compute(case=case, user=cast.oncologist)

    old, fresh = ranked(36), ranked(2)
    assert [o["option"]["key"] for o in old.result["options"]] == [
        o["option"]["key"] for o in fresh.result["options"]
    ]
    for option in old.result["options"]:
        assert option["safety"]["state"] == "blocked", option["option"]["label"]
        alt = next(c for c in option["safety"]["checks"] if c["rule_id"] == "alt-systemic")
        assert (alt["verdict"], alt["data"], alt["value"]) == ("blocked", "stale", "210 U/L")
        assert alt["reason"].startswith("Blocked on the last value, 36 days old: ALT 210 U/L on")
        assert "above 5 × ULN" in alt["threshold"] and "repeat before treatment" in alt["reason"]


def test_a_low_neutrophil_count_blocks_chemotherapy_with_the_value_and_rule(
    cast: Cast, therapy_kb: KnowledgeBase
) -> None:
    case = colon_case(cast)
    fine_labs(case, neutrophils=0.6)
    ranking = services.ranking_compute(case=case, user=cast.oncologist)
    folfox = next(o for o in ranking.result["options"] if o["option"]["label"] == "FOLFOX")
    assert folfox["safety"]["state"] == "blocked"
    deciding = [c for c in folfox["safety"]["checks"] if c["verdict"] == "blocked"]
    assert deciding[0]["rule_id"] == "anc-cytotoxic" and deciding[0]["value"] == "0.6 10*9/L"
    assert ranking.result["options"][-1]["safety"]["state"] == "blocked"


def test_recorded_bleeding_blocks_bevacizumab_and_comorbidities_are_read(
    cast: Cast, therapy_kb: KnowledgeBase
) -> None:
    from inference.therapy.safety import safety_verdict
    from oncology_ui.analysis.adapters import case_snapshot
    from oncology_ui.therapies.kb import kb_content
    from oncology_ui.therapies.state import patient_state
    from tests.oncology_ui.therapies.test_safety_rules import option_for

    case = lung_case(cast)
    ClinicalFactFactory.create(
        case=case, display="Haemoptysis", date=timezone.localdate() - dt.timedelta(days=10)
    )
    kb = kb_content(therapy_kb)
    report = patient_state(case, kb, snapshot=case_snapshot(case), today=timezone.localdate())
    assert report.state.conditions is not None
    rule = next(r for r in kb.safety_rules if r.rule_id == "bleeding-bevacizumab")
    assert safety_verdict(option_for(rule), report.state, kb).state == "blocked"


def test_the_section_reads_the_stored_ranking_in_few_queries(
    cast: Cast, therapy_kb: KnowledgeBase, rf: pytest.FixtureRequest
) -> None:
    case = lung_case(cast)
    services.ranking_compute(case=case, user=cast.oncologist)
    request = rf.get("/")  # type: ignore[attr-defined]
    request.user = cast.oncologist
    with CaptureQueriesContext(connection) as queries:
        context = therapies_section(request, case)
    assert context["therapy_view"]["options"][0]["label"] == "Osimertinib"
    assert len(queries) <= 6  # ranking, decisions, active KB (+ permission lookups)


def test_without_a_knowledge_base_ranking_is_refused_with_a_message(cast: Cast) -> None:
    with pytest.raises(services.RankingUnavailable, match="load_therapy_kb"):
        services.ranking_compute(case=cast.case, user=cast.oncologist)
    assert not TherapyRanking.objects.exists()


def test_ranking_links_the_latest_prediction_when_there_is_one(
    cast: Cast, therapy_kb: KnowledgeBase
) -> None:
    from oncology_ui.analysis.models import AnalysisRun, Prediction

    case = lung_case(cast)
    run = AnalysisRun.objects.create(
        case=case, inputs_snapshot={}, inputs_hash="0" * 64, adapter_version="3"
    )
    prediction = Prediction.objects.create(
        run=run,
        case=case,
        status="ok",
        model_name="onco-surv",
        model_version="1.2",
        weights_sha256="a" * 64,
        model_card="card.md",
        curve={"times_months": [0, 12], "survival": [1, 0.8], "lower": [1, 0.7], "upper": [1, 0.9]},
        risk_score=0.1,
    )
    ranking = services.ranking_compute(case=case, user=cast.oncologist)
    assert ranking.prediction == prediction
    assert ranking.result["prediction_id"] == prediction.pk
    assert ranking.model_version == "onco-surv 1.2"


def test_the_board_options_and_the_report_source_read_the_stored_ranking(
    cast: Cast, therapy_kb: KnowledgeBase
) -> None:
    from oncology_ui.boards.options import model_top_option, therapy_options
    from oncology_ui.reports.sources import knowledge_base_version, optional_sections

    case = lung_case(cast)
    assert therapy_options(case) == []
    unranked = optional_sections(case, deidentified=False)[0]
    assert unranked.title == "Therapy ranking" and not unranked.available
    ranking = services.ranking_compute(case=case, user=cast.oncologist)
    assert therapy_options(case) == ranking.option_labels
    assert model_top_option(case) == "Osimertinib"
    section = optional_sections(case, deidentified=True)[0]
    assert section.available
    assert section.lines[0].startswith(f"Knowledge base {ranking.kb_version}")
    assert section.lines[1].startswith("1. Osimertinib: tier I-A")
    assert knowledge_base_version() == therapy_kb.version


def test_a_colorectal_chemotherapy_option_gets_the_validated_colon_trial_arms_with_their_source(
    cast: Cast, therapy_kb: KnowledgeBase
) -> None:
    case = colon_case(cast)
    case.nodes_positive = 2
    case.save()
    ranking = services.ranking_compute(case=case, user=cast.oncologist)
    folfox = next(o for o in ranking.result["options"] if o["option"]["label"] == "FOLFOX")
    benefit = folfox["benefit"]
    assert benefit["classes"] == ["chemotherapy"]  # leucovorin is a modulator, not a treatment
    assert benefit["estimable"] is True
    assert "colon adjuvant trial" in benefit["trial"]
    assert benefit["contrast"] == "Lev+5FU vs Obs"
    assert "held-out trial patients" in benefit["agreement"]
    assert benefit["control_curve"]["survival"][0] == 1.0
    estimate, low, high = benefit["difference"]
    assert low <= estimate <= high
    assert "nodes_positive" not in benefit["filled_fields"]  # it came from the record
    assert ranking.result["model"]["name"] == "oncoboard-rct-whatif"
    assert "randomised trial" in ranking.result["model"]["caveat"]
    why = " ".join(folfox["why"])
    assert "What-if from the randomised" in why and "not used in the order" in why


def test_an_option_without_validated_randomised_evidence_gets_a_reason_never_a_curve(
    cast: Cast, therapy_kb: KnowledgeBase
) -> None:
    case = cast.case
    case.stage_group = "IIA"
    case.save()
    BiomarkerFactory.create(case=case, name="ER", status="positive")
    BiomarkerFactory.create(case=case, name="HER2", status="negative")
    ranking = services.ranking_compute(case=case, user=cast.oncologist)
    for item in ranking.result["options"]:
        benefit = item["benefit"]
        assert benefit["reason"]
        if benefit["estimable"]:
            assert benefit["curve"] and benefit["trial"] and benefit["agreement"]
        else:
            assert benefit["curve"] is None and benefit["control_curve"] is None
    tamoxifen = next(o for o in ranking.result["options"] if "tamoxifen" in o["option"]["drugs"])
    assert tamoxifen["benefit"]["classes"] == ["endocrine"]
    assert "German Breast Study Group 2" in tamoxifen["benefit"]["trial"]
    chemotherapy = [
        o for o in ranking.result["options"] if o["benefit"]["classes"] == ["chemotherapy"]
    ]
    for option in chemotherapy:  # no breast chemotherapy trial in our data
        assert option["benefit"]["estimable"] is False
        assert "no randomised evidence in our data for chemotherapy" in option["benefit"]["reason"]
    assert ranking.model_version.startswith("oncoboard-rct-whatif")
    # Validated or not, a benefit never moves an option: the order is the same without it.
    assert [o["rank"] for o in ranking.result["options"]] == list(
        range(1, len(ranking.result["options"]) + 1)
    )


def test_the_printed_report_shows_the_stored_ranking_and_its_versions(
    cast: Cast, therapy_kb: KnowledgeBase
) -> None:
    import io
    import re

    from pypdf import PdfReader

    from oncology_ui.reports.services import case_report_pdf

    case = colon_case(cast)
    VariantFactory.create(case=case, gene="KRAS", protein_short="p.G12D")
    fine_labs(case, neutrophils=0.6)
    ranking = services.ranking_compute(case=case, user=cast.oncologist)
    services.decision_record(
        ranking=ranking,
        option_key=ranking.result["options"][0]["option"]["key"],
        verdict="rejected",
        reason="Neutropenia, recheck next week",
        user=cast.oncologist,
    )
    pdf = case_report_pdf(case=case, deidentified=False)
    text = re.sub(r"\s+", " ", " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages))
    assert f"Knowledge base {ranking.kb_version}" in text
    assert "anc-cytotoxic" in text and "Resistance flag" in text
    assert "Neutropenia, recheck next week" in text
