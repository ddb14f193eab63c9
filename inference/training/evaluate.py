"""Evaluate the fusion model against CoxPH and RSF on the published splits and write the report.

Usage::

    python -m inference.training.evaluate --cohort metabric --cohort support [--data ../shared/data]
    python -m inference.training.evaluate --cohort tcga_blca ... --singles
    python -m inference.training.evaluate --cohort metabric --save   # also writes the checkpoint
    python -m inference.training.evaluate --cohort metabric --quick  # shipped weights

For every split: the ensemble is trained on the training rows (early stopping and interval
calibration on an inner validation split of them), and the model, its modality ablations
(modalities hidden through the mask), optionally single-modality models trained alone, and the
baselines are scored on the same test rows. Reports go to
``docs/model/validation/<cohort>.{md,json,png}``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from inference.models import load_members, save_checkpoint
from inference.models.config import ModelConfig
from inference.runtime import sha256_of
from inference.schema import MODALITIES
from inference.survival import conformal
from inference.training import baselines
from inference.training.cohorts import Cohort, Split, load_cohort
from inference.training.ensemble import TrainedEnsemble, serving_extras, train_ensemble
from inference.training.loop import (
    TrainConfig,
    cohort_batch,
    predict_survival,
    with_modalities,
)
from inference.training.report import write_model_card, write_report
from inference.training.scoring import calibration_summary, conformal_coverage, score
from inference.training.tables import cohort_from_table

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data"
DEFAULT_OUT = REPO_ROOT / "docs" / "model" / "validation"
WEIGHTS = REPO_ROOT / "inference" / "weights"
TCGA_MODALITIES = ("clinical", "mutations", "copy_number", "expression")
GENOMIC = ("mutations", "copy_number", "expression")

MODALITY_SETS: dict[str, tuple[str, ...]] = {
    "metabric": ("clinical", "expression", "treatment"),
    "support": ("clinical", "labs"),
    "gbsg": ("clinical", "treatment"),
    "whas": ("clinical",),
}
SHIPPED_NAMES = {
    "metabric": "oncoboard-metabric",
    "support": "oncoboard-support",
    "tcga_pancancer": "oncoboard-tcga-pancancer",
}


def modalities_for(cohort: str | Cohort) -> tuple[str, ...]:
    """Modalities trained for a cohort (a table read by path: the modalities it has)."""
    if isinstance(cohort, Cohort):
        if cohort.splits and cohort.splits[0].name == "table":
            return tuple(cohort.tabular) + (("treatment",) if cohort.treatments else ())
        cohort = cohort.name
    return MODALITY_SETS.get(cohort, TCGA_MODALITIES)


def columns_for(cohort: Cohort, config: ModelConfig) -> dict[str, np.ndarray]:
    """Cohort columns matching a stored config's feature names (for evaluating a checkpoint).

    A feature the cohort lacks gets index -1, which :func:`cohort_batch` reads as an all-NaN
    column: the model sees it as not measured (masked), as for a case that lacks it.
    """
    columns = {}
    for modality, spec in config.tabular_specs().items():
        if spec is None or modality not in cohort.names:
            continue
        index = {n: i for i, n in enumerate(cohort.names[modality])}
        columns[modality] = np.array([index.get(n, -1) for n in spec.names], dtype=np.int64)
    return columns


def input_coverage(cohort: Cohort, config: ModelConfig) -> dict[str, Any]:
    """How many of the model's inputs the cohort has, per modality and in all."""
    per: dict[str, dict[str, int]] = {}
    for modality, spec in config.tabular_specs().items():
        if spec is None:
            continue
        have = set(cohort.names.get(modality, ()))
        per[modality] = {"present": sum(n in have for n in spec.names), "inputs": len(spec.names)}
    present = sum(v["present"] for v in per.values())
    total = sum(v["inputs"] for v in per.values())
    return {"present": present, "inputs": total, "by_modality": per}


def _mean(rows: list[dict[str, float]]) -> dict[str, float]:
    keys = rows[0].keys() if rows else []
    return {k: float(np.nanmean([r[k] for r in rows])) for k in keys}


def _scores_by_cancer(
    cohort: Cohort, test: np.ndarray, grid: np.ndarray, curves: np.ndarray, split: Split
) -> dict[str, dict[str, float]]:
    """Per cancer-type-cohort scores for pan-cancer models (keyed by TCGA cohort code)."""
    if cohort.groups is None or len(set(cohort.groups)) < 2:
        return {}
    result = {}
    prefixes = cohort.groups[test]
    for code in sorted(set(prefixes)):
        rows = prefixes == code
        result[code] = score(
            grid, curves[rows], cohort.times[test][rows], cohort.events[test][rows],
            cohort.times[split.train], cohort.events[split.train],
        )  # fmt: skip
    return result


