"""Fit a site recalibration on the site's own outcomes and report it beside the active model.

Usage::

    python -m inference.training.recalibrate --table site_training_table.csv --out recal.json

The table is the site training table (``manage.py export_training_table``; the portrait
vocabulary columns, ``time_months``, ``event``, ``cancer_type`` and ``diagnosis_day``). Cases are
split by time: the older part (diagnosed before the cut) fits the parameters, the newer part is
where the site report compares the active model and the recalibrated one, so the report reads
like the next years' patients would. The runtime transform is
:mod:`inference.survival.recalibration`.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from inference.survival import conformal
from inference.survival.kaplan_meier import kaplan_meier_at
from inference.survival.metrics import harrell_c
from inference.survival.recalibration import Recalibration, cloglog

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
REPORT_MONTHS = (12.0, 36.0, 60.0)
#: Smallest subgroup the report shows (as the cohort analytics' default minimum).
MIN_GROUP = 5


@dataclass(frozen=True)
class TemporalSplit:
    """Older (fit) and newer (evaluation) rows and the diagnosis day that separates them."""

    older: IntArray
    newer: IntArray
    cut_day: float


def temporal_split(diagnosis_days: FloatArray, fraction: float = 0.5) -> TemporalSplit:
    """Split cases by diagnosis date: about ``fraction`` of them, the oldest, fit the parameters.

    Every case diagnosed on the cut day or later is newer, so no newer case is older than any
    fitting case (ties are never split).

    Raises:
        ValueError: fewer than two distinct diagnosis days.
    """
    days = np.asarray(diagnosis_days, dtype=np.float64)
    distinct = np.unique(days)
    if len(distinct) < 2:
        raise ValueError("a temporal split needs cases diagnosed on at least two different days")
    cut = float(np.quantile(days, fraction, method="higher"))
    if cut <= distinct[0]:
        cut = float(distinct[1])
    older = np.nonzero(days < cut)[0]
    newer = np.nonzero(days >= cut)[0]
    return TemporalSplit(older=older.astype(np.int64), newer=newer.astype(np.int64), cut_day=cut)


def cox_slope(z: FloatArray, times: FloatArray, events: FloatArray) -> tuple[float, float]:
    """Cox partial-likelihood slope of one covariate (Breslow ties), by Newton's method.

    Returns:
        (slope, standard error).

    Raises:
        ValueError: no events.
    """
    z = np.asarray(z, dtype=np.float64) - float(np.mean(z))
    times, events = np.asarray(times, dtype=np.float64), np.asarray(events, dtype=np.float64)
    if events.sum() <= 0:
        raise ValueError("no events: the slope cannot be estimated")
    order = np.argsort(-times, kind="stable")  # longest first: cumulative sums give risk sets
    z_s, t_s, e_s = z[order], times[order], events[order]
    # The risk set of a time includes every tie: use the last position of each tied block.
    last = np.searchsorted(-t_s, -t_s, side="right") - 1
    beta, info = 0.0, 1.0
    for _ in range(50):
        w = np.exp(beta * z_s)
        s0, s1, s2 = (np.cumsum(w * z_s**k)[last] for k in (0, 1, 2))
        mean = s1 / s0
        grad = float(np.sum(e_s * (z_s - mean)))
        info = float(np.sum(e_s * (s2 / s0 - mean**2)))
        if info <= 0:
            break
        step = grad / info
        beta += float(np.clip(step, -1.0, 1.0))
        if abs(step) < 1e-10:
            break
    return beta, (1.0 / math.sqrt(info)) if info > 0 else float("inf")


def breslow(
    z: FloatArray, slope: float, times: FloatArray, events: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Breslow baseline cumulative hazard for risk ``exp(slope * z)``.

    Returns:
        (times from 0 including every distinct event time, cumulative hazard at them).
    """
    times, events = np.asarray(times, dtype=np.float64), np.asarray(events, dtype=np.float64)
    risk = np.exp(slope * np.asarray(z, dtype=np.float64))
    event_times = np.unique(times[events > 0])
    increments = np.array([events[times == t].sum() / risk[times >= t].sum() for t in event_times])
    grid = np.concatenate([[0.0], event_times])
    return grid, np.concatenate([[0.0], np.cumsum(increments)])


