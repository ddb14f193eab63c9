"""Train the generative model on the training part of one published fold and save it.

    nice -n 10 python -m inference.training.generative_train --fold 0 \\
        --out inference/weights/generative/generative.pt

The held-out part of the fold is never read; an inner validation part of the training rows
chooses the stopping epoch and calibrates the intervals. Prints the checkpoint's sha256: pin it
as ``SHIPPED_SHA256`` in ``inference/generative/model.py`` when the file is committed.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import torch

from inference.generative.data import COHORTS, default_data_dir, folds_split, load_cohorts
from inference.generative.model import load_generative, save_generative
from inference.generative.train import (
    default_config,
    recalibrate,
    refit_linear,
    train_generative,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m inference.training.generative_train")
    parser.add_argument("--fold", type=int, default=0, help="published fold 0..4 (default 0)")
    parser.add_argument("--out", type=Path, required=True, help="checkpoint file to write")
    parser.add_argument("--data", type=Path, default=default_data_dir(), help="shared data folder")
    parser.add_argument("--cohorts", nargs="*", default=list(COHORTS), help="cohort keys")
    parser.add_argument("--epochs", type=int, default=None, help="maximum epochs")
    parser.add_argument("--latent", type=int, default=None, help="latent dimensions")
    parser.add_argument("--hidden", type=int, default=None, help="hidden units per encoder/decoder")
    parser.add_argument("--dropout", type=float, default=None, help="encoder input dropout")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--refit-linear",
        type=Path,
        default=None,
        help="keep this checkpoint's network (trained on --fold with --seed); refit only its "
        "linear-Gaussian component and calibration",
    )
    parser.add_argument(
        "--recalibrate",
        type=Path,
        default=None,
        help="keep this checkpoint's network and linear component (trained on --fold with --seed); "
        "refit only its calibration (interval spread, in-silico penalty)",
    )
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (at most 2)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(max(1, min(args.threads, 2)))
    start = time.perf_counter()
    table = load_cohorts(args.data, args.cohorts)
    train_idx, _ = folds_split(table, args.fold, data_dir=args.data)
    overrides = {
        key: value
        for key, value in (
            ("epochs", args.epochs),
            ("latent", args.latent),
            ("hidden", args.hidden),
            ("dropout", args.dropout),
        )
        if value is not None
    }
    if args.recalibrate is not None:
        model = load_generative(args.recalibrate)
        model = recalibrate(model, table, train_idx, seed=args.seed)
    elif args.refit_linear is not None:
        model = load_generative(args.refit_linear)
        model = refit_linear(model, table, train_idx, seed=args.seed)
    else:
        config = default_config(table, train_idx, **overrides)
        model = train_generative(table, train_idx, config, seed=args.seed)
    model.validation["fold"] = args.fold
    model.validation["cohorts"] = list(args.cohorts)
    digest = save_generative(model, args.out)
    print(json.dumps(model.validation, indent=1, default=str))
    print(f"trained in {time.perf_counter() - start:.0f} s; {args.out} sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
