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

import json
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from inference.runtime import sha256_of
from inference.schema import CaseInputs, TreatmentPlan, TreatmentScenario

if TYPE_CHECKING:
    from inference.predictor import SurvivalPredictor

__all__ = [
    "ClassPropensity",
    "PropensityError",
    "PropensityModels",
    "WhatIfOption",
    "WhatIfReport",
    "WhatIfResult",
    "load_propensity",
    "what_if",
]

#: The only model with treatment inputs.
TREATMENT_MODEL = "oncoboard-metabric"
#: What-if classes -> the model's treatment inputs.
CLASS_TO_TREATMENT: Mapping[str, str] = {
    "endocrine": "hormone_therapy",
    "chemotherapy": "chemotherapy",
    "radiotherapy": "radiotherapy",
}
_TREATMENT_TO_CLASS = {t: c for c, t in CLASS_TO_TREATMENT.items()}
_DISPLAY = {"endocrine": "endocrine therapy", "chemotherapy": "chemotherapy"}
FORMAT = "oncoboard-propensity/1"
BREAST_ONLY = "the model's treatment effects were learned from METABRIC breast cancer only"


class PropensityError(RuntimeError):
    """The shipped propensity file is missing, altered or malformed."""


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
class ClassPropensity:
    """Overlap check of one treatment setting of a curve.

    Attributes:
        therapy_class: ``endocrine``, ``chemotherapy`` or ``radiotherapy``.
        given: the setting the curve uses.
        propensity: the patient's probability of having received it in the training cohort's
            practice, ``None`` when a covariate is missing.
        lower, upper: common-support bounds; *given* needs ``propensity >= lower``, *not given*
            ``propensity <= upper``.
        supported: ``None`` when the propensity is unknown (never assumed supported).
    """

    therapy_class: str
    given: bool
    propensity: float | None
    lower: float
    upper: float
    supported: bool | None


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


@dataclass(frozen=True)
class LogisticModel:
    """One treatment's propensity model on standardised covariates."""

    intercept: float
    coefficients: tuple[float, ...]
    lower: float
    upper: float


@dataclass(frozen=True)
class CovariateSet:
    """Covariates, their standardisation and one model per treatment."""

    features: tuple[str, ...]
    means: tuple[float, ...]
    scales: tuple[float, ...]
    treatments: Mapping[str, LogisticModel]

    def propensity(self, values: Sequence[float]) -> dict[str, float]:
        """Probability of each treatment for one patient's covariates (in ``features`` order)."""
        z = (np.asarray(values, dtype=np.float64) - np.asarray(self.means)) / np.asarray(
            self.scales
        )
        logits = {
            m: t.intercept + float(z @ np.asarray(t.coefficients))
            for m, t in self.treatments.items()
        }
        return {name: 1.0 / (1.0 + math.exp(-logit)) for name, logit in logits.items()}


@dataclass(frozen=True)
class PropensityModels:
    """The shipped propensity file, parsed.

    Attributes:
        model: survival model it belongs to.
        trained: training date.
        data_source: where the training data came from.
        breast_codes: OncoTree codes the cohort stands for.
        covariate_sets: ``clinical_expression`` and ``clinical``.
        sha256: digest of the file read.
    """

    model: str
    trained: str
    data_source: str
    breast_codes: frozenset[str]
    covariate_sets: Mapping[str, CovariateSet]
    sha256: str


def _parse(document: Mapping[str, Any], digest: str) -> PropensityModels:
    if document.get("format") != FORMAT:
        raise PropensityError(f"not a {FORMAT} file: format {document.get('format')!r}")
    sets = {}
    for name, entry in document["covariate_sets"].items():
        features = tuple(str(f) for f in entry["features"])
        treatments = {}
        for treatment, fitted in entry["treatments"].items():
            coefficients = tuple(float(c) for c in fitted["coefficients"])
            if len(coefficients) != len(features):
                raise PropensityError(f"{name}/{treatment}: coefficients do not match features")
            lower, upper = (float(b) for b in fitted["support"])
            treatments[str(treatment)] = LogisticModel(
                float(fitted["intercept"]), coefficients, lower, upper
            )
        sets[str(name)] = CovariateSet(
            features=features,
            means=tuple(float(v) for v in entry["means"]),
            scales=tuple(float(v) for v in entry["scales"]),
            treatments=treatments,
        )
    return PropensityModels(
        model=str(document["model"]),
        trained=str(document["trained"]),
        data_source=str(document["data_source"]),
        breast_codes=frozenset(str(c) for c in document["cancer_types"]["codes"]),
        covariate_sets=sets,
        sha256=digest,
    )