def fit_recalibration(
    z: FloatArray,
    times: FloatArray,
    events: FloatArray,
    *,
    reference_months: float,
    horizon_months: float,
) -> Recalibration:
    """Fit the site baseline and slope on the fitting (older) cases.

    Args:
        z: (N,) ``cloglog`` of the active model's S(reference) for each case.
        times, events: the cases' observed follow-up (months) and deaths.
        reference_months: the time ``z`` was read at.
        horizon_months: the main horizon (stored for the report).

    Raises:
        ValueError: no events, or a slope that is not positive (the model ranks site patients
            backwards: recalibration cannot fix that, retraining may).
    """
    z = np.asarray(z, dtype=np.float64)
    slope, _ = cox_slope(z, times, events)
    if not slope > 0:
        raise ValueError(
            f"the fitted calibration slope is {slope:.2f}: the active model does not rank the "
            "site's patients, so a recalibration would not help"
        )
    centre = float(np.mean(z))
    grid, hazard = breslow(z - centre, slope, times, events)
    at_reference = float(hazard[np.searchsorted(grid, reference_months, side="right") - 1])
    citl = math.log(at_reference) - centre if at_reference > 0 else float("nan")
    return Recalibration(
        reference_months=float(reference_months),
        slope=float(slope),
        z_centre=centre,
        times_months=tuple(float(t) for t in grid),
        cumulative_hazard=tuple(float(h) for h in hazard),
        horizon_months=float(horizon_months),
        n_cases=int(len(z)),
        n_events=int(np.sum(np.asarray(events) > 0)),
        citl_log_hr=citl,
    )


# --- the site report -----------------------------------------------------------------------


@dataclass(frozen=True)
class ModelPredictions:
    """One model's predictions for the evaluation cases.

    Attributes:
        label: what the report calls the model (``"active"``, ``"candidate"``).
        survival_at: months -> (N,) predicted S (NaN where a curve stops before it).
        intervals: (N, 2) time intervals in months (NaN = none; upper inf = beyond follow-up).
    """

    label: str
    survival_at: dict[float, FloatArray]
    intervals: FloatArray


def _block(
    predictions: ModelPredictions,
    rows: IntArray,
    times: FloatArray,
    events: FloatArray,
    horizon: float,
) -> dict[str, Any]:
    """C, calibration-in-the-large, slope and observed vs predicted for ``rows``."""
    t, e = times[rows], events[rows]
    at_h = predictions.survival_at[horizon][rows]
    ok = np.isfinite(at_h)
    observed = kaplan_meier_at(t, e, horizon)
    predicted = float(np.mean(at_h[ok])) if ok.any() else float("nan")
    block: dict[str, Any] = {
        "n": int(len(rows)),
        "events": int(np.sum(e > 0)),
        "c_index": harrell_c(t[ok], e[ok], -at_h[ok]) if ok.sum() > 1 else float("nan"),
        "observed": observed,
        "predicted": predicted,
        "citl": observed - predicted,
        "citl_abs_error": abs(observed - predicted),
    }
    try:
        block["slope"] = cox_slope(cloglog(at_h[ok]), t[ok], e[ok])[0]
    except ValueError:
        block["slope"] = float("nan")
    return block


