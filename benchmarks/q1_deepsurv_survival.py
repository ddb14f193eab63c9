"""Benchmark Q1: survival on the DeepSurv splits vs CoxPH and RSF.

Run with ``python -m benchmarks Q1 [--quick] [--data DIR]``; the work is done by
:mod:`inference.training.benchmarking` so the same code path serves the evaluate command.
"""

from __future__ import annotations

import argparse

from benchmarks.common import BenchmarkResult, result_line

ID = "Q1"
TITLE = "Survival on DeepSurv splits vs CoxPH and RSF (METABRIC, SUPPORT, Rotterdam->GBSG, WHAS)"


def run(args: argparse.Namespace) -> BenchmarkResult:
    """Run the benchmark; its result has the keys of BENCHMARKS.md."""
    from inference.training.benchmarking import q1

    return result_line(**q1(args.data, bool(args.quick)))
