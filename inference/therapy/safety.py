"""The safety gate: data-driven rules checked against the patient's current state.

Every check says what decided it (value, date, rule, source). Missing or stale data gives
``caution`` with the reason, never ``clear``: nothing is assumed normal.
"""

from __future__ import annotations

from dataclasses import dataclass

from inference.therapy.types import (
    KnowledgeBase,
    PatientState,
    SafetyCheck,
    SafetyRule,
    SafetyState,
    SafetyVerdict,
    TherapyOption,
)

ECOG_MAX_AGE_DAYS = 90
BLEEDING_WORDS = ("haemorrhage", "hemorrhage", "bleeding", "haemoptysis", "hemoptysis", "bleed")
_ORDER: dict[SafetyState, int] = {"clear": 0, "caution": 1, "blocked": 2}
LAB_NAMES = {
    "neutrophils": "ANC",
    "platelets": "Platelets",
    "hemoglobin": "Haemoglobin",
    "crcl_cg": "Creatinine clearance",
    "bilirubin": "Bilirubin",
    "ast": "AST",
    "alt": "ALT",
}


def applies(rule: SafetyRule, option: TherapyOption, kb: KnowledgeBase) -> bool:
    if rule.applies_all:
        return True
    if set(option.drugs) & set(rule.applies_drugs):
        return True
    return bool(set(option.classes) & set(rule.applies_classes))


def _fmt(value: float) -> str:
    return f"{value:g}"


def _stale_reason(verdict: SafetyState, age: int, finding: str, repeat: str) -> str:
    """A failing value is judged on itself even when old: age never makes it look safer."""
    word = "Blocked" if verdict == "blocked" else "Caution"
    return f"{word} on the last value, {age} days old: {finding}; {repeat}"


@dataclass(frozen=True)
class _Measured:
    """Builds the result of a check on one recorded value (a lab, ECOG), which every verdict
    shows with its date."""

    rule: SafetyRule
    value: str
    observed_on: str

    def __call__(
        self, verdict: SafetyState, data: str, reason: str, threshold: str = ""
    ) -> SafetyCheck:
        return SafetyCheck(
            rule_id=self.rule.rule_id,
            verdict=verdict,
            data=data,
            reason=reason,
            source=self.rule.source,
            value=self.value,
            observed_on=self.observed_on,
            threshold=threshold,
        )


def check_lab(rule: SafetyRule, state: PatientState, max_age: int) -> SafetyCheck:
    """One lab threshold rule against the latest value of its analyte.

    1. Not recorded: ``caution`` (``missing``); never assumed normal.
    2. In another unit, or a ULN rule without the result's upper limit: ``caution`` (``unknown``).
    3. The value is compared with the rule's limits whatever its age. A failing value keeps its
       verdict (an old ANC of 0.8 stays ``blocked``) and, when older than ``max_age``, is marked
       ``stale`` with "repeat before treatment"; only an old value within the limits becomes a
       plain ``caution`` to repeat it.
    """
    spec = rule.check
    key = spec["lab"]
    name = LAB_NAMES.get(key, key)
    lab = state.lab(key)

    result = _Measured(
        rule,
        value=f"{_fmt(lab.value)} {lab.unit}" if lab and lab.value is not None else "",
        observed_on=lab.observed_on.isoformat() if lab else "",
    )

    if lab is None or lab.value is None:
        return result("caution", "missing", f"{name} not recorded: cannot confirm it is safe")
    age = (state.today - lab.observed_on).days
    stale = age > max_age
    old = f" ({age} days old, older than {max_age} days)" if stale else ""
    if lab.unit != spec["unit"]:
        return result(
            "caution", "unknown", f"{name} is in {lab.unit}, the rule expects {spec['unit']}{old}"
        )
    limits = dict(spec)
    note = ""
    liver = spec.get("liver_metastases")
    if liver:
        if state.liver_metastases:
            limits.update(liver)
            note = " (liver-metastasis limits)"
        elif state.liver_metastases is None:
            note = " (liver metastases not recorded: the stricter limits apply)"
    scale = 1.0
    unit_text = spec["unit"]
    if spec.get("scale") == "uln":
        if lab.ref_high is None:
            return result(
                "caution",
                "unknown",
                f"{name}: no upper reference limit recorded for the result{old}",
            )
        scale = lab.ref_high
        unit_text = f"× ULN ({_fmt(lab.ref_high)} {lab.unit})"
    value = lab.value
    shown = f"{name} {_fmt(value)} {lab.unit} on {lab.observed_on.isoformat()}"
    failed: tuple[SafetyState, str] | None = None
    for bound, verdict in (("block_below", rule.verdict), ("caution_below", "caution")):
        if failed is None and bound in limits and value < limits[bound] * scale:
            failed = (verdict, f"below {_fmt(limits[bound])} {unit_text}")
    for bound, verdict in (("block_above", rule.verdict), ("caution_above", "caution")):
        if failed is None and bound in limits and value > limits[bound] * scale:
            failed = (verdict, f"above {_fmt(limits[bound])} {unit_text}")
    if failed is not None:
        verdict, threshold = failed
        finding = f"{shown} is {threshold}{note}"
        if stale:
            reason = _stale_reason(verdict, age, finding, "repeat before treatment")
            return result(verdict, "stale", reason, threshold)
        return result(verdict, "ok", finding, threshold)
    if stale:
        return result(
            "caution",
            "stale",
            f"{shown} is {age} days old (older than {max_age} days), within the limits then: "
            "repeat before treatment",
        )
    return result("clear", "ok", f"{shown} within the limits{note}")


