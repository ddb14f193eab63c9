"""Rows -> snapshot -> frozen model inputs, and model results -> row fields."""

from __future__ import annotations

import datetime as dt

import pytest

from inference.schema import CaseInputs
from oncology_ui.analysis.adapters import (
    _stage_number,
    case_inputs_from_snapshot,
    case_snapshot,
    snapshot_hash,
)
from oncology_ui.clinical.models import Biomarker
from tests.factories import CaseFactory, TimelineEventFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("stage", "number"), [("IIIB", 3.0), ("Stage IV", 4.0), ("I", 1.0), ("IIA", 2.0), ("", None)]
)
def test_it_reads_the_stage_group_as_a_number(stage: str, number: float | None) -> None:
    assert _stage_number(stage) == number


def test_the_snapshot_holds_model_facts_but_no_identifiers() -> None:
    case = CaseFactory.create(ecog=1, ecog_date=dt.date(2024, 2, 2))
    TimelineEventFactory.create(case=case, kind="systemic_therapy", regimen="AC-T", line_number=1)
    snapshot = case_snapshot(case)
    assert snapshot["clinical"] == {
        "values": {"age": 62.0, "is_female": 1.0, "stage": 2.0, "ecog": 1.0},
        "cancer_type": "IDC",
    }
    assert snapshot["treatment"] == {"therapies": {"ac-t": True}}
    text = str(snapshot)
    assert "ZZCANARY" not in text and case.patient.mrn not in text


@pytest.mark.parametrize(("status", "expected"), [("positive", 1.0), ("negative", 0.0), ("", None)])
def test_the_latest_er_result_becomes_the_er_positive_input(
    status: str, expected: float | None
) -> None:
    case = CaseFactory.create()
    if status:
        Biomarker.objects.create(
            case=case,
            source_key=f"t:{status}",
            name="ER",
            status=status,
            measured_on=dt.date(2024, 1, 5),
        )
    values = case_snapshot(case)["clinical"]["values"]
    assert values.get("er_positive") == expected


def test_the_hash_changes_with_the_inputs_and_only_with_them() -> None:
    case = CaseFactory.create()
    first = snapshot_hash(case_snapshot(case))
    assert snapshot_hash(case_snapshot(case)) == first
    case.stage_group = "IV"
    assert snapshot_hash(case_snapshot(case)) != first


def test_a_snapshot_becomes_frozen_model_inputs_with_missing_modalities_absent() -> None:
    inputs = case_inputs_from_snapshot(case_snapshot(CaseFactory.create()))
    assert isinstance(inputs, CaseInputs)
    assert inputs.clinical is not None and inputs.clinical.cancer_type == "IDC"
    assert inputs.molecular is None and inputs.labs is None and inputs.slides == ()
