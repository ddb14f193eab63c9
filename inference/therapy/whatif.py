"""Predicted benefit and what-if curves per therapy option, refused where our data cannot say.

Only ``oncoboard-metabric`` has treatment inputs (hormone therapy, radiotherapy, chemotherapy),
learned from METABRIC primary invasive breast carcinomas, so a what-if curve exists only for a
breast invasive carcinoma (OncoTree ``BRCA`` subtree, or the bare tissue code ``BREAST``) and only
for the classes ``endocrine``, ``chemotherapy`` and ``radiotherapy``. Everything else comes back
``estimable=False`` with the reason, never a made-up number.

Definitions (what the clinician sees):

* **Treatment plan of a curve.** Every curve sets all three treatment inputs explicitly; the model
  never saw an unknown treatment in training (METABRIC records all three), so "unknown" would be
  out of distribution.
* **Baseline**: none of the classes named in any option; a model treatment that no option names
  keeps the case's record (given when ``inputs.treatment`` lists it as given under the model's
  name, ``hormone_therapy``/``radiotherapy``/``chemotherapy``, or the class name) and is otherwise
  taken as not given. Regimen names (``"tamoxifen"``) are not mapped here: the caller maps them to
  classes.
* **Option scenario**: the baseline plan with the option's classes given.
* **Overlap (positivity).** A logistic propensity model per treatment, trained on the METABRIC
  training split (``python -m inference.training.propensity``), gives the patient's probability of
  having received each treatment. A curve is supported only if, for every treatment it sets, similar
  training patients had that setting: *given* needs the propensity at or above the lower
  common-support bound (enough similar patients were treated), *not given* needs it at or below the
  upper bound (enough were left untreated). The bounds are the overlap of the treated and untreated
  training propensity ranges inside [0.05, 0.95]. Covariates: the clinical factors and expression
  genes the survival model uses (clinical factors alone when the case has no expression genes).
  Missing covariates mean overlap is unknown, which is treated as unsupported.
* **Refusal.** An unsupported curve is not returned: ``estimable=False``, ``scenario=None``,
  ``overlap_supported=False``, with the propensity and the bounds in the reason. A refused curve
  cannot be shown greyed by mistake.

Curves are associations learned from observational data, not causal effects; the report's caveat
says so with the cohort era and the model version.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from inference.schema import CaseInputs, TreatmentPlan, TreatmentScenario
from inference.therapy.overlap import (
    CLASS_TO_TREATMENT,
    TREATMENT_MODEL,
    TREATMENT_TO_CLASS,
    ClassPropensity,
    CovariateSet,
    PropensityModels,
    all_supported,
    display,
    load_propensity,
    overlap_checks,
    own_propensity,
    supported_reason,
    unsupported_reason,
)

if TYPE_CHECKING:
    from inference.predictor import SurvivalPredictor

__all__ = ["WhatIfOption", "WhatIfReport", "WhatIfResult", "what_if"]

BREAST_ONLY = "the model's treatment effects were learned from METABRIC breast cancer only"


@dataclass(frozen=True)
class WhatIfOption:
    """One option the clinician wants to compare.

    Attributes:
        key: caller's identifier, echoed in the result.
        therapy_classes: ``"endocrine"``, ``"chemotherapy"``, ``"radiotherapy"``; anything else is
            not estimable. Empty means the baseline itself.
    """

    key: str
    therapy_classes: tuple[str, ...]


@dataclass(frozen=True)
class WhatIfResult:
    """One option's curve, or the reason there is none.

    Attributes:
        key: the option's key.
        estimable: a curve is returned (model trained with the classes, inputs complete, overlap
            supported).
        reason: why not, or what supports it; for display.
        scenario: the curve with its band; ``None`` unless ``estimable``.
        propensity: the patient's propensity for the option's class (the lowest one when the
            option combines classes); ``None`` when not computed.
        overlap_supported: ``None`` when overlap was not checked (not estimable for another reason).
        checks: every treatment setting of the curve and its overlap check.
    """

    key: str
    estimable: bool
    reason: str
    scenario: TreatmentScenario | None
    propensity: float | None
    overlap_supported: bool | None
    checks: tuple[ClassPropensity, ...] = ()


@dataclass(frozen=True)
class WhatIfReport:
    """The what-if comparison for one case.

    Attributes:
        model_name, model_version: the survival model.
        baseline: curve without the classes under consideration; ``None`` when not estimable.
        results: one per option, in order.
        caveat: observational, not causal; cohort era; model version.
        baseline_reason: why the baseline is missing, or what it is.
        baseline_plan: the treatment inputs of the baseline curve (empty when not estimable).
        baseline_checks: overlap checks of the baseline's treatment settings.
        propensity_covariates: covariates the overlap check used (empty when not run).
        propensity_trained: training date of the propensity models.
    """

    model_name: str
    model_version: str
    baseline: TreatmentScenario | None
    results: tuple[WhatIfResult, ...]
    caveat: str
    baseline_reason: str = ""
    baseline_plan: Mapping[str, bool] | None = None
    baseline_checks: tuple[ClassPropensity, ...] = ()
    propensity_covariates: tuple[str, ...] = ()
    propensity_trained: str = ""


# -- helpers ---------------------------------------------------------------------------------


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(float(value))


def _caveat(model_name: str, version: str, card: str) -> str:
    return (
        "Associations learned from observational data, not causal effects: in METABRIC "
        "(patients diagnosed 1977-2005 in the UK and Canada) clinicians chose who was treated, "
        "and factors the model does not see (stage, nodes, grade, surgery, regimen, dose) differ "
        "between treated and untreated patients. Treatment classes are as recorded then, not "
        "today's regimens. In this cohort the treated patients had worse prognosis on factors "
        "the model does not see, so curves with chemotherapy or endocrine therapy can lie below "
        "those without, the opposite of randomised trial evidence: do not read a difference as "
        "benefit or harm (docs/model/validation/whatif.md). "
        "The band is the spread of the model ensemble, not a confidence "
        f"interval for the benefit. Model {model_name} version {version}"
        + (f" (model card {card})." if card else ".")
    )


def _recorded(inputs: CaseInputs) -> dict[str, bool]:
    """Model treatments the case records, keyed by treatment input name."""
    recorded: dict[str, bool] = {}
    if inputs.treatment is None:
        return recorded
    for name, given in inputs.treatment.therapies.items():
        key = name.strip().lower()
        treatment = CLASS_TO_TREATMENT.get(key, key)
        if treatment in TREATMENT_TO_CLASS:
            recorded[treatment] = recorded.get(treatment, False) or bool(given)
    return recorded


# -- the entry point -------------------------------------------------------------------------

#: An option after its overlap check: (classes, treatment plan, checks), or why it is refused.
_Checked = tuple[tuple[str, ...], dict[str, bool], tuple[ClassPropensity, ...]] | str


def what_if(
    inputs: CaseInputs,
    options: Sequence[WhatIfOption],
    *,
    model: SurvivalPredictor | None = None,
    propensity: PropensityModels | None = None,
) -> WhatIfReport:
    """Survival curves under each therapy option, or the reason there is none.

    Args:
        inputs: the case (its recorded treatment only fills classes no option names).
        options: two or three options to compare (any number works).
        model: a :class:`~inference.predictor.SurvivalPredictor`; default
            ``load_model("oncoboard-metabric")``.
        propensity: propensity models; default the shipped, hash-checked file.

    Returns:
        The report: baseline, one result per option, caveat. Deterministic for the same inputs.
    """
    if model is None:
        from inference import load_model

        model = load_model(TREATMENT_MODEL)
    info = model.info
    caveat = _caveat(info.name, info.version, info.model_card)

    def refuse_all(reason: str, **extra: Any) -> WhatIfReport:
        return WhatIfReport(
            model_name=info.name,
            model_version=info.version,
            baseline=None,
            results=tuple(WhatIfResult(o.key, False, reason, None, None, None) for o in options),
            caveat=caveat,
            baseline_reason=reason,
            **extra,
        )

    if propensity is None and info.name == TREATMENT_MODEL and info.treatments:
        propensity = load_propensity()
    refusal = _model_refusal(info.name, info.treatments, propensity)
    if refusal or propensity is None:
        return refuse_all(refusal)

    # 1-2. A breast invasive carcinoma with the covariates the curve and the overlap need.
    case_covariates = _case_covariates(inputs, propensity)
    if isinstance(case_covariates, str):
        return refuse_all(case_covariates)
    covariates, scores = case_covariates
    extra: dict[str, Any] = {
        "propensity_covariates": covariates.features,
        "propensity_trained": propensity.trained,
    }

    # 3. Options: classes the model knows, else not estimable.
    normalised = _option_classes(options)
    considered = {
        CLASS_TO_TREATMENT[c] for entry in normalised if isinstance(entry, tuple) for c in entry
    }
    recorded = _recorded(inputs)
    baseline_plan = {
        t: (False if t in considered else recorded.get(t, False)) for t in info.treatments
    }
    baseline_case = replace(inputs, treatment=TreatmentPlan(dict(baseline_plan)))

    # 4. The model's own abstention (out-of-range inputs, unusual profile) applies to every curve.
    prediction = model.predict(baseline_case, explain=False)
    if prediction.status != "ok":
        return refuse_all(
            "the model abstains for this case: " + "; ".join(prediction.abstention_reasons),
            **extra,
        )

    # 5. Overlap per curve, then the curves that passed, in one model call.
    baseline_checks = overlap_checks(baseline_plan, scores, covariates)
    baseline_ok = all_supported(baseline_checks)
    checked = _checked(normalised, baseline_plan, scores, covariates)
    wanted = ([baseline_plan] if baseline_ok else []) + [
        item[1] for item in checked if not isinstance(item, str) and all_supported(item[2])
    ]
    scenarios = list(model.predict_treatments(inputs, [TreatmentPlan(dict(p)) for p in wanted]))
    baseline = scenarios.pop(0) if baseline_ok else None
    results = _option_results(options, checked, scenarios)
    baseline_reason = (
        "baseline: "
        + ", ".join(
            f"{display(TREATMENT_TO_CLASS[t])} {'given' if g else 'not given'}"
            for t, g in baseline_plan.items()
        )
        if baseline_ok
        else "baseline not shown: " + unsupported_reason(baseline_checks)
    )
    return WhatIfReport(
        model_name=info.name,
        model_version=info.version,
        baseline=baseline,
        results=results,
        caveat=caveat,
        baseline_reason=baseline_reason,
        baseline_plan=baseline_plan,
        baseline_checks=baseline_checks,
        **extra,
    )


def _model_refusal(
    name: str, treatments: Sequence[str], propensity: PropensityModels | None
) -> str:
    """Why this model cannot give what-if curves at all; "" when it can."""
    if not treatments:
        return f"model {name} has no treatment inputs; not estimable from our data ({BREAST_ONLY})"
    if propensity is None:
        return (
            f"no propensity model for {name}: overlap cannot be checked, so no what-if curve "
            "is shown"
        )
    if set(treatments) != set(TREATMENT_TO_CLASS):
        return f"model {name} treatment inputs {treatments} are not supported"
    return ""


def _case_covariates(
    inputs: CaseInputs, propensity: PropensityModels
) -> tuple[CovariateSet, dict[str, float]] | str:
    """The covariate set the case supports and the patient's propensity of each treatment, or
    why the case is refused.

    1. Cancer type: the treatment effects come from one breast cohort.
    2. Inputs the curve and the overlap check need. The clinical covariate set (age, ER status)
       is required: without it neither the curve nor the overlap check can be trusted (ER status
       decides endocrine therapy, age chemotherapy). Expression genes are all or none.
    """
    code = (inputs.clinical.cancer_type or "").strip().upper() if inputs.clinical else ""
    if not code:
        return f"cancer type not recorded; {BREAST_ONLY}"
    if code not in propensity.breast_codes:
        return (
            f"cancer type {code} is not a breast invasive carcinoma; not estimable from our data "
            f"({BREAST_ONLY})"
        )
    required = propensity.covariate_sets["clinical"].features
    clinical = inputs.clinical.values if inputs.clinical else {}
    missing = [name for name in required if not _finite(clinical.get(name))]
    if missing:
        return "missing inputs the model needs for treatment effects: " + ", ".join(missing)
    if float(clinical["er_positive"] or 0.0) not in (0.0, 1.0):
        return "er_positive must be 0 or 1 (ER status negative or positive)"
    full = propensity.covariate_sets["clinical_expression"]
    genes = [f for f in full.features if f not in required]
    expression = inputs.molecular.expression if inputs.molecular else {}
    measured = [g for g in genes if _finite(expression.get(g))]
    if measured and len(measured) < len(genes):
        return (
            "expression partially supplied (missing "
            + ", ".join(g for g in genes if g not in measured)
            + "); the overlap check needs all of "
            + ", ".join(genes)
            + " or none"
        )
    covariates = full if measured else propensity.covariate_sets["clinical"]
    source = {**expression, **clinical}
    values = [float(source[f] or 0.0) for f in covariates.features]
    return covariates, covariates.propensity(values)


def _option_classes(options: Sequence[WhatIfOption]) -> list[tuple[str, ...] | str]:
    """Each option's classes, or why it is not estimable (a class the model does not know)."""
    normalised: list[tuple[str, ...] | str] = []
    for option in options:
        classes = tuple(dict.fromkeys(c.strip().lower() for c in option.therapy_classes))
        unknown = [c for c in classes if c not in CLASS_TO_TREATMENT]
        if unknown:
            normalised.append(
                "therapy class "
                + ", ".join(repr(c) for c in unknown)
                + " is not among the model's treatment inputs ("
                + ", ".join(CLASS_TO_TREATMENT)
                + "); not estimable from our data"
            )
        else:
            normalised.append(classes)
    return normalised


