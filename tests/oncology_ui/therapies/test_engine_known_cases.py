"""The named known cases: expected top options, their evidence, and the resistance flags."""

from __future__ import annotations

from inference.therapy import types as t
from inference.therapy.matching import match
from inference.therapy.ranking import benefit_classes, rank
from inference.therapy.safety import safety_verdict
from tests.oncology_ui.therapies.engine_cases import (
    amplification,
    fusion,
    mutation,
    prior_line,
    shipped_kb,
    state,
)


def ranked(patient: t.PatientState) -> tuple[tuple[t.RankedOption, ...], t.RankingResult]:
    kb = shipped_kb()
    options, flags, unknowns = match(kb, patient)
    safety = {o.key: safety_verdict(o, patient, kb) for o in options}
    benefit = {o.key: t.Benefit(False, benefit_classes(o, kb)[1] or "n/a") for o in options}
    result = rank(options, safety, benefit)
    summary = t.RankingResult(
        kb_version=kb.version,
        planned_line=patient.planned_line,
        options=result,
        resistance_flags=flags,
        unknowns=unknowns,
        inputs_used=(),
        inputs_missing=(),
    )
    return result, summary


def top(patient: t.PatientState, n: int = 1) -> list[str]:
    return [r.option.label for r in ranked(patient)[0][:n]]


def option(patient: t.PatientState, label: str) -> t.RankedOption:
    return next(r for r in ranked(patient)[0] if r.option.label == label)


def test_egfr_l858r_nsclc_puts_osimertinib_first_on_its_guideline_and_flaura() -> None:
    patient = state("LUAD", findings=(mutation("EGFR", "L858R"),))
    assert top(patient) == ["Osimertinib"]
    osimertinib = option(patient, "Osimertinib")
    assert osimertinib.option.tier == "I-A"
    guideline = osimertinib.option.supporting[0]
    assert guideline.source == "guideline" and "NCCN" in guideline.citation
    assert "29151359" in guideline.pmids  # FLAURA
    # CIViC evidence for the other EGFR inhibitors is listed with its items, below.
    erlotinib = option(patient, "Erlotinib")
    assert any(
        ref.item_id.startswith("EID") and ref.level == "A" for ref in erlotinib.option.supporting
    )
    assert erlotinib.rank > osimertinib.rank


def test_egfr_exon19_deletion_matches_the_osimertinib_rule_by_residue_span() -> None:
    patient = state("NSCLC", findings=(mutation("EGFR", "E746_A750del"),))
    assert top(patient) == ["Osimertinib"]


def test_alk_fusion_nsclc_offers_alk_inhibitors_first() -> None:
    patient = state("LUAD", findings=(fusion("ALK", "EML4"),))
    first_two = top(patient, 2)
    assert first_two[0] == "Alectinib"
    alectinib = option(patient, "Alectinib")
    assert "28586279" in alectinib.option.supporting[0].pmids  # ALEX
    # A resistance mutation inside the fusion (EML4-ALK C1156Y) is not this patient's finding.
    crizotinib = option(patient, "Crizotinib")
    assert not any("C1156Y" in flag for flag in crizotinib.option.resistance)


def test_braf_v600e_melanoma_puts_braf_plus_mek_inhibitors_first() -> None:
    patient = state("SKCM", findings=(mutation("BRAF", "V600E"),))
    best = ranked(patient)[0][0].option
    assert best.label == "Dabrafenib + trametinib"
    assert {"BRAF inhibitor", "MEK inhibitor"} <= set(best.classes)
    assert any(ref.source == "civic" and ref.level == "A" for ref in best.supporting)


def test_kras_g12c_nsclc_after_first_line_offers_g12c_inhibitors() -> None:
    chemo_io = prior_line(
        "carboplatin + pemetrexed + pembrolizumab", ("carboplatin", "pemetrexed", "pembrolizumab")
    )
    patient = state("LUAD", findings=(mutation("KRAS", "G12C"),), prior=(chemo_io,))
    assert set(top(patient, 2)) == {"Sotorasib", "Adagrasib"}
    assert patient.planned_line == 2


def test_kras_g12c_inhibitors_are_not_offered_first_line_where_the_guideline_says_later() -> None:
    patient = state("LUAD", findings=(mutation("KRAS", "G12C"),))
    sotorasib = [r for r in ranked(patient)[0] if r.option.label == "Sotorasib"]
    assert not sotorasib or not sotorasib[0].option.rule_ids