_LOCK = threading.Lock()
_CACHE: dict[tuple[str, str], PropensityModels] = {}


def load_propensity(
    path: Path | None = None, *, expected_sha256: str | None = None
) -> PropensityModels:
    """Read a propensity file after checking its digest (cached per process).

    Args:
        path: the file; default the shipped ``oncoboard-metabric.propensity.json``.
        expected_sha256: its pin; the shipped file's pin when ``path`` is ``None``.

    Returns:
        The parsed models.

    Raises:
        PropensityError: missing file, digest mismatch or malformed content.
    """
    if path is None:
        from inference.weights import PROPENSITY

        shipped = PROPENSITY[TREATMENT_MODEL]
        path, expected_sha256 = shipped.path, shipped.sha256
    if not path.is_file():
        raise PropensityError(f"propensity file not found: {path}")
    digest = sha256_of(path)
    if expected_sha256 is not None and digest != expected_sha256.lower():
        raise PropensityError(
            f"propensity file {path.name} has sha256 {digest}, expected {expected_sha256}"
        )
    key = (str(path), digest)
    with _LOCK:
        if key not in _CACHE:
            try:
                document = json.loads(path.read_text(encoding="utf-8"))
                _CACHE[key] = _parse(document, digest)
            except (KeyError, TypeError, ValueError) as error:
                message = f"propensity file {path.name} is malformed: {error}"
                raise PropensityError(message) from error
        return _CACHE[key]


# -- helpers ---------------------------------------------------------------------------------


def _display(therapy_class: str) -> str:
    return _DISPLAY.get(therapy_class, therapy_class)


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
        if treatment in _TREATMENT_TO_CLASS:
            recorded[treatment] = recorded.get(treatment, False) or bool(given)
    return recorded


def _check(
    plan: Mapping[str, bool], propensity: Mapping[str, float], models: CovariateSet
) -> tuple[ClassPropensity, ...]:
    checks = []
    for treatment, given in plan.items():
        fitted = models.treatments[treatment]
        p = propensity.get(treatment)
        supported = None if p is None else (p >= fitted.lower if given else p <= fitted.upper)
        checks.append(
            ClassPropensity(
                therapy_class=_TREATMENT_TO_CLASS[treatment],
                given=given,
                propensity=p,
                lower=fitted.lower,
                upper=fitted.upper,
                supported=supported,
            )
        )
    return tuple(checks)


def _passed(checks: Sequence[ClassPropensity]) -> bool:
    """Supported only when every setting is; an unknown propensity is never assumed supported."""
    return all(c.supported is True for c in checks)


def _own_propensity(checks: Sequence[ClassPropensity], classes: Sequence[str]) -> float | None:
    """The option's own propensity: the lowest of its given classes (the weakest support)."""
    own = [c.propensity for c in checks if c.therapy_class in classes and c.propensity is not None]
    return min(own) if own else None


def _failure(check: ClassPropensity) -> str:
    name = _display(check.therapy_class)
    if check.given:
        return (
            f"few similar patients in the training data were treated with {name} "
            f"(propensity {check.propensity:.2f}, supported from {check.lower:.2f})"
        )
    return (
        f"few similar patients in the training data were left without {name} "
        f"(propensity {check.propensity:.2f}, supported up to {check.upper:.2f})"
    )


def _unsupported_reason(checks: Sequence[ClassPropensity]) -> str:
    failed = [c for c in checks if not c.supported]
    return "; ".join(_failure(c) for c in failed) + "; the estimate is not supported"


def _supported_reason(checks: Sequence[ClassPropensity], classes: Sequence[str]) -> str:
    parts = [
        f"{_display(c.therapy_class)} propensity {c.propensity:.2f}, "
        f"supported range {c.lower:.2f}-{c.upper:.2f}"
        for c in checks
        if c.therapy_class in classes
    ]
    return "supported: similar training patients were treated and untreated" + (
        " (" + "; ".join(parts) + ")" if parts else ""
    )


