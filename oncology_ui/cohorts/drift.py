"""Input drift of a registered model, month by month, and how a shadow model agrees with the
served one on the same cases."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import spearmanr

from inference.weights import time_zero_of
from oncology_ui.analysis.models import Prediction
from oncology_ui.cohorts.monitoring import (
    SUBGROUPS,
    HorizonCheck,
    Scored,
    horizon_checks,
    latest_per_case,
    served_predictions,
)
from oncology_ui.cohorts.selectors import (
    LANDMARK_YEARS,
    Withheld,
    min_group_size,
)
from oncology_ui.modelregistry.models import RegisteredModel

#: Where the registry's validation summary may carry the training distribution of key inputs:
#: ``{"age": {"mean": 61.2, "sd": 12.5}, "stage": {"Stage I": 0.3, ...}}``.
TRAINING_DISTRIBUTION_KEY = "input_distribution"


@dataclass(frozen=True)
class MonthDrift(Withheld):
    """One calendar month of predictions.

    Attributes:
        missing: share of the month's predictions lacking each input.
        age_shift: (mean age - reference mean) / reference SD.
        stage_shift: total variation distance of the stage-group shares from the reference's.
    """

    month: str
    shown: bool
    predictions: int | None = None
    missing: tuple[tuple[str, float], ...] = ()
    age_mean: float | None = None
    age_shift: float | None = None
    stage_shift: float | None = None


@dataclass(frozen=True)
class InputDrift:
    reference: str
    inputs: tuple[str, ...]
    months: tuple[MonthDrift, ...]

    @property
    def missing_by_input(self) -> list[tuple[str, list[float | None]]]:
        """Per input, its share missing in each month (``None``: the month is withheld)."""
        return [
            (name, [dict(m.missing).get(name) if m.shown else None for m in self.months])
            for name in self.inputs
        ]


def _stage_shares(records: list[Scored]) -> dict[str, float]:
    stage_of = dict(SUBGROUPS)["stage group"]
    counts: dict[str, int] = {}
    for record in records:
        key = stage_of(record)[0]
        counts[key] = counts.get(key, 0) + 1
    return {key: count / len(records) for key, count in counts.items()}


def _distance(shares: dict[str, float], reference: dict[str, float]) -> float:
    keys = set(shares) | set(reference)
    return 0.5 * sum(abs(shares.get(k, 0.0) - reference.get(k, 0.0)) for k in keys)


def input_drift(model: RegisteredModel, records: list[Scored]) -> InputDrift:
    """Share of missing inputs per month, and the shift of age and stage from a reference.

    The reference is the training distribution when the registry row's validation summary gives
    it (``input_distribution``), else the model's first month with enough patients to be shown;
    ``reference`` says which. A month with fewer patients than the minimum is withheld.
    """
    by_month: dict[str, list[Scored]] = {}
    for record in records:
        by_month.setdefault(record.made_on.strftime("%Y-%m"), []).append(record)
    inputs = tuple(sorted({name for r in records for name in r.inputs_missing}))
    shown = {
        month: rows
        for month, rows in by_month.items()
        if len({r.case.patient_id for r in rows}) >= min_group_size()
    }
    given = (model.validation_summary or {}).get(TRAINING_DISTRIBUTION_KEY) or {}
    age_ref = given.get("age") or {}
    if age_ref.get("mean") is not None and age_ref.get("sd"):
        reference = "the training distribution in the model's registry entry"
        age_mean, age_sd = float(age_ref["mean"]), float(age_ref["sd"])
        stage_ref = {str(k): float(v) for k, v in (given.get("stage") or {}).items()}
    elif shown:
        first = min(shown)
        reference = f"the model's first month of predictions shown here ({first})"
        ages = np.array([r.age for r in shown[first]], dtype=np.float64)
        age_mean, age_sd = float(ages.mean()), float(ages.std(ddof=1)) if len(ages) > 1 else 0.0
        stage_ref = _stage_shares(shown[first])
    else:
        reference, age_mean, age_sd, stage_ref = "", 0.0, 0.0, {}
    months = []
    for month in sorted(by_month):
        rows = by_month[month]
        if month not in shown:
            months.append(MonthDrift(month, shown=False))
            continue
        mean = float(np.mean([r.age for r in rows]))
        months.append(
            MonthDrift(
                month=month,
                shown=True,
                predictions=len(rows),
                missing=tuple(
                    (name, sum(name in r.inputs_missing for r in rows) / len(rows))
                    for name in inputs
                ),
                age_mean=mean,
                age_shift=(mean - age_mean) / age_sd if age_sd > 0 else None,
                stage_shift=_distance(_stage_shares(rows), stage_ref) if stage_ref else None,
            )
        )
    return InputDrift(reference=reference, inputs=inputs, months=tuple(months))


@dataclass(frozen=True)
class ShadowComparison(Withheld):
    """A shadow model beside the served prediction of the same analysis runs."""

    shown: bool
    pairs: int | None = None
    risk_agreement: float | None = None
    mean_abs_difference: tuple[tuple[int, float], ...] = ()
    served_checks: tuple[HorizonCheck, ...] = ()
    shadow_checks: tuple[HorizonCheck, ...] = ()
    served_models: tuple[str, ...] = ()

    @property
    def horizons(self) -> list[tuple[HorizonCheck, HorizonCheck]]:
        """(served, shadow) check at each horizon, for the side-by-side table."""
        return list(zip(self.served_checks, self.shadow_checks, strict=True))


def shadow_comparison(
    shadow: RegisteredModel, records: list[Scored], band: float
) -> ShadowComparison:
    """Agreement of risk scores (Spearman) and calibration of each, on the cases both scored.

    Pairs are the latest run per case where the shadow and the served model both gave a curve.
    """
    runs = {r.run_id: r for r in latest_per_case(records)}
    served_rows = Prediction.objects.filter(run_id__in=runs, status=Prediction.Status.OK)
    served_by_run = {
        scored.run_id: scored
        for scored in served_predictions(served_rows, time_zero_of(shadow.name))
        if scored.survival_at
    }
    labels = {
        f"{name} {version}" if name else fallback
        for name, version, fallback in served_rows.values_list(
            "registered_model__name", "registered_model__version", "model_name"
        )
    }
    pairs = [(runs[run], served) for run, served in served_by_run.items()]
    if len({shadow_row.case.patient_id for shadow_row, _ in pairs}) < min_group_size():
        return ShadowComparison(shown=False)
    shadow_side = [s for s, _ in pairs]
    served_side = [p for _, p in pairs]
    risks = [(s.risk, p.risk) for s, p in pairs if s.risk is not None and p.risk is not None]
    rho = float(spearmanr(*zip(*risks, strict=True)).statistic) if len(risks) > 2 else None
    differences = tuple(
        (years, float(np.mean([abs(s.survival_at[years] - p.survival_at[years]) for s, p in both])))
        for years in LANDMARK_YEARS
        if (both := [(s, p) for s, p in pairs if years in s.survival_at and years in p.survival_at])
    )
    return ShadowComparison(
        shown=True,
        pairs=len(pairs),
        risk_agreement=None if rho is None or np.isnan(rho) else rho,
        mean_abs_difference=differences,
        served_checks=horizon_checks(served_side, band),
        shadow_checks=horizon_checks(shadow_side, band),
        served_models=tuple(sorted(labels)),
    )
