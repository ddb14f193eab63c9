"""Overlap (positivity) of a what-if curve: the shipped propensity models and their checks.

A logistic propensity model per treatment, trained on the METABRIC training split (``python -m
inference.training.propensity``), gives the patient's probability of having received each
treatment. A curve is supported only if, for every treatment it sets, similar training patients
had that setting (see :mod:`inference.therapy.whatif` for the definitions the clinician sees).
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from inference.runtime import pinned_digest

__all__ = [
    "CLASS_TO_TREATMENT",
    "ClassPropensity",
    "PropensityError",
    "PropensityModels",
    "load_propensity",
]

#: The only model with treatment inputs.
TREATMENT_MODEL = "oncoboard-metabric"
#: What-if classes -> the model's treatment inputs.
CLASS_TO_TREATMENT: Mapping[str, str] = {
    "endocrine": "hormone_therapy",
    "chemotherapy": "chemotherapy",
    "radiotherapy": "radiotherapy",
}
TREATMENT_TO_CLASS = {t: c for c, t in CLASS_TO_TREATMENT.items()}
_DISPLAY = {"endocrine": "endocrine therapy", "chemotherapy": "chemotherapy"}
FORMAT = "oncoboard-propensity/1"


class PropensityError(RuntimeError):
    """The shipped propensity file is missing, altered or malformed."""


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
    digest = pinned_digest(path, expected_sha256, what="propensity file", error=PropensityError)
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


def display(therapy_class: str) -> str:
    """The class as a clinician reads it (``endocrine`` -> "endocrine therapy")."""
    return _DISPLAY.get(therapy_class, therapy_class)


def overlap_checks(
    plan: Mapping[str, bool], propensity: Mapping[str, float], models: CovariateSet
) -> tuple[ClassPropensity, ...]:
    checks = []
    for treatment, given in plan.items():
        fitted = models.treatments[treatment]
        p = propensity.get(treatment)
        supported = None if p is None else (p >= fitted.lower if given else p <= fitted.upper)
        checks.append(
            ClassPropensity(
                therapy_class=TREATMENT_TO_CLASS[treatment],
                given=given,
                propensity=p,
                lower=fitted.lower,
                upper=fitted.upper,
                supported=supported,
            )
        )
    return tuple(checks)


def all_supported(checks: Sequence[ClassPropensity]) -> bool:
    """Supported only when every setting is; an unknown propensity is never assumed supported."""
    return all(c.supported is True for c in checks)


def own_propensity(checks: Sequence[ClassPropensity], classes: Sequence[str]) -> float | None:
    """The option's own propensity: the lowest of its given classes (the weakest support)."""
    own = [c.propensity for c in checks if c.therapy_class in classes and c.propensity is not None]
    return min(own) if own else None


def failure(check: ClassPropensity) -> str:
    name = display(check.therapy_class)
    if check.given:
        return (
            f"few similar patients in the training data were treated with {name} "
            f"(propensity {check.propensity:.2f}, supported from {check.lower:.2f})"
        )
    return (
        f"few similar patients in the training data were left without {name} "
        f"(propensity {check.propensity:.2f}, supported up to {check.upper:.2f})"
    )


def unsupported_reason(checks: Sequence[ClassPropensity]) -> str:
    failed = [c for c in checks if not c.supported]
    return "; ".join(failure(c) for c in failed) + "; the estimate is not supported"


def supported_reason(checks: Sequence[ClassPropensity], classes: Sequence[str]) -> str:
    parts = [
        f"{display(c.therapy_class)} propensity {c.propensity:.2f}, "
        f"supported range {c.lower:.2f}-{c.upper:.2f}"
        for c in checks
        if c.therapy_class in classes
    ]
    return "supported: similar training patients were treated and untreated" + (
        " (" + "; ".join(parts) + ")" if parts else ""
    )
