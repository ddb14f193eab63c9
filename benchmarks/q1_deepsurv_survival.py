"""Q1: survival on the DeepSurv splits vs CoxPH and RSF.

Run with ``python -m benchmarks Q1 [--quick] [--data DIR]``; the work is done by
:mod:`inference.training.benchmarking`, which the evaluate command shares.
"""

from __future__ import annotations

from benchmarks.common import training_benchmark

ID = "Q1"
TITLE = "Survival on DeepSurv splits vs CoxPH and RSF (METABRIC, SUPPORT, Rotterdam->GBSG, WHAS)"
run = training_benchmark("q1")
