"""Per-cancer-type validation of the shipped pan-cancer checkpoint, and its interval rule.

Usage::

    python -m inference.training.per_type [--data ../shared/data]          # print the table
    python -m inference.training.per_type --write                            # and write the files

The shipped checkpoint is scored as it is (nothing is retrained) on the test split its model card
reports: the published PORPOISE fold of :func:`inference.training.cohorts.load_cohort`, the same
loader and split as ``inference.training.evaluate``. For each TCGA cohort in it: n, events, Harrell
C (beside the report's clinical CoxPH on the same rows), calibration slope at 12/36/60 months
where at least :data:`MIN_AT_RISK` patients are still followed, and the IPCW coverage of the
split-conformal time interval (:mod:`inference.survival.conformal`).

The interval rule (:func:`interval_rule`): a type whose test coverage falls more than
:data:`COVERAGE_TOLERANCE` below nominal gets its own widening, fitted like the pooled one on the
type's patients in the inner calibration split of the training rows (never on test patients), or
no interval at all when that split cannot supply one that holds.

``--write`` stores the facts in ``inference/weights/<model>.per_type.json`` (printing the sha256 to
pin in ``inference/weights/__init__.py``) and the per-type table in the model card and in
``docs/model/validation/tcga_pancancer.{md,json}``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from inference.runtime import sha256_of
from inference.survival import conformal
from inference.survival.metrics import harrell_c
from inference.training import baselines
from inference.training.cohorts import Cohort, Split, load_cohort
from inference.training.ensemble import TrainedEnsemble
from inference.training.evaluate import DEFAULT_DATA, DEFAULT_OUT, load_ensemble, parse_cli
from inference.training.loop import TrainConfig, inner_split, predict_survival
from inference.training.report import per_type_table, replace_section
from inference.training.scoring import calibration_summary, score
from inference.validation import IntervalStatus

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

MODEL = "oncoboard-tcga-pancancer"
COHORT = "tcga_pancancer"
#: The split the model card's metrics use (``evaluate --save`` ships the first split's ensemble).
SPLIT_INDEX = 0
#: Coverage may fall this far below nominal before a type gets its own interval (issue #16).
COVERAGE_TOLERANCE = 0.03
#: Fewest calibration events of a type for its own widening: the split-conformal quantile of
#: fewer is decided by one or two patients.
MIN_CALIBRATION_EVENTS = 10
#: Fewest patients still followed at a landmark for its calibration slope.
MIN_AT_RISK = 10
SECTION = "## Per cancer type"


@dataclass(frozen=True)
class IntervalDecision:
    """What one cancer type's time interval becomes.

    Attributes:
        status: ``ok``, ``widened`` or ``abstained``.
        correction_months: widening to serve; ``None`` when abstained.
        measured_coverage: test coverage of what is served (of the pooled interval when
            abstained, as the reason); ``None`` when it could not be measured.
        reason: one sentence for the page ('' when ``ok``).
    """

    status: IntervalStatus
    correction_months: float | None
    measured_coverage: float | None
    reason: str


def interval_rule(
    *,
    nominal: float,
    measured_test: float,
    pooled_correction: float,
    type_correction: float | None,
    type_events: int,
    measured_widened: float | None,
    tolerance: float = COVERAGE_TOLERANCE,
    min_events: int = MIN_CALIBRATION_EVENTS,
) -> IntervalDecision:
    """Keep, widen or withhold one cancer type's conformal interval.

    Args:
        nominal: nominal coverage (0.8).
        measured_test: IPCW coverage of the pooled interval on the type's test patients.
        pooled_correction: the checkpoint's widening (months).
        type_correction: widening fitted on the type's calibration patients (``None``: none).
        type_events: events among the type's calibration patients.
        measured_widened: test coverage with ``type_correction`` (``None``: not measured).
        tolerance: allowed shortfall below nominal.
        min_events: fewest calibration events for the type's own widening.

    Returns:
        The decision.
    """
    floor = nominal - tolerance
    if not math.isfinite(measured_test):
        return IntervalDecision(
            "abstained", None, None, "no test patient of this type had an event, so the "
            "interval's coverage could not be measured",
        )  # fmt: skip
    if measured_test >= floor:
        return IntervalDecision("ok", pooled_correction, measured_test, "")
    short = (
        f"the interval covered {100 * measured_test:.0f}% of test patients of this type, more "
        f"than {100 * tolerance:.0f} points below the nominal {100 * nominal:.0f}%"
    )
    if type_events < min_events or type_correction is None:
        return IntervalDecision(
            "abstained", None, measured_test, f"{short}; only {type_events} calibration events of "
            f"this type, too few to fit a wider interval",
        )  # fmt: skip
    if type_correction <= pooled_correction:
        return IntervalDecision(
            "abstained", None, measured_test, f"{short}; the calibration patients of this type "
            "call for no wider interval, so none can be fitted without the test patients",
        )  # fmt: skip
    if measured_widened is None or not math.isfinite(measured_widened) or measured_widened < floor:
        after = "not measurable" if measured_widened is None else f"{100 * measured_widened:.0f}%"
        return IntervalDecision(
            "abstained", None, measured_test, f"{short}; widened by this type's calibration "
            f"patients it still falls short ({after})",
        )  # fmt: skip
    return IntervalDecision(
        "widened", type_correction, measured_widened, f"{short}; widened by {type_correction:.1f} "
        f"months instead of {pooled_correction:.1f}, fitted on {type_events} calibration events "
        f"of this type; {100 * measured_widened:.0f}% covered on its test patients",
    )  # fmt: skip


def type_facts(
    grid: FloatArray,
    pooled: conformal.ConformalCalibration,
    *,
    test_curves: FloatArray,
    test_times: FloatArray,
    test_events: FloatArray,
    train_times: FloatArray,
    train_events: FloatArray,
    calibration_curves: FloatArray,
    calibration_times: FloatArray,
    calibration_events: FloatArray,
    fit_times: FloatArray,
    fit_events: FloatArray,
    coxph_risk: FloatArray | None = None,
) -> dict[str, Any]:
    """Test-split scores of one cancer type and its interval decision.

    Censoring differs by cohort (follow-up lengths differ), so the IPCW weights of the type's
    coverage come from the type's own training patients, and its own widening is fitted like the
    pooled one: censoring from the type's fit patients, scores on its calibration patients.

    Args:
        grid: (G,) model grid.
        pooled: the checkpoint's calibration.
        test_curves: (N, G) curves of the type's test patients; outcomes in ``test_*``.
        train_times, train_events: the type's training patients (censoring distribution).
        calibration_curves: (M, G) curves of the type's calibration (inner validation) patients;
            outcomes in ``calibration_*``.
        fit_times, fit_events: the type's fit patients (censoring for the widening).
        coxph_risk: (N,) risk of the report's clinical CoxPH on the same test patients.

    Returns:
        A JSON-ready dictionary.
    """
    scores = score(grid, test_curves, test_times, test_events, train_times, train_events)
    calibration = calibration_summary(
        grid, test_curves, test_times, test_events, min_at_risk=MIN_AT_RISK
    )
    alpha = pooled.alpha
    test_intervals = conformal.model_intervals(grid, test_curves, alpha)
    measured = conformal.measured_coverage(
        train_times, train_events, test_times, test_events, conformal.apply(test_intervals, pooled)
    )
    own = (
        conformal.calibrate(
            fit_times,
            fit_events,
            calibration_times,
            calibration_events,
            conformal.model_intervals(grid, calibration_curves, alpha),
            alpha,
        )  # fmt: skip
        if calibration_events.sum() > 0
        else None
    )
    widened = (
        conformal.measured_coverage(
            train_times,
            train_events,
            test_times,
            test_events,
            conformal.apply(test_intervals, own),
        )  # fmt: skip
        if own is not None and own.correction > pooled.correction
        else None
    )
    decision = interval_rule(
        nominal=pooled.nominal,
        measured_test=measured,
        pooled_correction=pooled.correction,
        type_correction=own.correction if own is not None else None,
        type_events=own.n_events if own is not None else 0,
        measured_widened=widened,
    )
    return {
        "test_n": int(len(test_times)),
        "test_events": int(test_events.sum()),
        "harrell_c": scores["c_index"],
        "c_td": scores["c_td"],
        "ibs": scores["ibs"],
        "coxph_c": (
            harrell_c(test_times, test_events, coxph_risk) if coxph_risk is not None else None
        ),
        "calibration": [
            {k: c[k] for k in ("months", "at_risk", "slope", "intercept", "mean_abs_error")}
            for c in calibration
        ],
        "conformal": {
            "measured_test_pooled": measured,
            "calibration_n": int(len(calibration_times)),
            "calibration_events": own.n_events if own is not None else 0,
            "type_correction_months": own.correction if own is not None else None,
            "measured_test_widened": widened,
        },
        "interval": {
            "status": decision.status,
            "correction_months": decision.correction_months,
            "measured_coverage": decision.measured_coverage,
            "reason": decision.reason,
        },
    }


def calibration_rows(
    cohort: Cohort, split: Split, ensemble: TrainedEnsemble
) -> tuple[IntArray, IntArray]:
    """The inner fit / calibration rows the checkpoint's interval was calibrated on.

    ``train_ensemble`` drew them with :func:`inner_split` at the training defaults; the draw is
    checked against the event count stored with the checkpoint's calibration, so a drifted
    default cannot silently put other patients (or test patients) into the calibration part.

    Raises:
        ValueError: the draw does not reproduce the stored calibration.
    """
    defaults = TrainConfig()
    fit_rows, val_rows = inner_split(
        cohort.events, split.train, defaults.val_fraction, defaults.seed
    )
    events = int(cohort.events[val_rows].sum())
    if events != ensemble.calibration.n_events or np.intersect1d(val_rows, split.test).size:
        raise ValueError(
            f"inner split has {events} calibration events, the checkpoint was calibrated on "
            f"{ensemble.calibration.n_events}; the calibration part cannot be reproduced"
        )
    return fit_rows, val_rows


def score_per_type(
    cohort: Cohort,
    split: Split,
    ensemble: TrainedEnsemble,
    *,
    types: tuple[str, ...] | None = None,
) -> dict[str, dict[str, Any]]:
    """Per-type facts of a loaded checkpoint on ``split``'s test rows.

    Args:
        cohort: the pan-cancer cohort (``cohort.groups`` names each patient's TCGA cohort).
        split: the split the checkpoint was validated on.
        ensemble: the checkpoint (:func:`inference.training.evaluate.load_ensemble`).
        types: only these TCGA cohort codes (default all in the test rows).

    Returns:
        TCGA cohort code -> facts (see :func:`type_facts`), plus its OncoTree codes.
    """
    if cohort.groups is None or cohort.cancer_types is None:
        raise ValueError(f"{cohort.name} has no per-patient cancer type")
    grid = np.asarray(ensemble.config.time_edges)
    fit_rows, val_rows = calibration_rows(cohort, split, ensemble)
    x, _ = baselines.design_matrix(cohort, ("clinical",), split.train)
    cox = baselines.coxph(
        x, cohort.times, cohort.events, split.train, split.test, grid, penalizer=0.1
    )  # the report's CoxPH: age, sex, OncoTree type
    chosen = sorted(set(cohort.groups[split.test])) if types is None else list(types)
    result = {}
    for code in chosen:
        test = split.test[cohort.groups[split.test] == code]
        val = val_rows[cohort.groups[val_rows] == code]
        fit = fit_rows[cohort.groups[fit_rows] == code]
        train = split.train[cohort.groups[split.train] == code]
        _, test_curves, _ = predict_survival(
            ensemble.members, ensemble.batch.index(torch.as_tensor(test))
        )
        _, val_curves, _ = predict_survival(
            ensemble.members, ensemble.batch.index(torch.as_tensor(val))
        )
        facts = type_facts(
            grid, ensemble.calibration,
            test_curves=test_curves, test_times=cohort.times[test], test_events=cohort.events[test],
            train_times=cohort.times[train], train_events=cohort.events[train],
            calibration_curves=val_curves, calibration_times=cohort.times[val],
            calibration_events=cohort.events[val],
            fit_times=cohort.times[fit], fit_events=cohort.events[fit],
            coxph_risk=cox.risk[cohort.groups[split.test] == code],
        )  # fmt: skip
        codes = sorted({str(c) for c in cohort.cancer_types[cohort.groups == code] if c})
        result[code] = {"cohort": f"TCGA-{code.upper()}", "oncotree_codes": codes, **facts}
    return result


def evaluate_shipped(
    data: Path, checkpoint: Path, *, types: tuple[str, ...] | None = None
) -> dict[str, Any]:
    """Score the shipped checkpoint per cancer type; the payload of the per-type JSON.

    Args:
        data: shared data folder.
        checkpoint: the checkpoint file (its pin is checked on load).
        types: only these TCGA cohort codes.

    Returns:
        The JSON-ready payload.
    """
    cohort = load_cohort(COHORT, data)
    split = cohort.splits[SPLIT_INDEX]
    ensemble = load_ensemble(cohort, checkpoint, split)
    per_type = score_per_type(cohort, split, ensemble, types=types)
    return {
        "model": MODEL,
        "checkpoint_sha256": sha256_of(checkpoint),
        "cohort": COHORT,
        "split": split.name,
        "nominal_coverage": ensemble.calibration.nominal,
        "pooled_correction_months": ensemble.calibration.correction,
        "rule": {
            "tolerance": COVERAGE_TOLERANCE,
            "min_calibration_events": MIN_CALIBRATION_EVENTS,
            "min_at_risk_for_slope": MIN_AT_RISK,
            "coverage": "IPCW over the type's test events, censoring from the type's training "
            "patients; widening fitted on the type's inner calibration patients only",
        },
        "types": per_type,
    }


def write_outputs(payload: dict[str, Any], *, weights: Path, reports: Path) -> Path:
    """Write the per-type JSON next to the checkpoint and the table into the card and report.

    Args:
        payload: from :func:`evaluate_shipped`.
        weights: the weights folder.
        reports: the validation report folder.

    Returns:
        The JSON path.
    """
    path = weights / f"{MODEL}.per_type.json"
    path.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n")
    table = per_type_table(payload)
    for markdown in (weights / f"{MODEL}.md", reports / f"{COHORT}.md"):
        markdown.write_text(replace_section(markdown.read_text(), SECTION, table))
    report = reports / f"{COHORT}.json"
    content = json.loads(report.read_text())
    content["per_type"] = payload
    report.write_text(json.dumps(content, indent=1, default=float))
    return path


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    from inference.weights import SHIPPED, WEIGHTS_DIR

    parser = argparse.ArgumentParser(
        prog="python -m inference.training.per_type", description=__doc__
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="validation report folder")
    parser.add_argument("--write", action="store_true", help="write the JSON, card and report")
    args = parse_cli(parser, argv)
    started = time.perf_counter()
    payload = evaluate_shipped(args.data, SHIPPED[MODEL].path)
    seconds = time.perf_counter() - started
    print("\n".join(per_type_table(payload)))
    print(f"\nscored {payload['split']} per cancer type in {seconds:.1f} s")
    if args.write:
        path = write_outputs(payload, weights=WEIGHTS_DIR, reports=args.out)
        print(f"wrote {path.name} sha256 {sha256_of(path)} (pin it in inference/weights)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
