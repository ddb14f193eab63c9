"""Benchmark P8: predict() latency from stored features (inference level).

Run with ``python -m benchmarks P8 [--quick] [--data DIR]``; the work is done by
:mod:`inference.training.benchmarking` so the same code path serves the evaluate command.
"""

from __future__ import annotations

import argparse
from typing import Any

ID = "P8"
TITLE = "predict() latency from stored features (inference level)"


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the benchmark and return its result dictionary."""
    from inference.training.benchmarking import p8

    return p8(args.data, bool(args.quick))
