"""The predictor serves each cancer type the interval its own test coverage allows."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

import inference
from inference.predictor import SurvivalPredictor
from inference.runtime import CheckpointError, sha256_of
from inference.schema import CaseInputs, ClinicalFacts
from inference.validation import load_per_type_validation
from inference.weights import SHIPPED
from tests.inference.test_predict_api import _case, _checkpoint

PANCANCER = SHIPPED["oncoboard-tcga-pancancer"]


def _facts(codes: list[str], status: str, correction: float | None, measured: float) -> dict:
    return {
        "cohort": "TCGA-" + codes[0],
        "oncotree_codes": codes,
        "test_n": 90,
        "test_events": 20,
        "harrell_c": 0.7,
        "coxph_c": 0.65,
        "calibration": [{"months": 12.0, "at_risk": 80, "slope": 0.9}],
        "conformal": {"measured_test_pooled": 0.7},
        "interval": {
            "status": status,
            "correction_months": correction,
            "measured_coverage": measured,
            "reason": "" if status == "ok" else f"{status} because the test coverage was 70%",
        },
    }


def _per_type_file(tmp_path: Path, checkpoint: Path, luad: dict[str, Any]) -> Path:
    """IDC keeps the pooled widening (3 months in the tiny checkpoint); LUAD as given."""
    payload = {
        "model": "tiny",
        "checkpoint_sha256": sha256_of(checkpoint),
        "split": "fold0",
        "nominal_coverage": 0.8,
        "types": {"brca": _facts(["IDC"], "ok", 3.0, 0.83), "luad": luad},
    }
    path = tmp_path / "tiny.per_type.json"
    path.write_text(json.dumps(payload))
    return path


def _predictors(
    tmp_path: Path, luad: dict[str, Any]
) -> tuple[SurvivalPredictor, SurvivalPredictor]:
    """The same tiny checkpoint without and with per-type facts."""
    checkpoint = _checkpoint(tmp_path)
    digest = sha256_of(checkpoint)
    facts = _per_type_file(tmp_path, checkpoint, luad)
    pooled = SurvivalPredictor.from_checkpoint(checkpoint, expected_sha256=digest)
    per_type = SurvivalPredictor.from_checkpoint(
        checkpoint, expected_sha256=digest, per_type_path=facts, per_type_sha256=sha256_of(facts)
    )
    return pooled, per_type


def _luad_case() -> CaseInputs:
    return _case(clinical=ClinicalFacts({"age": 0.5, "is_female": 0.0}, cancer_type="LUAD"))


def test_a_type_whose_coverage_fell_short_gets_its_wider_interval(tmp_path: Path) -> None:
    pooled, per_type = _predictors(tmp_path, _facts(["LUAD"], "widened", 30.0, 0.86))
    before = pooled.predict(_luad_case(), explain=False).time_interval
    after = per_type.predict(_luad_case(), explain=False).time_interval
    assert before is not None and after is not None
    assert before.lower_months > 3.0, "the model interval must start after the pooled widening"
    assert after.lower_months == pytest.approx(max(before.lower_months + 3.0 - 30.0, 0.0))
    assert after.upper_months is None or (
        before.upper_months is not None and after.upper_months > before.upper_months
    )
    # The coverage stated is the one measured for this type, not the pooled 0.79.
    assert (before.measured_coverage, after.measured_coverage) == (0.79, 0.86)
    assert "widened" in per_type.interval_note(_luad_case())


def test_a_type_whose_interval_was_withheld_gets_none_but_keeps_its_prediction(
    tmp_path: Path,
) -> None:
    pooled, per_type = _predictors(tmp_path, _facts(["LUAD"], "abstained", None, 0.7))
    before = pooled.predict(_luad_case(), explain=False)
    after = per_type.predict(_luad_case(), explain=False)
    assert before.time_interval is not None and after.time_interval is None
    # Only the interval is withheld: the curve and the prediction's status are unchanged.
    assert after.status == before.status == "ok"
    assert after.curve == before.curve and after.abstention_reasons == ()
    note = per_type.interval_note(_luad_case())
    assert note.startswith("No time-to-event interval for LUAD") and "70%" in note
    validation = per_type.validation_for(_luad_case())
    assert validation is not None and validation["conformal"]["status"] == "abstained"
    assert validation["conformal"]["note"] == note


def test_a_type_within_tolerance_keeps_the_pooled_widening_with_its_own_coverage(
    tmp_path: Path,
) -> None:
    pooled, per_type = _predictors(tmp_path, _facts(["LUAD"], "abstained", None, 0.7))
    before = pooled.predict(_case(), explain=False).time_interval
    after = per_type.predict(_case(), explain=False).time_interval
    assert before is not None and after is not None
    assert dataclasses.replace(before, measured_coverage=0.83) == after
    assert per_type.interval_note(_case()) == ""


def test_a_tampered_per_type_file_is_refused(tmp_path: Path) -> None:
    checkpoint = _checkpoint(tmp_path)
    path = _per_type_file(tmp_path, checkpoint, _facts(["LUAD"], "ok", 3.0, 0.81))
    pin = sha256_of(path)
    # Someone "fixes" a short type's coverage by hand: the pin no longer matches.
    path.write_text(path.read_text().replace("0.81", "0.91"))
    with pytest.raises(CheckpointError, match="refusing"):
        SurvivalPredictor.from_checkpoint(
            checkpoint, expected_sha256=sha256_of(checkpoint), per_type_path=path,
            per_type_sha256=pin,
        )  # fmt: skip


def test_facts_measured_with_another_checkpoint_are_refused(tmp_path: Path) -> None:
    checkpoint = _checkpoint(tmp_path)
    path = _per_type_file(tmp_path, checkpoint, _facts(["LUAD"], "ok", 3.0, 0.81))
    with pytest.raises(CheckpointError, match="measured with checkpoint"):
        load_per_type_validation(
            path, expected_sha256=sha256_of(path), checkpoint_sha256=PANCANCER.sha256
        )


def test_a_status_that_contradicts_its_widening_is_refused(tmp_path: Path) -> None:
    checkpoint = _checkpoint(tmp_path)
    path = _per_type_file(tmp_path, checkpoint, _facts(["LUAD"], "abstained", 3.0, 0.7))
    with pytest.raises(CheckpointError, match="malformed"):
        load_per_type_validation(
            path, expected_sha256=sha256_of(path), checkpoint_sha256=sha256_of(checkpoint)
        )


def test_the_shipped_pancancer_model_serves_each_types_measured_coverage() -> None:
    assert PANCANCER.per_type_path is not None
    assert sha256_of(PANCANCER.per_type_path) == PANCANCER.per_type_sha256
    committed = json.loads(PANCANCER.per_type_path.read_text())
    model = inference.load_model(PANCANCER.name)
    assert model.per_type is not None and set(model.per_type.types) == set(committed["types"])
    for facts in committed["types"].values():
        case = CaseInputs(
            case_id="c",
            clinical=ClinicalFacts(
                {"age": 60.0, "is_female": 1.0}, cancer_type=facts["oncotree_codes"][0]
            ),
        )
        interval = model.predict(case, explain=False).time_interval
        served = facts["interval"]
        if served["status"] == "abstained":
            assert interval is None
        else:
            assert interval is not None
            assert interval.measured_coverage == served["measured_coverage"]
        validation = model.validation_for(case)
        assert validation is not None and validation["test_n"] == facts["test_n"]
    blank = CaseInputs(case_id="b", clinical=ClinicalFacts({"age": 60.0, "is_female": 1.0}))
    assert model.predict(blank, explain=False).time_interval is None