def _checked(
    normalised: Sequence[tuple[str, ...] | str],
    baseline_plan: Mapping[str, bool],
    scores: Mapping[str, float],
    covariates: CovariateSet,
) -> list[_Checked]:
    """Each option's plan (the baseline with its classes given) and its overlap checks."""
    checked: list[_Checked] = []
    for entry in normalised:
        if isinstance(entry, str):
            checked.append(entry)
            continue
        plan = {**baseline_plan, **{CLASS_TO_TREATMENT[c]: True for c in entry}}
        checked.append((entry, plan, overlap_checks(plan, scores, covariates)))
    return checked


def _option_results(
    options: Sequence[WhatIfOption],
    checked: Sequence[_Checked],
    scenarios: list[TreatmentScenario],
) -> tuple[WhatIfResult, ...]:
    """One result per option: its curve when overlap supports it (``scenarios`` in order of
    the supported options), else the reason."""
    results = []
    for option, item in zip(options, checked, strict=True):
        if isinstance(item, str):
            results.append(WhatIfResult(option.key, False, item, None, None, None))
            continue
        classes, _, checks = item
        supported = all_supported(checks)
        results.append(
            WhatIfResult(
                key=option.key,
                estimable=supported,
                reason=supported_reason(checks, classes)
                if supported
                else unsupported_reason(checks),
                scenario=scenarios.pop(0) if supported else None,
                propensity=own_propensity(checks, classes),
                overlap_supported=supported,
                checks=checks,
            )
        )
    return tuple(results)
