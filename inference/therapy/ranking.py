"""Ordering the options and saying why, in plain words.

Order (documented in docs/therapies/README.md):

0. investigational options (only preclinical, case-report or inferential evidence) come after
   every option with guideline or clinical evidence, whatever their safety; the page lists them
   in a group of their own;
1. safety: clear, then caution from a recorded finding, then blocked (a blocked option is never
   above a usable one). A caution that comes only from missing, stale or unrecorded data is shown
   but does not move the option: it would punish the drugs with the most label warnings, not the
   riskiest ones;
2. resistance: options with a resistance flag in this cancer, or with a drug the cancer already
   progressed on (a prior line stopped for progression), go below those without;
3. AMP/ASCO/CAP tier: I-A, I-B, II-C, II-D; within a tier, an option our curated
   standard-of-care rules recommend for this line and setting comes first;
4. estimated benefit: shown next to each option but given no weight in the order. Curves come
   only from randomised contrasts our model reproduced on held-out trial patients
   (``inference.therapy.rct_whatif``); an unvalidated estimate is never produced, so it can never
   weigh. A validated one is still not weighted: its *average* effect is the trial's, which the
   evidence tier already carries, and its *individual* variation is not supported
   (c-for-benefit 0.44-0.58 on the held-out halves, ``oncoboard-rct-whatif.md``), so weighting
   it would reorder patients by noise. ``BENEFIT_WEIGHT`` stays 0 until that changes;
5. the number of supporting items in this cancer, then the label (a stable order).
"""

from __future__ import annotations

from collections.abc import Mapping

from inference.therapy.matching import TIERS
from inference.therapy.types import (
    Benefit,
    KnowledgeBase,
    RankedOption,
    SafetyVerdict,
    TherapyOption,
)

#: Weight of the model's 5-year survival difference in the order (see the module docstring).
BENEFIT_WEIGHT = 0.0
NO_MODEL_DRUG = "No randomised trial in our data tested {drugs}: not estimable from our data."


def safety_order(safety: SafetyVerdict) -> int:
    """0 clear (or caution for missing data only), 1 caution from a recorded value, 2 blocked."""
    if safety.state == "blocked":
        return 2
    if any(c.verdict == "caution" and c.from_recorded_value for c in safety.checks):
        return 1
    return 0


def benefit_classes(option: TherapyOption, kb: KnowledgeBase) -> tuple[tuple[str, ...], str]:
    """The model's treatment classes for an option, or why the option cannot be estimated.

    Every drug must map to a class the model was trained with; one drug without (for example
    trastuzumab in trastuzumab + docetaxel) makes the whole option not estimable.
    """
    classes: list[str] = []
    without: list[str] = []
    for name in option.drugs:
        drug = kb.drug(name)
        if drug is None or not drug.whatif:
            if drug is not None and "folate modulator" in drug.classes:
                continue  # leucovorin modulates fluorouracil; it is not a treatment of its own
            without.append(name)
        elif drug.whatif not in classes:
            classes.append(drug.whatif)
    if without:
        return (), NO_MODEL_DRUG.format(drugs=", ".join(without))
    return tuple(classes), ""


def _why(
    position: int,
    option: TherapyOption,
    safety: SafetyVerdict,
    benefit: Benefit,
) -> tuple[str, ...]:
    lines = [f"Evidence tier {option.tier} (AMP/ASCO/CAP): {option.tier_reason}."]
    if option.investigational:
        lines.append(
            "Investigational: backed only by preclinical, case-report or inferential evidence; "
            "listed apart, below every option with guideline or clinical evidence."
        )
    related = [r for r in option.supporting if r.disease_match in {"same", "narrower"}]
    lines.append(
        f"{len(option.supporting)} supporting item(s), {len(related)} in this cancer; "
        f"{len(option.opposing)} opposing."
    )
    if option.conflicting:
        lines.append("Conflicting evidence: items in this cancer both support and oppose it.")
    for flag in option.resistance:
        lines.append(f"Resistance: {flag}.")
    if option.progressed_on:
        lines.append(
            "The cancer progressed on " + ", ".join(option.progressed_on) + ": placed below "
            "options without resistance or prior progression."
        )
    if safety.state == "clear":
        lines.append(f"Safety clear: {len(safety.checks)} check(s) passed.")
    else:
        # The deciding checks are listed with the option (value, date, rule) and their sources in
        # the evidence drawer: named here by rule only, so no citation is repeated.
        rules = ", ".join(c.rule_id for c in safety.deciding)
        lines.append(
            f"Safety {safety.state}: decided by {len(safety.deciding)} check(s) ({rules})."
        )
        if safety_order(safety) == 0:
            lines.append(
                "The caution comes only from missing, stale or unrecorded data, so it does not "
                "move the option down; complete the data before deciding."
            )
    if benefit.usable and benefit.trial and benefit.difference is not None:
        estimate, low, high = benefit.difference
        months = f"{benefit.horizon_months:.0f} months" if benefit.horizon_months else "horizon"
        lines.append(
            f"What-if from the randomised {benefit.trial} ({benefit.contrast}): "
            f"{estimate:+.0%} in the chance of being free of {benefit.endpoint or 'the event'} "
            f"at {months} (95% band {low:+.0%} to {high:+.0%}); shown, not used in the order."
        )
    elif benefit.usable and benefit.delta_5y is not None:
        lines.append(
            f"Model 5-year survival difference against the baseline: {benefit.delta_5y:+.0%}, an "
            "association from observational data, not a causal effect; shown, not used in the "
            "order (the model's validation shows confounding by indication)."
        )
    elif benefit.usable:
        lines.append("Model curve available in the what-if view; not used in the order.")
    else:
        lines.append(f"Predicted benefit: {benefit.reason}")
    lines.append(
        f"Placed #{position}: investigational options last, then ordered by safety, then "
        "resistance, then evidence tier, then "
        "guideline recommendation for this line, then the number of supporting items in this "
        "cancer (the model's benefit estimate is shown but not used)."
    )
    return tuple(lines)


def rank(
    options: tuple[TherapyOption, ...],
    safety: Mapping[str, SafetyVerdict],
    benefit: Mapping[str, Benefit],
) -> tuple[RankedOption, ...]:
    def key(option: TherapyOption) -> tuple[object, ...]:
        estimate = benefit[option.key]
        delta = estimate.delta_5y if estimate.usable and estimate.delta_5y is not None else 0.0
        delta *= BENEFIT_WEIGHT
        related = sum(1 for r in option.supporting if r.disease_match in {"same", "narrower"})
        return (
            option.investigational,
            safety_order(safety[option.key]),
            bool(option.resistance) or bool(option.progressed_on),
            TIERS.index(option.tier),
            not option.rule_ids,
            -delta,
            -related,
            option.label.lower(),
        )

    ordered = sorted(options, key=key)
    return tuple(
        RankedOption(
            rank=position,
            option=option,
            safety=safety[option.key],
            benefit=benefit[option.key],
            why=_why(position, option, safety[option.key], benefit[option.key]),
        )
        for position, option in enumerate(ordered, start=1)
    )
