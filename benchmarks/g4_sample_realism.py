"""Benchmark G4: realism of generated tumour profiles (classifier two-sample test per type).

Run with ``python -m benchmarks G4 [--folds 0,1] [--cohorts brca,luad] [--quick]
[--data DIR]``. Default: fold 0 with
the shipped checkpoint (trained on fold 0's training part); any other fold trains a model on
that fold's training part first (a few CPU minutes). See
``inference.training.generative_realism`` for the test.
"""

from __future__ import annotations

import argparse

from benchmarks.common import BenchmarkResult, result_line

ID = "G4"
TITLE = "Generated vs real held-out tumour profiles: classifier two-sample test AUC per type"


def run(args: argparse.Namespace) -> BenchmarkResult:
    from inference.training.generative_realism import run_g4

    folds, cohorts = getattr(args, "folds", None), getattr(args, "cohorts", None)
    return result_line(**run_g4(args.data, folds, bool(args.quick), cohorts))
