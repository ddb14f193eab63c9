"""The facts adapter: OncoBoard rows to the engine's PatientFacts, with used and missing facts."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from django.utils import timezone

from oncology_ui.clinical.models import ClinicalFact
from oncology_ui.trials.facts import case_facts
from tests.oncology_ui.conftest import Cast
from tests.oncology_ui.trials.factories import (
    BiomarkerFactory,
    VariantFactory,
    fit_breast_case,
)

pytestmark = pytest.mark.django_db


def test_it_builds_frozen_facts_from_the_case_labs_markers_and_timeline(cast: Cast) -> None:
    case = fit_breast_case(cast.case)
    built = case_facts(case)
    facts = built.facts
    assert dataclasses.is_dataclass(facts)
    with pytest.raises(dataclasses.FrozenInstanceError):
        facts.sex = "male"  # type: ignore[misc]
    assert facts.patient_id == f"case:{case.pk}"
    assert facts.age_years == float(case.patient.age_on(timezone.localdate()))
    assert facts.sex == "female" and facts.oncotree_code == "IDC"
    assert facts.ecog is not None and facts.ecog.value == 1 and facts.ecog.date == case.ecog_date
    labs = {lab.name: lab for lab in facts.labs}
    assert labs["bilirubin"].value == 10.0 and labs["bilirubin"].uln == 21.0
    assert labs["bilirubin"].unit == "umol/L" and labs["bilirubin"].date is not None
    assert labs["anc"].unit == "10^9/L"
    assert [(b.name, b.status) for b in facts.biomarkers] == [("HER2", "negative")]
    assert [(t.name, t.line) for t in facts.prior_therapies] == [("surgery", None), ("AC-T", 1)]
    assert built.therapy_history_complete
    assert facts.stage is not None and facts.stage.value == "IIB"
    assert "measurable disease (RECIST)" in built.missing
    assert any(u.startswith("ECOG 1") for u in built.used)


def test_a_patient_with_almost_no_data_gives_unknowns_not_guesses(cast: Cast) -> None:
    built = case_facts(cast.other_case)
    facts = built.facts
    assert facts.ecog is None and facts.labs == () and facts.biomarkers == ()
    assert facts.brain_metastases is None and facts.pregnant is None
    assert not built.therapy_history_complete
    for missing in ("ECOG performance status", "laboratory values", "biomarkers and variants"):
        assert missing in built.missing


def test_variants_and_mmr_map_to_engine_statuses(cast: Cast) -> None:
    VariantFactory.create(case=cast.case)
    VariantFactory.create(case=cast.case, gene="PIK3CA", protein_short="H1047=")
    BiomarkerFactory.create(case=cast.case, name="MMR", method="IHC", status="deficient")
    BiomarkerFactory.create(case=cast.case, name="HER2", status="equivocal")
    built = case_facts(cast.case)
    markers = {(b.name, b.status, b.variant) for b in built.facts.biomarkers}
    assert ("EGFR", "mutated", "L858R") in markers
    assert ("MMR", "positive", "") in markers and ("MSI", "high", "") in markers
    assert not any(name == "PIK3CA" for name, _, _ in markers)  # silent change
    assert not any(name == "HER2" for name, _, _ in markers)
    assert any("HER2 equivocal" in m for m in built.missing)


def test_brain_metastases_come_only_from_a_recorded_secondary_cancer(cast: Cast) -> None:
    ClinicalFact.objects.create(
        case=cast.case,
        source_key="c-1",
        kind="secondary_cancer",
        display="Secondary malignant neoplasm of brain",
        date=dt.date(2025, 1, 2),
    )
    facts = case_facts(cast.case).facts
    assert facts.brain_metastases is not None and facts.brain_metastases.value is True
    assert facts.liver_metastases is None
