"""Train an ensemble on one split of a cohort and save a self-contained checkpoint.

Usage::

    python -m inference.training.train --cohort support --out site.pt [--data ../shared/data]

The checkpoint holds the config, the members and the serving extras (conformal calibration,
neighbour bank, out-of-distribution reference, hallmark membership, held-out metrics). Its
sha256 is printed; pin it when loading
(``inference.load_model(checkpoint_path=..., expected_sha256=...)``).
For shipped checkpoints with baselines and a model card use ``inference.training.evaluate --save``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from inference.models import save_checkpoint
from inference.runtime import sha256_of
from inference.training.cohorts import load_cohort
from inference.training.ensemble import serving_extras, train_ensemble
from inference.training.evaluate import DEFAULT_DATA, modalities_for, parse_cli
from inference.training.loop import TrainConfig, predict_survival
from inference.training.scoring import conformal_coverage, score
from inference.training.tables import cohort_from_table


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m inference.training.train", description=__doc__)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--cohort", help="metabric, support, gbsg, whas, tcga_<code>")
    source.add_argument("--table", type=Path, help="a survival table CSV by path")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, required=True, help="checkpoint file to write")
    parser.add_argument("--name", default=None, help="model name (default: the cohort)")
    parser.add_argument("--split", type=int, default=0, help="index of the published split")
    parser.add_argument("--members", type=int, default=TrainConfig.members)
    parser.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    parser.add_argument("--seed", type=int, default=0)
    args = parse_cli(parser, argv)
    try:
        cohort = (
            cohort_from_table(args.table) if args.table else load_cohort(args.cohort, args.data)
        )
    except (ValueError, FileNotFoundError) as exc:
        parser.error(str(exc))
    split = cohort.splits[args.split]
    train = TrainConfig(members=args.members, epochs=args.epochs, seed=args.seed)
    name = args.name or cohort.name
    ensemble = train_ensemble(cohort, split, modalities_for(cohort), train, args.data, name=name)
    extras = serving_extras(ensemble, cohort, args.data)
    grid = np.asarray(ensemble.config.time_edges)
    test = split.test
    _, curves, _ = predict_survival(ensemble.members, ensemble.batch.index(torch.as_tensor(test)))
    t_train, e_train = cohort.times[split.train], cohort.events[split.train]
    held_out = score(grid, curves, cohort.times[test], cohort.events[test], t_train, e_train)
    coverage = conformal_coverage(
        grid, curves, cohort.times[test], cohort.events[test], t_train, e_train,
        ensemble.calibration,
    )  # fmt: skip
    extras["metrics"] = {
        "split": split.name,
        "model": held_out,
        "conformal_coverage": coverage["measured"],
    }
    save_checkpoint(
        args.out, name=name, version=str(np.datetime64("today")), config=ensemble.config,
        members=ensemble.members, extras=extras,
    )  # fmt: skip
    print(f"trained {name} on {len(split.train)} patients in {ensemble.seconds:.1f} s")
    print(
        f"held-out {split.name}: C {held_out['c_index']:.3f}, C_td {held_out['c_td']:.3f}, "
        f"IBS {held_out['ibs']:.3f}, interval coverage {coverage['measured']:.3f}"
    )
    print(f"wrote {args.out} sha256 {sha256_of(args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
