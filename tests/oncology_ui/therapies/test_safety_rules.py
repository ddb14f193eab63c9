"""Every shipped safety rule with a passing and a failing patient; stale and missing data."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from inference.therapy import types as t
from inference.therapy.safety import applies, check, safety_verdict
from tests.oncology_ui.therapies.engine_cases import TODAY, prior_line, shipped_kb, state

ULN = 40.0


def option_for(rule: t.SafetyRule) -> t.TherapyOption:
    """A one-drug option the rule applies to."""
    kb = shipped_kb()
    if rule.applies_drugs:
        name = rule.applies_drugs[0]
    elif rule.applies_classes:
        name = next(d.name for d in kb.drugs if set(d.classes) & set(rule.applies_classes))
    else:
        name = "osimertinib"
    drug = kb.drug(name)
    assert drug is not None
    return t.TherapyOption(
        key=name,
        label=name,
        drugs=(name,),
        classes=drug.classes,
        unknown_drugs=(),
        tier="I-A",
        tier_reason="test",
        supporting=(),
        opposing=(),
        resistance=(),
        conflicting=False,
        rule_ids=(),
    )


def _with_lab(patient: t.PatientState, key: str, value: float, unit: str) -> t.PatientState:
    labs = tuple(lab for lab in patient.labs if lab.key != key)
    return replace(patient, labs=(*labs, t.LabValue(key, key, value, unit, TODAY, ref_high=ULN)))


def patients_for(
    rule: t.SafetyRule, option: t.TherapyOption
) -> tuple[t.PatientState, t.PatientState]:
    """(passing, failing) patients for one rule, derived from its own thresholds."""
    base = state("LUAD", sex="female", age=40)
    base = replace(base, pregnant=False)
    spec = rule.check
    kind = spec["kind"]
    if kind == "lab":
        scale = ULN if spec.get("scale") == "uln" else 1.0
        if "block_below" in spec:
            low = spec["block_below"] * scale
            safe = max(spec["block_below"], spec.get("caution_below", 0)) * scale * 2
            return (
                _with_lab(base, spec["lab"], safe, spec["unit"]),
                _with_lab(base, spec["lab"], low * 0.5, spec["unit"]),
            )
        high = spec["block_above"] * scale
        safe = min(spec["block_above"], spec.get("caution_above", spec["block_above"])) * scale
        return (
            _with_lab(base, spec["lab"], safe * 0.5, spec["unit"]),
            _with_lab(base, spec["lab"], high * 1.5, spec["unit"]),
        )
    if kind == "ecog":
        worst = spec.get("block_at_or_above", spec.get("caution_at_or_above"))
        return replace(base, ecog=0), replace(base, ecog=worst)
    if kind == "pregnancy":
        return base, replace(base, pregnant=True)
    if kind == "comorbidity":
        return base, replace(
            base, conditions=(t.DatedText(f"History of {spec['match'][0]}", TODAY),)
        )
    if kind == "comedication":
        return base, replace(base, medications=(t.DatedText(str(spec["match"][0]), TODAY),))
    if kind == "prior_toxicity":
        drugs = option.drugs
        return (
            replace(base, prior_lines=(prior_line("earlier line", drugs, stop="progression"),)),
            replace(base, prior_lines=(prior_line("earlier line", drugs, stop="toxicity"),)),
        )
    if kind == "recent_bleeding":
        old = t.DatedText("Haemoptysis", TODAY - timedelta(days=spec["within_days"] + 200))
        new = t.DatedText("Haemoptysis", TODAY - timedelta(days=5))
        return replace(base, conditions=(old,)), replace(base, conditions=(new,))
    raise AssertionError(f"no test patients for check kind {kind}: add them here")


RULES = shipped_kb().safety_rules


@pytest.mark.parametrize("rule", RULES, ids=[r.rule_id for r in RULES])
def test_every_safety_rule_passes_a_safe_patient_and_stops_an_unsafe_one(
    rule: t.SafetyRule,
) -> None:
    kb = shipped_kb()
    option = option_for(rule)
    assert applies(rule, option, kb)
    passing, failing = patients_for(rule, option)
    ok = check(rule, option, passing, kb)
    bad = check(rule, option, failing, kb)
    assert ok.verdict == "clear", ok.reason
    assert bad.verdict == rule.verdict, bad.reason
    assert bad.source == rule.source and rule.source
    assert bad.reason


def test_each_rule_has_a_named_source() -> None:
    assert all(len(rule.source) > 20 for rule in RULES)
    assert len(RULES) >= 20


def test_the_verdict_shows_the_exact_value_date_and_rule() -> None:
    kb = shipped_kb()
    rule = next(r for r in RULES if r.rule_id == "anc-cytotoxic")
    patient = _with_lab(state("LUAD"), "neutrophils", 0.8, "10*9/L")
    result = check(rule, option_for(rule), patient, kb)
    assert result.verdict == "blocked"
    assert result.value == "0.8 10*9/L" and result.observed_on == TODAY.isoformat()
    assert "below 1" in result.reason


def test_a_stale_lab_gives_caution_with_its_age_never_clear() -> None:
    kb = shipped_kb()
    rule = next(r for r in RULES if r.rule_id == "anc-cytotoxic")
    fresh = state("LUAD")
    old = TODAY - timedelta(days=kb.max_lab_age_days + 30)
    labs = tuple(
        replace(lab, observed_on=old) if lab.key == "neutrophils" else lab for lab in fresh.labs
    )
    result = check(rule, option_for(rule), replace(fresh, labs=labs), kb)
    assert result.verdict == "caution" and result.data == "stale"
    assert f"{kb.max_lab_age_days + 30} days old" in result.reason


def test_a_missing_lab_gives_caution_never_assumed_normal() -> None:
    kb = shipped_kb()
    rule = next(r for r in RULES if r.rule_id == "platelets-cytotoxic")
    patient = state("LUAD")
    patient = replace(patient, labs=tuple(lab for lab in patient.labs if lab.key != "platelets"))
    result = check(rule, option_for(rule), patient, kb)
    assert (result.verdict, result.data) == ("caution", "missing")
    assert "not recorded" in result.reason


def test_no_labs_at_all_leaves_a_chemotherapy_option_at_caution() -> None:
    kb = shipped_kb()
    rule = next(r for r in RULES if r.rule_id == "anc-cytotoxic")
    verdict = safety_verdict(option_for(rule), replace(state("LUAD"), labs=()), kb)
    assert verdict.state == "caution"
    assert {c.data for c in verdict.deciding} == {"missing"}


@pytest.mark.parametrize(
    ("liver", "expected"),
    [(True, "clear"), (False, "caution"), (None, "caution")],
)
def test_ast_limits_follow_the_liver_metastasis_variant(liver: bool | None, expected: str) -> None:
    kb = shipped_kb()
    rule = next(r for r in RULES if r.rule_id == "ast-systemic")
    patient = replace(_with_lab(state("LUAD"), "ast", 4 * ULN, "U/L"), liver_metastases=liver)
    result = check(rule, option_for(rule), patient, kb)
    assert result.verdict == expected
    if liver is None:
        assert "stricter limits apply" in result.reason


def test_bevacizumab_after_recent_serious_bleeding_is_blocked_by_its_label() -> None:
    kb = shipped_kb()
    rule = next(r for r in RULES if r.rule_id == "bleeding-bevacizumab")
    option = option_for(rule)
    assert option.drugs == ("bevacizumab",)
    bleed = t.DatedText("Haemoptysis, serious", TODAY - timedelta(days=20))
    verdict = safety_verdict(option, replace(state("LUAD"), conditions=(bleed,)), kb)
    assert verdict.state == "blocked"
    assert any("Avastin" in c.source for c in verdict.deciding)


def test_unrecorded_conditions_give_caution_not_clear() -> None:
    kb = shipped_kb()
    rule = next(r for r in RULES if r.rule_id == "bleeding-bevacizumab")
    result = check(rule, option_for(rule), replace(state("LUAD"), conditions=None), kb)
    assert (result.verdict, result.data) == ("caution", "unknown")


def test_unknown_pregnancy_status_of_a_woman_of_childbearing_age_gives_caution() -> None:
    kb = shipped_kb()
    rule = next(r for r in RULES if r.rule_id == "pregnancy-systemic")
    patient = replace(state("IDC", sex="female", age=34), pregnant=None)
    result = check(rule, option_for(rule), patient, kb)
    assert (result.verdict, result.data) == ("caution", "unknown")


def test_a_lab_in_an_unexpected_unit_is_not_evaluated_as_if_it_were_fine() -> None:
    kb = shipped_kb()
    rule = next(r for r in RULES if r.rule_id == "haemoglobin-cytotoxic")
    patient = _with_lab(state("LUAD"), "hemoglobin", 13.0, "g/dL")
    result = check(rule, option_for(rule), patient, kb)
    assert (result.verdict, result.data) == ("caution", "unknown")


def test_a_stale_ecog_gives_caution() -> None:
    kb = shipped_kb()
    rule = next(r for r in RULES if r.rule_id == "ecog-cytotoxic")
    patient = replace(state("LUAD"), ecog=0, ecog_on=TODAY - timedelta(days=200))
    assert check(rule, option_for(rule), patient, kb).data == "stale"


def _stale(patient: t.PatientState, days: int) -> t.PatientState:
    """Every dated value of the patient moved ``days`` into the past."""
    old = TODAY - timedelta(days=days)
    return replace(
        patient,
        labs=tuple(replace(lab, observed_on=old) for lab in patient.labs),
        ecog_on=old if patient.ecog is not None else patient.ecog_on,
    )


@pytest.mark.parametrize("rule", RULES, ids=[r.rule_id for r in RULES])
def test_a_stale_failing_value_keeps_the_verdict_of_every_rule(rule: t.SafetyRule) -> None:
    """An old abnormal value never looks safer than a new one (issue #13, part 1)."""
    kb = shipped_kb()
    option = option_for(rule)
    _, failing = patients_for(rule, option)
    # Older than both the lab (30 days) and the ECOG (90 days) limits.
    days = max(kb.max_lab_age_days, 90) + 6
    result = check(rule, option, _stale(failing, days), kb)
    assert result.verdict == rule.verdict, result.reason
    if rule.check["kind"] in {"lab", "ecog"}:
        assert result.data == "stale"
        assert result.reason.startswith(
            f"{'Blocked' if rule.verdict == 'blocked' else 'Caution'} on the last value, "
            f"{days} days old"
        )
        assert result.threshold and result.threshold in result.reason
        assert result.value and result.observed_on == (TODAY - timedelta(days=days)).isoformat()
        assert result.from_recorded_value


def test_the_issue_case_alt_210_and_anc_0_8_36_days_old_blocks_every_option() -> None:
    kb = shipped_kb()
    patient = replace(state("LUAD"), liver_metastases=False)
    patient = _with_lab(patient, "alt", 210.0, "U/L")
    patient = _with_lab(patient, "neutrophils", 0.8, "10*9/L")
    old = _stale(patient, 36)
    rule = next(r for r in RULES if r.rule_id == "anc-cytotoxic")
    verdict = safety_verdict(option_for(rule), old, kb)
    assert verdict.state == "blocked"
    alt = next(c for c in verdict.deciding if c.rule_id == "alt-systemic")
    assert alt.value == "210 U/L" and alt.observed_on == (TODAY - timedelta(days=36)).isoformat()
    assert "above 5 × ULN (40 U/L)" in alt.threshold
    assert "repeat before treatment" in alt.reason
    assert {c.rule_id for c in verdict.deciding} >= {"alt-systemic", "anc-cytotoxic"}


def test_a_stale_value_in_the_caution_range_moves_the_option_like_a_fresh_one() -> None:
    from inference.therapy.ranking import safety_order

    kb = shipped_kb()
    rule = next(r for r in RULES if r.rule_id == "anc-cytotoxic")
    patient = _stale(_with_lab(state("LUAD"), "neutrophils", 1.2, "10*9/L"), 40)
    verdict = safety_verdict(option_for(rule), patient, kb)
    anc = next(c for c in verdict.checks if c.rule_id == "anc-cytotoxic")
    assert (anc.verdict, anc.data) == ("caution", "stale")
    assert safety_order(verdict) == 1


def test_only_a_stale_normal_value_becomes_a_plain_caution_to_repeat() -> None:
    from inference.therapy.ranking import safety_order

    kb = shipped_kb()
    rule = next(r for r in RULES if r.rule_id == "anc-cytotoxic")
    verdict = safety_verdict(option_for(rule), _stale(state("LUAD"), 40), kb)
    assert verdict.state == "caution"
    anc = next(c for c in verdict.checks if c.rule_id == "anc-cytotoxic")
    assert (anc.data, anc.threshold) == ("stale", "")
    assert "repeat before treatment" in anc.reason
    assert safety_order(verdict) == 0
