"""Benefit estimates never move the therapy order; only trial-validated ones are produced."""

from __future__ import annotations

from inference.therapy.ranking import rank
from inference.therapy.rct_whatif import benefit_for_option
from inference.therapy.types import Benefit, SafetyVerdict, TherapyOption

CLEAR = SafetyVerdict(state="clear", checks=())
CURVE = {"times_months": [1.0], "survival": [0.9], "lower": [0.8], "upper": [0.95]}


def _option(key: str) -> TherapyOption:
    # Two options equal on everything the order reads before benefit; "a" wins the label tie.
    return TherapyOption(
        key=key,
        label=key,
        drugs=("drug",),
        classes=("chemotherapy",),
        unknown_drugs=(),
        tier="I-A",
        tier_reason="guideline",
        supporting=(),
        opposing=(),
        resistance=(),
        conflicting=False,
        rule_ids=("rule",),
    )


def _order(benefit_a: Benefit, benefit_b: Benefit) -> list[str]:
    options = (_option("a"), _option("b"))
    ranked = rank(options, {"a": CLEAR, "b": CLEAR}, {"a": benefit_a, "b": benefit_b})
    return [r.option.key for r in ranked]


def test_an_unvalidated_benefit_never_moves_an_option() -> None:
    small = Benefit(True, "observational", ("chemotherapy",), curve=CURVE, delta_5y=0.01)
    large = Benefit(True, "observational", ("chemotherapy",), curve=CURVE, delta_5y=0.30)
    assert _order(small, large) == ["a", "b"]


def test_a_validated_benefit_is_shown_with_its_trial_but_does_not_move_an_option_either() -> None:
    small = Benefit(
        True, "trial", ("chemotherapy",), curve=CURVE, trial="x", difference=(0.01, 0.0, 0.02)
    )
    large = Benefit(
        True, "trial", ("chemotherapy",), curve=CURVE, trial="y", difference=(0.09, 0.02, 0.15)
    )
    assert _order(small, large) == ["a", "b"]
    ranked = rank((_option("a"), _option("b")), {"a": CLEAR, "b": CLEAR}, {"a": small, "b": large})
    assert any("What-if from the randomised y" in line for line in ranked[1].why)
    assert any("not used in the order" in line for line in ranked[1].why)


def test_a_colon_chemotherapy_option_gets_the_colon_trials_validated_benefit() -> None:
    benefit = benefit_for_option("COAD", ("chemotherapy",), {"age_years": 65.0})
    assert benefit.estimable and benefit.usable
    assert benefit.trial.startswith("NCCTG/Intergroup 0035")
    assert "held-out trial patients" in benefit.agreement
    assert benefit.difference is not None and benefit.difference[0] > 0
    assert benefit.difference[1] <= benefit.difference[0] <= benefit.difference[2]
    assert benefit.control_curve is not None and benefit.curve is not None
    # Monthly to the trial's 5-year horizon, from time zero (S = 1).
    assert len(benefit.curve["survival"]) == len(benefit.control_curve["survival"]) == 61
    assert benefit.curve["survival"][0] == benefit.control_curve["survival"][0] == 1.0


def test_combinations_and_unvalidated_pairs_are_not_estimable_and_carry_no_weight() -> None:
    combination = benefit_for_option("COAD", ("chemotherapy", "radiotherapy"), {})
    ovary = benefit_for_option("HGSOC", ("chemotherapy-regimen",), {})
    for benefit in (combination, ovary):
        assert not benefit.estimable and not benefit.trial and benefit.curve is None
        assert benefit.reason.startswith("Not estimable")
