"""Benchmark Q2: Multimodal TCGA survival, 5-fold, vs clinical CoxPH and single modalities.

Run with ``python -m benchmarks Q2 [--quick] [--data DIR]``; the work is done by
:mod:`inference.training.benchmarking` so the same code path serves the evaluate command.
"""

from __future__ import annotations

import argparse
from typing import Any

ID = "Q2"
TITLE = "Multimodal TCGA survival, 5-fold, vs clinical CoxPH and single modalities"


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the benchmark and return its result dictionary."""
    from inference.training.benchmarking import q2

    return q2(args.data, bool(args.quick))