def evaluate_split(
    cohort: Cohort,
    split: Split,
    train: TrainConfig,
    data: Path,
    *,
    rsf: bool,
    singles: bool,
    ensemble: TrainedEnsemble | None = None,
) -> tuple[dict[str, Any], TrainedEnsemble]:
    """Train (unless given) and score one split.

    Args:
        cohort: the cohort.
        split: the split.
        train: settings.
        data: shared data folder.
        rsf: also fit the random survival forest.
        singles: also train single-modality models.
        ensemble: an already trained (or loaded) ensemble.

    Returns:
        Scores and the ensemble.
    """
    modalities = ensemble.modalities if ensemble is not None else modalities_for(cohort)
    if ensemble is None:
        ensemble = train_ensemble(cohort, split, modalities, train, data, name=cohort.name)
    grid = np.asarray(ensemble.config.time_edges)
    test, train_rows = split.test, split.train
    t_test, e_test = cohort.times[test], cohort.events[test]
    t_train, e_train = cohort.times[train_rows], cohort.events[train_rows]
    if len(train_rows) == 0:
        # A whole table scored by a checkpoint: its own follow-up gives the censoring weights.
        t_train, e_train = t_test, e_test
    test_batch = ensemble.batch.index(torch.as_tensor(test))
    started = time.perf_counter()
    members, mean, _ = predict_survival(ensemble.members, test_batch)
    predict_seconds = time.perf_counter() - started
    result: dict[str, Any] = {
        "split": split.name,
        "n_train": int(len(train_rows)),
        "n_test": int(len(test)),
        "events_test": int(e_test.sum()),
        "train_seconds": ensemble.seconds,
        "predict_seconds_per_case": predict_seconds / max(len(test), 1),
        "model": score(grid, mean, t_test, e_test, t_train, e_train),
        "members": [score(grid, m, t_test, e_test, t_train, e_train) for m in members],
        "calibration": calibration_summary(grid, mean, t_test, e_test),
        "conformal": conformal_coverage(
            grid, mean, t_test, e_test, t_train, e_train, ensemble.calibration
        ),
    }
    by_cancer = _scores_by_cancer(cohort, test, grid, mean, split)
    if by_cancer:
        result["by_cohort"] = by_cancer
    present = [m for m in modalities if m in MODALITIES]
    ablations: dict[str, dict[str, float]] = {}
    if len(present) > 1:
        for modality in present:
            _, alone, _ = predict_survival(
                ensemble.members, with_modalities(test_batch, (modality,))
            )
            ablations[f"only {modality}"] = score(grid, alone, t_test, e_test, t_train, e_train)
            others = tuple(m for m in present if m != modality)
            _, removed, _ = predict_survival(ensemble.members, with_modalities(test_batch, others))
            ablations[f"without {modality}"] = score(
                grid, removed, t_test, e_test, t_train, e_train
            )
    result["ablations_masked"] = ablations
    if singles and len(present) > 1:
        trained_alone: dict[str, dict[str, float]] = {}
        # A modality the cohort does not have (UCEC has no RNA table) is not a single model.
        available = [m for m in present if m in cohort.tabular]
        groups: dict[str, tuple[str, ...]] = {m: (m,) for m in available}
        if set(GENOMIC) <= set(present):
            groups["genomics"] = GENOMIC
        single_train = replace(train, members=1)
        for label, subset in groups.items():
            alone_ens = train_ensemble(cohort, split, subset, single_train, data, name=label)
            _, curves, _ = predict_survival(
                alone_ens.members, alone_ens.batch.index(torch.as_tensor(test))
            )
            trained_alone[label] = score(grid, curves, t_test, e_test, t_train, e_train)
        result["trained_alone"] = trained_alone
    if len(train_rows) == 0:
        result["baseline_features"] = []
        return result, ensemble  # no training rows here for the baselines to fit on
    baseline_modalities = ("clinical",) if cohort.name.startswith("tcga") else modalities
    x, _ = baselines.design_matrix(cohort, baseline_modalities, train_rows)
    cox = baselines.coxph(
        x, cohort.times, cohort.events, train_rows, test, grid,
        penalizer=0.1 if cohort.name.startswith("tcga") else 0.0,
    )  # fmt: skip
    result["coxph"] = score(grid, cox.survival, t_test, e_test, t_train, e_train, risk=cox.risk)
    result["coxph"]["seconds"] = cox.seconds
    if rsf:
        forest = baselines.random_survival_forest(
            x, cohort.times, cohort.events, train_rows, test, grid
        )
        result["rsf"] = score(
            grid, forest.survival, t_test, e_test, t_train, e_train, risk=forest.risk
        )
        result["rsf"]["seconds"] = forest.seconds
    result["baseline_features"] = list(baseline_modalities)
    return result, ensemble


