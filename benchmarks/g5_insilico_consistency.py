"""Benchmark G5: in-silico driver effects on the hallmarks vs held-out mutant - wild-type shifts.

Run with ``python -m benchmarks G5 [--folds 0,1] [--cohorts brca,luad] [--quick]
[--data DIR]``. Default: fold 0 with
the shipped checkpoint (trained on fold 0's training part); any other fold trains a model on
that fold's training part first. Baseline: a ridge model per type fitted on the training part.
See ``inference.training.generative_insilico``.
"""

from __future__ import annotations

import argparse

from benchmarks.common import BenchmarkResult, result_line

ID = "G5"
TITLE = "In-silico driver effects on hallmarks vs observed mutant - wild-type differences"


def run(args: argparse.Namespace) -> BenchmarkResult:
    from inference.training.generative_insilico import run_g5

    folds, cohorts = getattr(args, "folds", None), getattr(args, "cohorts", None)
    return result_line(**run_g5(args.data, folds, bool(args.quick), cohorts))