def site_report(
    models: list[ModelPredictions],
    times: FloatArray,
    events: FloatArray,
    *,
    horizon: float,
    fit_times: FloatArray,
    fit_events: FloatArray,
    groups: dict[str, npt.NDArray[np.str_]] | None = None,
    min_group: int = MIN_GROUP,
) -> dict[str, Any]:
    """Every model on the same evaluation (newer) cases, overall and per subgroup.

    Args:
        models: the active model and the candidate (and any others), same rows.
        times, events: observed follow-up of the evaluation cases.
        horizon: the main horizon in months.
        fit_times, fit_events: the fitting cases (for the censoring distribution of coverage).
        groups: subgroup name -> (N,) value per case (cancer type, stage group, age band, sex).
        min_group: smaller subgroups are not shown.
    """
    times, events = np.asarray(times, dtype=np.float64), np.asarray(events, dtype=np.float64)
    everyone = np.arange(len(times))
    report: dict[str, Any] = {"horizon_months": horizon, "n": int(len(times)), "models": {}}
    for model in models:
        overall = _block(model, everyone, times, events, horizon)
        overall["at_months"] = [
            {
                "months": m,
                "observed": kaplan_meier_at(times, events, m),
                "predicted": float(np.nanmean(model.survival_at[m])),
                "reached": int(np.isfinite(model.survival_at[m]).sum()),
            }
            for m in sorted(model.survival_at)
            if np.isfinite(model.survival_at[m]).any() and times.max() >= m
        ]
        has = np.all(np.isfinite(model.intervals[:, :1]), axis=1)
        overall["interval_coverage"] = (
            conformal.measured_coverage(
                fit_times, fit_events, times[has], events[has], model.intervals[has]
            )
            if has.any()
            else float("nan")
        )
        subgroups: dict[str, dict[str, Any]] = {}
        for name, values in (groups or {}).items():
            values = np.asarray(values).astype(str)
            subgroups[name] = {}
            for value in sorted(set(values)):
                rows = np.nonzero(values == value)[0].astype(np.int64)
                if len(rows) >= min_group and value:
                    subgroups[name][value] = _block(model, rows, times, events, horizon)
        overall["subgroups"] = subgroups
        report["models"][model.label] = overall
    return report


def survival_table(
    curves: list[tuple[FloatArray, FloatArray]], months: tuple[float, ...]
) -> dict[float, FloatArray]:
    """S at each of ``months`` for (grid, survival) curves of any length (NaN beyond a curve)."""
    from inference.survival.curves import survival_at_months

    out = {}
    for m in months:
        values = [survival_at_months(grid, s, m) for grid, s in curves]
        out[m] = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    return out


# --- command line: recalibrate the shipped portrait model on an exported table ---------------


def _portrait_predictions(table: Any) -> list[Any]:
    """The shipped portrait model's prediction for each row (absent fields masked)."""
    import pandas as pd

    from inference.portrait.predictor import load_portrait_predictor
    from inference.portrait.vocabulary import FEATURE_NAMES, portrait_from_flat

    predictor = load_portrait_predictor()
    out = []
    for i, row in table.iterrows():
        values = {n: pd.to_numeric(row.get(n), errors="coerce") for n in FEATURE_NAMES}
        flat = {n: (float(v) if np.isfinite(v) else None) for n, v in values.items()}
        portrait = portrait_from_flat(flat, str(row["cancer_type"]))
        out.append(predictor.predict(str(i), portrait))
    return out


def main(argv: list[str] | None = None) -> int:
    """Fit on the table's older cases with the shipped portrait model; print the report."""
    import pandas as pd

    from inference.survival.recalibration import recalibrate_prediction
    from inference.training.tables import load_table

    parser = argparse.ArgumentParser(
        prog="python -m inference.training.recalibrate", description=__doc__
    )
    parser.add_argument("--table", type=Path, required=True, help="site training table (CSV)")
    parser.add_argument("--out", type=Path, required=True, help="parameters JSON to write")
    parser.add_argument("--horizon", type=float, default=36.0, help="main horizon in months")
    parser.add_argument("--fraction", type=float, default=0.5, help="share of older cases")
    args = parser.parse_args(argv)
    frame: pd.DataFrame = load_table(args.table).frame
    predictions = _portrait_predictions(frame)
    report = recalibration_from_predictions(
        predictions,
        frame["time_months"].to_numpy(dtype=np.float64),
        frame["event"].to_numpy(dtype=np.float64),
        frame["diagnosis_day"].to_numpy(dtype=np.float64),
        horizon=args.horizon,
        fraction=args.fraction,
        recalibrate=recalibrate_prediction,
    )
    args.out.write_text(json.dumps(report, indent=1, default=float))
    for label, block in report["report"]["models"].items():
        print(
            f"{label:10} C {block['c_index']:.3f}  |CITL| {block['citl_abs_error']:.3f}  "
            f"slope {block['slope']:.2f}  coverage {block['interval_coverage']:.2f}"
        )
    print(f"wrote {args.out}")
    return 0


