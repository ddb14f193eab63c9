"""What-if by treatment from randomised trials: curves only where a trial validated the model.

The app calls three functions:

* :func:`load_shipped` reads ``inference/weights/oncoboard-rct-whatif.json`` (pinned sha256 in
  :data:`inference.weights.RCT_WHATIF`): one :class:`~inference.therapy.rct_model.TrialModel` per
  trial and one :class:`ContrastValidation` per randomised contrast.
* :func:`predict_arms` gives, for a cancer type and the patient's portrait fields (the flat
  vocabulary of ``inference.portrait.vocabulary``: ``age_years``, ``grade``, ``nodes_positive``,
  ``ecog``, ``haemoglobin_g_l`` ...), one :class:`ContrastWhatIf` per **validated** contrast of
  that type: the control arm's and the treatment arm's survival curves with 95% bands, their
  difference with its band, and the facts of the validation (trial, contrast, agreement figure).
  Unvalidated contrasts are never returned, so a refused curve cannot be drawn by mistake.
* :func:`not_estimable` gives the sentence to show for a (cancer type, treatment class) pair with
  no validated contrast, and ``None`` where one exists.

The validation rule (:data:`VALIDATION_RULE`) is applied when the file is built
(``python -m inference.training.rct_train``); the file records the verdict and the figures.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from inference.portrait.routing import PORTRAIT_TYPE_OF
from inference.therapy.rct_model import TrialModel
from inference.therapy.trials_rct import TRIALS_BY_KEY, contrast_by_key
from inference.therapy.types import Benefit

__all__ = [
    "VALIDATION_RULE",
    "ArmCurve",
    "benefit_for_option",
    "ContrastValidation",
    "ContrastWhatIf",
    "ShippedTrialModels",
    "load_shipped",
    "not_estimable",
    "predict_arms",
    "trial_cancer_type",
]

VALIDATION_RULE = (
    "A randomised contrast validates when, on the trial's held-out half (a random half of each "
    "arm, seed 17): (1) the trial's allocation was randomised (fully or in part); (2) its two arms "
    "have at least 30 events; (3) the model's average hazard ratio (geometric mean over the "
    "held-out patients of the two arms) lies inside the 95% confidence interval of the arm-only "
    "Cox hazard ratio on the same patients; and (4) where the published effect is significant, "
    "the model's average effect points the same way (HR < 1 for a published benefit)."
)
MIN_EVENTS = 30
#: Curve grid: monthly to the trial's horizon.
GRID_STEP_MONTHS = 1.0
FIVE_YEARS = 60.0


@dataclass(frozen=True)
class ContrastValidation:
    """A contrast's held-out check, as recorded in the shipped file.

    Attributes:
        contrast_key, trial_key, cancer_type, treatment_class: what was checked.
        validated: the verdict of :data:`VALIDATION_RULE`.
        reason: why it failed (empty when validated).
        n_held_out, events_held_out: patients and events of the two arms on the held-out half.
        model_average_hr: the model's average hazard ratio on them.
        held_out_hr, held_out_ci95: arm-only Cox estimate on them and its 95% CI.
        published: the published effect in words, with its source.
        c_for_benefit: van Klaveren's c-for-benefit on the held-out half at the horizon
            (``None`` with too few matched pairs).
    """

    contrast_key: str
    trial_key: str
    cancer_type: str
    treatment_class: str
    validated: bool
    reason: str
    n_held_out: int
    events_held_out: int
    model_average_hr: float
    held_out_hr: float
    held_out_ci95: tuple[float, float]
    published: str
    c_for_benefit: float | None

    @property
    def agreement(self) -> str:
        """The agreement figure in one line, for the view."""
        low, high = self.held_out_ci95
        return (
            f"model average HR {self.model_average_hr:.2f} vs {self.held_out_hr:.2f} "
            f"(95% CI {low:.2f}-{high:.2f}) in {self.n_held_out} held-out trial patients"
        )


@dataclass(frozen=True)
class ArmCurve:
    """One arm's survival curve for the patient.

    Attributes:
        arm: the trial's arm label.
        times_months: monthly grid from 1 to the trial's horizon.
        survival, lower, upper: point estimate and 95% band at those times.
    """

    arm: str
    times_months: tuple[float, ...]
    survival: tuple[float, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]


@dataclass(frozen=True)
class ContrastWhatIf:
    """Control vs treatment for one patient, from one validated randomised contrast.

    Attributes:
        trial_name, contrast_key, treatment_class, endpoint: what the curves are.
        control, treated: the two arms' curves.
        difference, difference_lower, difference_upper: treated minus control survival and its
            95% band on the same grid.
        hazard_ratio, hazard_ratio_ci95: the patient's hazard ratio treated vs control.
        validation: the held-out check that allowed the curves.
        filled_fields: covariates the record lacked, filled with the trial's median.
        survival_gain_5y: treated minus control survival at 60 months, ``None`` when the trial's
            follow-up (its last event) ends before 60 months.
    """

    trial_name: str
    contrast_key: str
    treatment_class: str
    endpoint: str
    control: ArmCurve
    treated: ArmCurve
    difference: tuple[float, ...]
    difference_lower: tuple[float, ...]
    difference_upper: tuple[float, ...]
    hazard_ratio: float
    hazard_ratio_ci95: tuple[float, float]
    validation: ContrastValidation
    filled_fields: tuple[str, ...]
    survival_gain_5y: float | None


@dataclass(frozen=True)
class ShippedTrialModels:
    """The shipped file: models by trial key and validations by contrast key."""

    models: Mapping[str, TrialModel]
    validations: Mapping[str, ContrastValidation]
    sha256: str


def _validation_from_json(raw: Mapping[str, object]) -> ContrastValidation:
    ci = raw["held_out_ci95"]
    assert isinstance(ci, list) and len(ci) == 2
    c_for_benefit = raw.get("c_for_benefit")
    return ContrastValidation(
        contrast_key=str(raw["contrast_key"]),
        trial_key=str(raw["trial_key"]),
        cancer_type=str(raw["cancer_type"]),
        treatment_class=str(raw["treatment_class"]),
        validated=bool(raw["validated"]),
        reason=str(raw["reason"]),
        n_held_out=int(str(raw["n_held_out"])),
        events_held_out=int(str(raw["events_held_out"])),
        model_average_hr=float(str(raw["model_average_hr"])),
        held_out_hr=float(str(raw["held_out_hr"])),
        held_out_ci95=(float(ci[0]), float(ci[1])),
        published=str(raw["published"]),
        c_for_benefit=None if c_for_benefit is None else float(str(c_for_benefit)),
    )


def validation_to_json(validation: ContrastValidation) -> dict[str, object]:
    """The JSON form of a validation (inverse of the loader's parser)."""
    out: dict[str, object] = dict(validation.__dict__)
    out["held_out_ci95"] = list(validation.held_out_ci95)
    return out


def parse_file(path: Path, *, expected_sha256: str | None) -> ShippedTrialModels:
    """Read a models file, refusing one whose digest differs from ``expected_sha256``."""
    payload = path.read_bytes()
    digest = hashlib.sha256(payload).hexdigest()
    if expected_sha256 is not None and digest != expected_sha256:
        raise ValueError(f"{path.name}: sha256 {digest} differs from the pinned {expected_sha256}")
    raw = json.loads(payload)
    models = {key: TrialModel.from_json(m) for key, m in raw["models"].items()}
    validations = {v["contrast_key"]: _validation_from_json(v) for v in raw["validations"]}
    return ShippedTrialModels(models=models, validations=validations, sha256=digest)


@cache
def load_shipped() -> ShippedTrialModels:
    """The committed models and validations, checked against the pinned sha256."""
    from inference.weights import RCT_WHATIF

    return parse_file(RCT_WHATIF.path, expected_sha256=RCT_WHATIF.sha256)


def trial_cancer_type(oncotree_code: str) -> str:
    """The trials' cancer-type level of a case's OncoTree code (``LUAD`` -> ``LUNG``).

    The trials are filed at the portrait model's levels, so the portrait routing table maps the
    case's code; a code outside it is compared as given.
    """
    code = oncotree_code.strip().upper()
    return PORTRAIT_TYPE_OF.get(code, code)


def _validated(
    shipped: ShippedTrialModels, cancer_type: str, treatment_class: str | None = None
) -> list[ContrastValidation]:
    cancer_type = trial_cancer_type(cancer_type)
    return [
        v
        for v in shipped.validations.values()
        if v.validated
        and v.cancer_type == cancer_type
        and (treatment_class is None or v.treatment_class == treatment_class)
    ]


def not_estimable(
    cancer_type: str, treatment_class: str, shipped: ShippedTrialModels | None = None
) -> str | None:
    """Why the pair has no what-if curve; ``None`` when a validated contrast exists.

    Args:
        cancer_type: OncoTree code of the case (mapped by :func:`trial_cancer_type`).
        treatment_class: ``chemotherapy``, ``endocrine``, ``immunotherapy``, ``radiotherapy`` or
            ``chemotherapy-regimen``.
        shipped: models to use (default: :func:`load_shipped`).
    """
    shipped = shipped or load_shipped()
    if _validated(shipped, cancer_type, treatment_class):
        return None
    level = trial_cancer_type(cancer_type)
    checked = [
        v
        for v in shipped.validations.values()
        if v.cancer_type == level and v.treatment_class == treatment_class
    ]
    prefix = f"not estimable: no randomised evidence in our data for {treatment_class} in "
    if not checked:
        return prefix + f"{cancer_type}"
    failures = "; ".join(
        f"{TRIALS_BY_KEY[v.trial_key].name}: {v.reason}" for v in checked if not v.validated
    )
    return prefix + f"{cancer_type} that our model reproduces ({failures})"


def predict_arms(
    cancer_type: str,
    portrait_fields: Mapping[str, float | None],
    shipped: ShippedTrialModels | None = None,
) -> list[ContrastWhatIf]:
    """Per-arm survival curves for the patient, one entry per validated contrast.

    Args:
        cancer_type: OncoTree code of the case (``COAD``, ``SKCM``, ``IDC``, ...), mapped by
            :func:`trial_cancer_type`.
        portrait_fields: flat portrait vocabulary values; ``None`` (or absent) means unknown and
            is filled with the trial's median (listed in ``filled_fields``).
        shipped: models to use (default: :func:`load_shipped`).

    Returns:
        The validated contrasts of the type, in registry order; empty when there is none.
    """
    shipped = shipped or load_shipped()
    out: list[ContrastWhatIf] = []
    for validation in _validated(shipped, cancer_type):
        trial, contrast = contrast_by_key(validation.contrast_key)
        model = shipped.models[trial.key]
        x, filled = model.standardised(portrait_fields)
        grid = np.arange(GRID_STEP_MONTHS, trial.horizon_months + 1e-9, GRID_STEP_MONTHS)
        control, treated = (
            model.arm_index(contrast.control_arm),
            model.arm_index(contrast.treatment_arm),
        )
        point_lp = model.linear_predictors(x[None, :], model.point())[0, 0]  # (K+1,)
        draw_lp = model.linear_predictors(x[None, :], model.draws())[:, 0, :]  # (D, K+1)
        point = model.survival(point_lp[[control, treated]], grid)  # (2, T)
        draws = model.survival(draw_lp[:, [control, treated]], grid)  # (D, 2, T)
        diff_draws = draws[:, 1, :] - draws[:, 0, :]  # (D, T)
        log_hr = draw_lp[:, treated] - draw_lp[:, control]
        gain_5y = None
        if model.times_months[-1] >= FIVE_YEARS:
            at_5y = model.survival(point_lp[[control, treated]], [FIVE_YEARS])[:, 0]
            gain_5y = round(float(at_5y[1] - at_5y[0]), 5)
        out.append(
            ContrastWhatIf(
                trial_name=trial.name,
                contrast_key=contrast.key,
                treatment_class=contrast.treatment_class,
                endpoint=trial.endpoint,
                control=_curve(contrast.control_arm, grid, point[0], draws[:, 0, :]),
                treated=_curve(contrast.treatment_arm, grid, point[1], draws[:, 1, :]),
                difference=_rounded(point[1] - point[0]),
                difference_lower=_rounded(np.quantile(diff_draws, 0.025, axis=0)),
                difference_upper=_rounded(np.quantile(diff_draws, 0.975, axis=0)),
                hazard_ratio=round(float(np.exp(point_lp[treated] - point_lp[control])), 4),
                hazard_ratio_ci95=(
                    round(float(np.exp(np.quantile(log_hr, 0.025))), 4),
                    round(float(np.exp(np.quantile(log_hr, 0.975))), 4),
                ),
                validation=validation,
                filled_fields=tuple(filled),
                survival_gain_5y=gain_5y,
            )
        )
    return out


def _rounded(values: np.ndarray) -> tuple[float, ...]:
    return tuple(round(float(v), 5) for v in values)


def _curve(arm: str, grid: np.ndarray, point: np.ndarray, draws: np.ndarray) -> ArmCurve:
    return ArmCurve(
        arm=arm,
        times_months=_rounded(grid),
        survival=_rounded(point),
        lower=_rounded(np.quantile(draws, 0.025, axis=0)),
        upper=_rounded(np.quantile(draws, 0.975, axis=0)),
    )


def benefit_for_option(
    cancer_type: str,
    therapy_classes: tuple[str, ...],
    portrait_fields: Mapping[str, float | None],
    shipped: ShippedTrialModels | None = None,
    contrasts: list[ContrastWhatIf] | None = None,
) -> Benefit:
    """The ranking's :class:`~inference.therapy.types.Benefit` of one option from the trials.

    Estimable only for a single treatment class with a validated contrast in the case's cancer
    type (no trial in our data compared a combination of classes against its parts). ``curve`` is
    the trial's treatment arm from time zero, ``control_curve`` its control arm, ``difference``
    their difference at the trial's horizon with its 95% band; ``trial``, ``contrast`` and
    ``agreement`` name the evidence.

    Args:
        contrasts: :func:`predict_arms` for this patient, when the caller already has it.
    """
    shipped = shipped or load_shipped()
    if len(therapy_classes) != 1:
        return Benefit(
            estimable=False,
            reason="Not estimable: no randomised trial in our data compared "
            + " + ".join(therapy_classes)
            + " against its parts.",
            classes=therapy_classes,
        )
    (treatment_class,) = therapy_classes
    refusal = not_estimable(cancer_type, treatment_class, shipped)
    if refusal is not None:
        return Benefit(
            estimable=False, reason=refusal[:1].upper() + refusal[1:] + ".", classes=therapy_classes
        )
    arms = (
        contrasts if contrasts is not None else predict_arms(cancer_type, portrait_fields, shipped)
    )
    # Registry order puts a trial's death endpoint first: the curves are overall survival. The
    # same arm validated on another endpoint of the trial (colon recurrence) is named in the
    # agreement, which the option row and the what-if view both show.
    same_class = [r for r in arms if r.treatment_class == treatment_class]
    result = same_class[0]
    others = [
        r
        for r in same_class[1:]
        if r.treated.arm == result.treated.arm and r.endpoint != result.endpoint
    ]
    agreement = result.validation.agreement
    if others:
        agreement = "; ".join(
            f"on {r.endpoint}: {r.validation.agreement}" for r in (result, *others)
        )
    return Benefit(
        estimable=True,
        reason=f"From the randomised {result.trial_name}: {agreement}.",
        classes=therapy_classes,
        curve=_curve_dict(result.treated),
        survival_at=_landmarks(result.treated),
        delta_5y=result.survival_gain_5y,
        trial=result.trial_name,
        contrast=f"{result.treated.arm} vs {result.control.arm}",
        endpoint=result.endpoint,
        agreement=agreement,
        control_label=result.control.arm,
        control_curve=_curve_dict(result.control),
        difference=(
            result.difference[-1],
            result.difference_lower[-1],
            result.difference_upper[-1],
        ),
        horizon_months=result.treated.times_months[-1],
        filled_fields=result.filled_fields,
    )


def _landmarks(arm: ArmCurve) -> tuple[dict[str, float | int], ...]:
    """1/3/5-year survival of an arm with its band, where the trial's horizon reaches."""
    rows: list[dict[str, float | int]] = []
    for years in (1, 3, 5):
        month = 12.0 * years
        if month in arm.times_months:
            i = arm.times_months.index(month)
            rows.append(
                {
                    "years": years,
                    "survival": arm.survival[i],
                    "lower": arm.lower[i],
                    "upper": arm.upper[i],
                }
            )
    return tuple(rows)


def _curve_dict(curve: ArmCurve) -> dict[str, list[float]]:
    """An arm's curve from time zero (S = 1) for drawing, as stored with the ranking."""
    return {
        "times_months": [0.0, *curve.times_months],
        "survival": [1.0, *curve.survival],
        "lower": [1.0, *curve.lower],
        "upper": [1.0, *curve.upper],
    }
