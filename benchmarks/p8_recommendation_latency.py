"""Benchmark P8: predict() latency from stored features (inference level).

Run with ``python -m benchmarks P8 [--quick] [--data DIR]``; the work is done by
:mod:`inference.training.benchmarking` so the same code path serves the evaluate command.
"""

from __future__ import annotations

import argparse

from benchmarks.common import BenchmarkResult, result_line

ID = "P8"
TITLE = "predict() latency from stored features (inference level)"


def run(args: argparse.Namespace) -> BenchmarkResult:
    """Run the benchmark; its result has the keys of BENCHMARKS.md."""
    from inference.training.benchmarking import p8

    return result_line(**p8(args.data, bool(args.quick)))