# -- the entry point -------------------------------------------------------------------------


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
        model: a :class:`~inference.models.predictor.SurvivalPredictor`; default
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

    if not info.treatments:
        return refuse_all(
            f"model {info.name} has no treatment inputs; not estimable from our data ("
            + BREAST_ONLY
            + ")"
        )
    if propensity is None:
        if info.name != TREATMENT_MODEL:
            return refuse_all(
                f"no propensity model for {info.name}: overlap cannot be checked, so no "
                "what-if curve is shown"
            )
        propensity = load_propensity()
    if set(info.treatments) != set(_TREATMENT_TO_CLASS):
        return refuse_all(f"model {info.name} treatment inputs {info.treatments} are not supported")

    # 1. Cancer type: the treatment effects come from one breast cohort.
    code = (inputs.clinical.cancer_type or "").strip().upper() if inputs.clinical else ""
    if not code:
        return refuse_all(f"cancer type not recorded; {BREAST_ONLY}")
    if code not in propensity.breast_codes:
        return refuse_all(
            f"cancer type {code} is not a breast invasive carcinoma; not estimable from our data "
            f"({BREAST_ONLY})"
        )

    # 2. Inputs the curve and the overlap check need.
    # The clinical covariate set (age, ER status) is required: without it neither the curve nor the
    # overlap check can be trusted (ER status decides endocrine therapy, age chemotherapy).
    required = propensity.covariate_sets["clinical"].features
    clinical = inputs.clinical.values if inputs.clinical else {}
    missing = [name for name in required if not _finite(clinical.get(name))]
    if missing:
        return refuse_all(
            "missing inputs the model needs for treatment effects: " + ", ".join(missing)
        )
    if float(clinical["er_positive"] or 0.0) not in (0.0, 1.0):
        return refuse_all("er_positive must be 0 or 1 (ER status negative or positive)")
    full = propensity.covariate_sets["clinical_expression"]
    genes = [f for f in full.features if f not in required]
    expression = inputs.molecular.expression if inputs.molecular else {}
    measured = [g for g in genes if _finite(expression.get(g))]
    if measured and len(measured) < len(genes):
        return refuse_all(
            "expression partially supplied (missing "
            + ", ".join(g for g in genes if g not in measured)
            + "); the overlap check needs all of "
            + ", ".join(genes)
            + " or none"
        )
    covariates = full if measured else propensity.covariate_sets["clinical"]
    source = {**expression, **clinical}
    values = [float(source[f] or 0.0) for f in covariates.features]
    scores = covariates.propensity(values)
    extra: dict[str, Any] = {
        "propensity_covariates": covariates.features,
        "propensity_trained": propensity.trained,
    }

    # 3. Options: classes the model knows, else not estimable.
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
    baseline_checks = _check(baseline_plan, scores, covariates)
    baseline_ok = _passed(baseline_checks)
    checked: list[tuple[tuple[str, ...], dict[str, bool], tuple[ClassPropensity, ...]] | str] = []
    for entry in normalised:
        if isinstance(entry, str):
            checked.append(entry)
            continue
        plan = {**baseline_plan, **{CLASS_TO_TREATMENT[c]: True for c in entry}}
        checked.append((entry, plan, _check(plan, scores, covariates)))
    wanted = ([baseline_plan] if baseline_ok else []) + [
        item[1] for item in checked if not isinstance(item, str) and _passed(item[2])
    ]
    scenarios = list(model.predict_treatments(inputs, [TreatmentPlan(dict(p)) for p in wanted]))
    baseline = scenarios.pop(0) if baseline_ok else None
    results = []
    for option, item in zip(options, checked, strict=True):
        if isinstance(item, str):
            results.append(WhatIfResult(option.key, False, item, None, None, None))
            continue
        classes, _, checks = item
        supported = _passed(checks)
        results.append(
            WhatIfResult(
                key=option.key,
                estimable=supported,
                reason=_supported_reason(checks, classes)
                if supported
                else _unsupported_reason(checks),
                scenario=scenarios.pop(0) if supported else None,
                propensity=_own_propensity(checks, classes),
                overlap_supported=supported,
                checks=checks,
            )
        )
    baseline_reason = (
        "baseline: "
        + (
            ", ".join(
                f"{_display(_TREATMENT_TO_CLASS[t])} {'given' if g else 'not given'}"
                for t, g in baseline_plan.items()
            )
        )
        if baseline_ok
        else "baseline not shown: " + _unsupported_reason(baseline_checks)
    )
    return WhatIfReport(
        model_name=info.name,
        model_version=info.version,
        baseline=baseline,
        results=tuple(results),
        caveat=caveat,
        baseline_reason=baseline_reason,
        baseline_plan=baseline_plan,
        baseline_checks=baseline_checks,
        **extra,
    )