def check_ecog(rule: SafetyRule, state: PatientState) -> SafetyCheck:
    """ECOG against the rule; an old ECOG that fails keeps its verdict (see :func:`check_lab`)."""
    spec = rule.check

    result = _Measured(
        rule,
        value=f"ECOG {state.ecog}" if state.ecog is not None else "",
        observed_on=state.ecog_on.isoformat() if state.ecog_on else "",
    )

    if state.ecog is None:
        return result("caution", "missing", "ECOG performance status not recorded")
    when = f" on {state.ecog_on.isoformat()}" if state.ecog_on else ""
    age = (state.today - state.ecog_on).days if state.ecog_on else 0
    stale = age > ECOG_MAX_AGE_DAYS
    failed: tuple[SafetyState, str] | None = None
    if "block_at_or_above" in spec and state.ecog >= spec["block_at_or_above"]:
        failed = (rule.verdict, f"{spec['block_at_or_above']} or worse")
    elif "caution_at_or_above" in spec and state.ecog >= spec["caution_at_or_above"]:
        failed = ("caution", f"{spec['caution_at_or_above']} or worse")
    if failed is not None:
        verdict, threshold = failed
        finding = f"ECOG {state.ecog}{when} is {threshold}"
        if stale:
            return result(
                verdict, "stale", _stale_reason(verdict, age, finding, "reassess"), threshold
            )
        return result(verdict, "ok", finding, threshold)
    if stale:
        return result(
            "caution",
            "stale",
            f"ECOG {state.ecog}{when} is older than {ECOG_MAX_AGE_DAYS} days: reassess",
        )
    return result("clear", "ok", f"ECOG {state.ecog}{when}")


def check_pregnancy(rule: SafetyRule, state: PatientState) -> SafetyCheck:
    def result(verdict: SafetyState, data: str, reason: str) -> SafetyCheck:
        return SafetyCheck(rule.rule_id, verdict, data, reason, rule.source)

    if state.pregnant:
        return result(rule.verdict, "ok", "The record states a current pregnancy")
    if state.pregnant is None and state.sex == "female" and 12 <= state.age <= 55:
        return result(
            "caution",
            "unknown",
            "Pregnancy status not recorded for a patient who could be pregnant: "
            "confirm before treatment",
        )
    if state.pregnant is False:
        return result("clear", "ok", "Not pregnant, as recorded")
    return result("clear", "ok", f"Not applicable ({state.sex}, age {state.age})")


def _matches(text: str, words: list[str]) -> str:
    lowered = text.lower()
    return next((w for w in words if w.lower() in lowered), "")


#: Word-matched checks against recorded items: (wording when nothing is recorded, when an item
#: matches, and the items counted when none does).
_RECORDED_WORDING = {
    "comorbidity": (
        "No conditions recorded for this case",
        "Recorded condition",
        "recorded condition(s)",
    ),
    "comedication": (
        "No current medications recorded",
        "Current medication",
        "current medication(s)",
    ),
}