def test_her2_amplified_breast_puts_a_trastuzumab_regimen_first() -> None:
    patient = state(
        "IDC",
        findings=(amplification("ERBB2"),),
        biomarkers=(("ER", "negative"), ("HER2", "positive")),
        sex="female",
        age=60,
    )
    best = ranked(patient)[0][0].option
    assert "trastuzumab" in best.drugs
    assert best.label == "Trastuzumab + pertuzumab + docetaxel"
    assert "22149875" in best.supporting[0].pmids  # CLEOPATRA


def test_er_positive_her2_negative_early_breast_puts_endocrine_therapy_first() -> None:
    patient = state(
        "IDC",
        stage="IIA",
        biomarkers=(("ER", "positive"), ("PR", "positive"), ("HER2", "negative")),
        sex="female",
        age=60,
    )
    best = ranked(patient)[0][0].option
    assert "endocrine therapy" in best.classes
    assert best.tier == "I-A"


def test_er_positive_metastatic_breast_offers_endocrine_therapy_with_a_cdk46_inhibitor() -> None:
    patient = state(
        "ILC",
        biomarkers=(("ER", "positive"), ("HER2", "negative")),
        sex="female",
        age=70,
    )
    assert top(patient) == ["Letrozole + palbociclib"]


def test_msi_high_colorectal_puts_immunotherapy_first() -> None:
    patient = state("COAD", biomarkers=(("MSI", "high"),))
    best = ranked(patient)[0][0].option
    assert best.label == "Pembrolizumab"
    assert "immune checkpoint inhibitor" in best.classes
    assert "33264544" in best.supporting[0].pmids  # KEYNOTE-177


def test_dmmr_colorectal_counts_as_msi_high() -> None:
    patient = state("READ", biomarkers=(("MMR", "deficient"),))
    assert top(patient) == ["Pembrolizumab"]


def test_kras_mutant_colorectal_flags_anti_egfr_resistance_and_offers_no_anti_egfr() -> None:
    patient = state("COAD", findings=(mutation("KRAS", "G12D"),), tested=("NRAS", "BRAF"))
    result, summary = ranked(patient)
    flag = next(f for f in summary.resistance_flags if f.rule_or_item == "crc-ras-anti-egfr")
    assert flag.drug_classes == ("anti-EGFR antibody",)
    assert "KRAS" in flag.finding and "24024839" in flag.pmids
    # CIViC resistance items for cetuximab/panitumumab in colorectal cancer are flagged too.
    assert any(
        "cetuximab" in f.drugs or "panitumumab" in f.drugs
        for f in summary.resistance_flags
        if f.rule_or_item.startswith("EID")
    )
    for item in result:
        assert not {"cetuximab", "panitumumab"} & set(item.option.drugs) or item.option.resistance


def test_ras_wild_type_colorectal_is_offered_anti_egfr_with_folfox() -> None:
    patient = state("COAD", tested=("KRAS", "NRAS", "BRAF"))
    labels = top(patient, 3)
    assert "FOLFOX + panitumumab" in labels


def test_untested_ras_makes_the_anti_egfr_rule_not_evaluable_and_says_why() -> None:
    patient = state("COAD")
    _, summary = ranked(patient)
    assert any(
        "FOLFOX + panitumumab" in text and "KRAS status (not tested)" in text
        for text in summary.unknowns.not_evaluable
    )


def test_an_anti_egfr_option_in_kras_mutant_colorectal_is_marked_and_ranked_below() -> None:
    """Supporting evidence for cetuximab in another context does not hide the resistance."""
    patient = state("COAD", findings=(mutation("KRAS", "G12D"), mutation("BRAF", "V600E")))
    result, _ = ranked(patient)
    anti_egfr = [r for r in result if "cetuximab" in r.option.drugs]
    assert anti_egfr, "encorafenib + cetuximab is proposed for BRAF V600E (later line or CIViC)"
    for item in anti_egfr:
        assert item.option.resistance
        assert all(
            other.rank < item.rank
            for other in result
            if not other.option.resistance
            and other.safety.state == item.safety.state
            # Investigational options are a group of their own, below every other option.
            and other.option.investigational == item.option.investigational
        )