def aggregate(splits: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean over splits of every score block."""
    summary: dict[str, Any] = {}
    for key in ("model", "coxph", "rsf"):
        if key in splits[0]:
            summary[key] = _mean([s[key] for s in splits])
    for key in ("ablations_masked", "trained_alone", "by_cohort"):
        if key in splits[0]:
            summary[key] = {
                label: _mean([s[key][label] for s in splits]) for label in splits[0][key]
            }
    summary["conformal"] = _mean([s["conformal"] for s in splits])
    summary["train_seconds"] = float(np.mean([s["train_seconds"] for s in splits]))
    calibrations: dict[float, list[dict[str, float]]] = {}
    for s in splits:
        for c in s["calibration"]:
            calibrations.setdefault(c["months"], []).append(
                {
                    "slope": c["slope"],
                    "intercept": c["intercept"],
                    "mean_abs_error": c["mean_abs_error"],
                }
            )
    summary["calibration"] = {str(k): _mean(v) for k, v in calibrations.items()}
    return summary


def load_ensemble(cohort: Cohort, path: Path, split: Split) -> TrainedEnsemble:
    """Wrap a saved checkpoint as an ensemble for scoring on ``split``'s test rows."""
    from inference.weights import SHIPPED

    pinned = next((s.sha256 for s in SHIPPED.values() if s.path == path.resolve()), None)
    members, meta = load_members(path, expected_sha256=pinned)
    config = members[0].config
    batch = cohort_batch(cohort, config, columns_for(cohort, config))
    calibration = meta["extras"]["calibration"]
    return TrainedEnsemble(
        config=config,
        members=members,
        batch=batch,
        fit_rows=split.train,
        val_rows=split.train[:0],
        split=split,
        calibration=conformal.ConformalCalibration(
            alpha=float(calibration["alpha"]),
            correction=float(calibration["correction"]),
            n_events=int(calibration["n_events"]),
        ),
        seconds=0.0,
        modalities=tuple(meta["extras"]["trained_modalities"])
        + (("treatment",) if config.treatments else ()),
    )


def evaluate_cohort(
    name: str,
    data: Path,
    train: TrainConfig,
    *,
    folds: list[int] | None,
    rsf: bool,
    singles: bool,
    checkpoint: Path | None = None,
    save: bool = False,
    out: Path = DEFAULT_OUT,
    table: Path | None = None,
) -> dict[str, Any]:
    """Evaluate one cohort and write its report (and checkpoint with ``save``).

    Args:
        name: cohort name.
        data: shared data folder.
        train: settings.
        folds: split indices to run (default all).
        rsf: fit the RSF baseline.
        singles: train single-modality models.
        checkpoint: score this checkpoint on the first selected split instead of training.
        save: save the first split's ensemble as the shipped checkpoint with its model card.
        out: report folder.
        table: read the cohort from this table (:mod:`inference.training.tables`) instead.

    Returns:
        The report dictionary (also written as JSON).
    """
    cohort = cohort_from_table(table) if table is not None else load_cohort(name, data)
    chosen = [cohort.splits[i] for i in (folds if folds is not None else range(len(cohort.splits)))]
    results, first = [], None
    for index, split in enumerate(chosen):
        loaded = load_ensemble(cohort, checkpoint, split) if checkpoint and index == 0 else None
        result, ensemble = evaluate_split(
            cohort, split, train, data, rsf=rsf, singles=singles, ensemble=loaded
        )
        logger.info("%s %s: %s", name, split.name, result["model"])
        results.append(result)
        if index == 0:
            first = ensemble
        if checkpoint:
            break
    report: dict[str, Any] = {
        "cohort": name,
        "outcome": cohort.outcome,
        "source": cohort.source,
        "modalities": list(first.modalities if first is not None else modalities_for(cohort)),
        "time_grid_months": list(cohort.time_edges),
        "ibs_time_grid": (
            "model grid points from the first step to the 90th percentile of test follow-up"
        ),
        "train_config": asdict(train),
        "date": dt.date.today().isoformat(),
        "splits": results,
        "summary": aggregate(results),
        "checkpoint": str(checkpoint) if checkpoint else None,
    }
    if first is not None:
        report["input_coverage"] = input_coverage(cohort, first.config)
    out.mkdir(parents=True, exist_ok=True)
    write_report(report, out / name)
    if save and first is not None and name in SHIPPED_NAMES:
        shipped = SHIPPED_NAMES[name]
        extras = serving_extras(first, cohort, data)
        extras["metrics"] = {
            "split": results[0]["split"],
            "model": results[0]["model"],
            "coxph": results[0]["coxph"],
            "rsf": results[0].get("rsf"),
            "conformal_coverage": results[0]["conformal"]["measured"],
            "calibration": results[0]["calibration"],
        }
        path = WEIGHTS / f"{shipped}.pt"
        save_checkpoint(
            path, name=shipped, version=report["date"], config=first.config,
            members=first.members, extras=extras,
        )  # fmt: skip
        digest = sha256_of(path)
        write_model_card(report, extras, shipped, digest, WEIGHTS / f"{shipped}.md")
        print(f"saved {path.name} sha256 {digest}")
        if name == "tcga_pancancer":
            # Its per-type validation describes the old weights and is refused with the new ones.
            print("now rerun python -m inference.training.per_type --write and pin its JSON")
    return report


def parse_cli(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """Parse a training command line (adding ``--threads``), set up logging and torch threads.

    The parser must have a ``--data`` option; a data folder that does not exist is a usage error.
    """
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    torch.set_num_threads(args.threads)
    if not args.data.exists():
        parser.error(f"data folder {args.data} not found (pass --data ../shared/data)")
    return args


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m inference.training.evaluate", description=__doc__
    )
    parser.add_argument("--cohort", action="append", default=[], help="cohort name (repeatable)")
    parser.add_argument(
        "--table", type=Path, action="append", default=[], help="a survival table CSV by path"
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--folds", type=str, default=None, help="comma-separated split indices")
    parser.add_argument("--members", type=int, default=TrainConfig.members)
    parser.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-rsf", action="store_true", help="skip the random survival forest")
    parser.add_argument("--singles", action="store_true", help="train single-modality models too")
    parser.add_argument(
        "--save", action="store_true", help="save split 0 as the shipped checkpoint"
    )
    parser.add_argument("--checkpoint", type=Path, default=None, help="score a saved checkpoint")
    args = parse_cli(parser, argv)
    train = TrainConfig(members=args.members, epochs=args.epochs, seed=args.seed)
    folds = [int(f) for f in args.folds.split(",")] if args.folds else None
    if not args.cohort and not args.table:
        parser.error("name a --cohort or a --table")
    if args.table and args.save:
        parser.error("--save writes a shipped checkpoint; it takes a named cohort")
    runs = [(name, None) for name in args.cohort] + [(path.stem, path) for path in args.table]
    for name, table in runs:
        try:
            report = evaluate_cohort(
                name, args.data, train, folds=folds, rsf=not args.no_rsf, singles=args.singles,
                checkpoint=args.checkpoint, save=args.save, out=args.out, table=table,
            )  # fmt: skip
        except (ValueError, FileNotFoundError) as exc:
            parser.error(str(exc))
        summary = report["summary"]
        print(f"\n{name}: {len(report['splits'])} split(s)")
        coverage = report.get("input_coverage")
        if coverage:
            print(f"the table had {coverage['present']} of the model's {coverage['inputs']} inputs")
        print(f"{'model':28} {'C':>7} {'C_td':>7} {'IBS':>7}")
        rows = [("fusion ensemble", summary["model"])]
        if "coxph" in summary:
            rows.append(("CoxPH", summary["coxph"]))
        if "rsf" in summary:
            rows.append(("RSF-100", summary["rsf"]))
        rows += [(k, v) for k, v in summary.get("trained_alone", {}).items()]
        rows += [(f"mask: {k}", v) for k, v in summary.get("ablations_masked", {}).items()]
        for label, s in rows:
            print(f"{label:28} {s['c_index']:7.3f} {s['c_td']:7.3f} {s['ibs']:7.3f}")
        print(
            f"conformal coverage {summary['conformal']['measured']:.3f} "
            f"(nominal {summary['conformal']['nominal']:.2f})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
