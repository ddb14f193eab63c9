"""Benchmark Q2: Multimodal TCGA survival, 5-fold, vs clinical CoxPH and single modalities.

Run with ``python -m benchmarks Q2 [--quick] [--data DIR]``; the work is done by
:mod:`inference.training.benchmarking` so the same code path serves the evaluate command.
"""

from __future__ import annotations

import argparse

from benchmarks.common import BenchmarkResult, result_line

ID = "Q2"
TITLE = "Multimodal TCGA survival, 5-fold, vs clinical CoxPH and single modalities"


def run(args: argparse.Namespace) -> BenchmarkResult:
    """Run the benchmark; its result has the keys of BENCHMARKS.md."""
    from inference.training.benchmarking import q2

    return result_line(**q2(args.data, bool(args.quick)))