def test_bcr_abl1_chronic_myeloid_leukaemia_offers_the_first_line_tkis_of_eln_2020() -> None:
    patient = state("CML", stage="", findings=(fusion("ABL1", "BCR"),))
    assert set(top(patient, 2)) == {"Imatinib", "Dasatinib"}
    assert all(r.option.tier == "I-A" for r in ranked(patient)[0][:2])


def test_abl1_t315i_puts_ponatinib_first() -> None:
    patient = state("CML", stage="", findings=(fusion("ABL1", "BCR"), mutation("ABL1", "T315I")))
    assert top(patient) == ["Ponatinib"]


def test_abl1_t315i_flags_imatinib_resistance() -> None:
    patient = state("CML", stage="", findings=(fusion("ABL1", "BCR"), mutation("ABL1", "T315I")))
    _, summary = ranked(patient)
    assert any(f.rule_or_item == "cml-t315i-tki" for f in summary.resistance_flags)


def test_prostate_metastatic_offers_adt_based_options() -> None:
    patient = state("PRAD")
    assert all("leuprorelin" in r.option.drugs for r in ranked(patient)[0][:2])


def test_unknown_gene_and_variant_without_evidence_are_listed_not_dropped() -> None:
    odd = t.Finding(
        gene="FOOBAR1", kind="mutation", label="p.A12T", protein_key="A12T", gene_known=False
    )
    quiet = mutation("TTN", "R123Q")
    _, summary = ranked(state("LUAD", findings=(odd, quiet)))
    assert summary.unknowns.genes == ("FOOBAR1",)
    assert "TTN p.R123Q" in summary.unknowns.variants


def test_drugs_outside_the_vocabulary_are_named_and_gated_with_caution() -> None:
    patient = state("COAD", findings=(mutation("KRAS", "G12D"),), tested=("NRAS", "BRAF"))
    result, summary = ranked(patient)
    assert summary.unknowns.drugs
    odd = next(r for r in result if r.option.unknown_drugs)
    assert odd.safety.state == "caution"
    assert any(c.rule_id == "drug-not-in-vocabulary" for c in odd.safety.checks)


def test_conflicting_evidence_in_this_cancer_is_marked() -> None:
    patient = state("LUAD", findings=(fusion("ALK", "EML4"),))
    result, _ = ranked(patient)
    assert any(r.option.conflicting for r in result) or all(not r.option.opposing for r in result)


def test_evidence_for_a_disease_without_an_oncotree_mapping_is_listed_as_such() -> None:
    # CIViC has EGFR L858R -> cetuximab in "Hematologic Cancer", which diseases.tsv leaves unmapped.
    result, summary = ranked(state("LUAD", findings=(mutation("EGFR", "L858R"),)))
    assert "Hematologic Cancer" in summary.unknowns.diseases
    unmapped = [
        (item, ref)
        for item in result
        for ref in item.option.supporting
        if ref.disease_match == "unmapped"
    ]
    assert unmapped, "the item stays visible in the evidence drawer, labelled unmapped"
    for item, ref in unmapped:
        assert ref.item_id not in item.option.tier_reason  # it never sets the tier


def test_every_option_explains_its_rank_in_words() -> None:
    result, _ = ranked(state("SKCM", findings=(mutation("BRAF", "V600E"),)))
    for item in result:
        assert item.why[0].startswith("Evidence tier")
        assert item.why[-1].startswith(f"Placed #{item.rank}")


def test_an_option_the_cancer_progressed_on_is_noted_and_ranked_below() -> None:
    progressed = prior_line("Osimertinib", ("osimertinib",), stop="progression")
    patient = state("LUAD", findings=(mutation("EGFR", "L858R"),), prior=(progressed,))
    result, _ = ranked(patient)
    osimertinib = next((r for r in result if r.option.label.lower() == "osimertinib"), None)
    if osimertinib is not None:  # line 2: CIViC items may still propose it
        assert osimertinib.option.progressed_on == ("Osimertinib (line 1)",)
        assert any(
            note.startswith("Already given: Osimertinib") for note in osimertinib.option.notes
        )
        assert all(
            r.rank < osimertinib.rank
            for r in result
            if not r.option.progressed_on
            and not r.option.resistance
            and r.safety.state == osimertinib.safety.state
        )
