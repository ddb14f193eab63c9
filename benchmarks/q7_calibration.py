"""Benchmark Q7: Calibration at 1/3/5 years and conformal interval coverage.

Run with ``python -m benchmarks Q7 [--quick] [--data DIR]``; the work is done by
:mod:`inference.training.benchmarking` so the same code path serves the evaluate command.
"""

from __future__ import annotations

import argparse

from benchmarks.common import BenchmarkResult, result_line

ID = "Q7"
TITLE = "Calibration at 1/3/5 years and conformal interval coverage"


def run(args: argparse.Namespace) -> BenchmarkResult:
    """Run the benchmark; its result has the keys of BENCHMARKS.md."""
    from inference.training.benchmarking import q7

    return result_line(**q7(args.data, bool(args.quick)))