def check_recorded(rule: SafetyRule, state: PatientState) -> SafetyCheck:
    """A rule matched by words against recorded conditions or current medications.

    Nothing recorded (None) is a caution, never "absent".
    """
    kind = rule.check["kind"]
    items = state.conditions if kind == "comorbidity" else state.medications
    missing, found, plural = _RECORDED_WORDING[kind]
    words = [str(w) for w in rule.check["match"]]
    if items is None:
        return _unknown(rule, f"{missing}: cannot exclude {', '.join(words)}")
    for item in items:
        if _matches(item.text, words):
            return _found(
                rule,
                f"{found}: {item.text}",
                value=item.text,
                observed_on=item.on.isoformat() if item.on else "",
            )
    return _clear(rule, f"None of {', '.join(words)} among {len(items)} {plural}")


def _clear(rule: SafetyRule, reason: str) -> SafetyCheck:
    """Checked against recorded data, and nothing found."""
    return SafetyCheck(rule.rule_id, "clear", "ok", reason, rule.source)


def _unknown(rule: SafetyRule, reason: str) -> SafetyCheck:
    """The record cannot answer: a caution, never a silent clear."""
    return SafetyCheck(rule.rule_id, "caution", "unknown", reason, rule.source)


def _found(rule: SafetyRule, reason: str, *, value: str, observed_on: str) -> SafetyCheck:
    """A recorded fact the rule is about: the rule's own verdict."""
    return SafetyCheck(
        rule.rule_id, rule.verdict, "ok", reason, rule.source, value=value, observed_on=observed_on
    )


def check_prior_toxicity(
    rule: SafetyRule, option: TherapyOption, state: PatientState
) -> SafetyCheck:
    for line in state.prior_lines:
        shared = sorted(set(line.drugs) & set(option.drugs))
        if line.stop_reason == "toxicity" and shared:
            return _found(
                rule,
                f"{line.regimen} (with {', '.join(shared)}) was stopped for toxicity; "
                "grade not recorded",
                value=line.regimen,
                observed_on=line.ended.isoformat() if line.ended else line.started.isoformat(),
            )
    return _clear(rule, f"No recorded line with {', '.join(option.drugs)} was stopped for toxicity")


def check_recent_bleeding(rule: SafetyRule, state: PatientState) -> SafetyCheck:
    days = int(rule.check.get("within_days", 90))
    if state.conditions is None:
        return _unknown(
            rule, f"Recent serious bleeding (last {days} days) not recorded: ask before treatment"
        )
    for condition in state.conditions:
        if _matches(condition.text, list(BLEEDING_WORDS)):
            recent = condition.on is None or (state.today - condition.on).days <= days
            if recent:
                when = condition.on.isoformat() if condition.on else "date not recorded"
                return _found(
                    rule,
                    f"Bleeding recorded ({condition.text}, {when}) within {days} days",
                    value=condition.text,
                    observed_on=condition.on.isoformat() if condition.on else "",
                )
    return _clear(
        rule,
        f"No bleeding among {len(state.conditions)} recorded condition(s) in the last {days} days",
    )


def check(
    rule: SafetyRule, option: TherapyOption, state: PatientState, kb: KnowledgeBase
) -> SafetyCheck:
    kind = rule.check["kind"]
    if kind == "lab":
        return check_lab(rule, state, kb.max_lab_age_days)
    if kind == "ecog":
        return check_ecog(rule, state)
    if kind == "pregnancy":
        return check_pregnancy(rule, state)
    if kind in _RECORDED_WORDING:
        return check_recorded(rule, state)
    if kind == "prior_toxicity":
        return check_prior_toxicity(rule, option, state)
    if kind == "recent_bleeding":
        return check_recent_bleeding(rule, state)
    raise ValueError(f"unknown safety check kind {kind!r}")  # kbfiles refuses these at load


def safety_verdict(option: TherapyOption, state: PatientState, kb: KnowledgeBase) -> SafetyVerdict:
    """Every applicable rule's check; the worst verdict decides."""
    checks = [
        check(rule, option, state, kb) for rule in kb.safety_rules if applies(rule, option, kb)
    ]
    for drug in option.unknown_drugs:
        checks.append(
            SafetyCheck(
                rule_id="drug-not-in-vocabulary",
                verdict="caution",
                data="unknown",
                reason=f"“{drug}” is not in the drug vocabulary: "
                "class-based safety rules could not be checked",
                source="OncoBoard drug vocabulary (drugs.yaml)",
            )
        )
    worst: SafetyState = "clear"
    for item in checks:
        if _ORDER[item.verdict] > _ORDER[worst]:
            worst = item.verdict
    ordered = sorted(checks, key=lambda c: (-_ORDER[c.verdict], c.rule_id))
    return SafetyVerdict(state=worst, checks=tuple(ordered))