def recalibration_from_predictions(
    predictions: list[Any],
    times: FloatArray,
    events: FloatArray,
    diagnosis_days: FloatArray,
    *,
    horizon: float,
    recalibrate: Any,
    fraction: float = 0.5,
    groups: dict[str, npt.NDArray[np.str_]] | None = None,
) -> dict[str, Any]:
    """The whole fit: split by date, fit on the older cases, report both models on the newer.

    Args:
        predictions: the active model's ``SurvivalPrediction`` per case (abstentions are left out).
        times, events, diagnosis_days: per case.
        horizon: main horizon in months.
        recalibrate: ``recalibrate_prediction`` (passed in to keep this module's imports small).
        fraction: share of older cases.
        groups: subgroup values per case.

    Returns:
        ``{"parameters": ..., "split": ..., "report": ...}``.

    Raises:
        ValueError: too few cases or events to fit.
    """
    usable = np.array([p.status == "ok" for p in predictions])
    curves = [(np.asarray(p.curve.times_months), np.asarray(p.curve.survival)) for p in predictions]
    reach = np.array([float(g[-1]) for g, _ in curves])
    reference = horizon if np.mean(reach[usable] >= horizon) >= 0.9 else 12.0
    usable &= reach >= reference
    idx = np.nonzero(usable)[0]
    if len(idx) < 20:
        raise ValueError(f"{len(idx)} site cases with a prediction and follow-up; 20 are needed")
    split = temporal_split(np.asarray(diagnosis_days, dtype=np.float64)[idx], fraction)
    older, newer = idx[split.older], idx[split.newer]
    times, events = np.asarray(times, dtype=np.float64), np.asarray(events, dtype=np.float64)
    table = survival_table(curves, (reference,))
    params = fit_recalibration(
        cloglog(table[reference][older]), times[older], events[older],
        reference_months=reference, horizon_months=horizon,
    )  # fmt: skip
    candidate = [recalibrate(predictions[i], params) for i in newer]
    active = [predictions[i] for i in newer]
    months = tuple(sorted({*REPORT_MONTHS, horizon}))
    models = [_model_predictions("active", active, months)]
    models.append(_model_predictions("candidate", candidate, months))
    report = site_report(
        models, times[newer], events[newer], horizon=horizon,
        fit_times=times[older], fit_events=events[older],
        groups={k: np.asarray(v)[newer] for k, v in (groups or {}).items()},
    )  # fmt: skip
    return json_safe(
        {
            "parameters": params.to_json(),
            "split": {
                "cut_day": split.cut_day,
                "older": int(len(older)),
                "newer": int(len(newer)),
                "left_out": int(len(predictions) - len(idx)),
            },
            "report": report,
        }
    )


def json_safe(value: Any) -> Any:
    """Plain JSON: numpy numbers as Python ones, NaN and infinities as None (not valid JSON)."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _model_predictions(label: str, predictions: list[Any], months: tuple[float, ...]) -> Any:
    curves = [(np.asarray(p.curve.times_months), np.asarray(p.curve.survival)) for p in predictions]
    intervals = np.array(
        [
            (
                p.time_interval.lower_months,
                math.inf if p.time_interval.upper_months is None else p.time_interval.upper_months,
            )
            if p.time_interval is not None
            else (math.nan, math.nan)
            for p in predictions
        ],
        dtype=np.float64,
    ).reshape(-1, 2)
    return ModelPredictions(label, survival_table(curves, months), intervals)


if __name__ == "__main__":
    raise SystemExit(main())
