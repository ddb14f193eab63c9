"""Q7: calibration at 1/3/5 years and conformal interval coverage.

Run with ``python -m benchmarks Q7 [--quick] [--data DIR]``; the work is done by
:mod:`inference.training.benchmarking`, which the evaluate command shares.
"""

from __future__ import annotations

from benchmarks.common import training_benchmark

ID = "Q7"
TITLE = "Calibration at 1/3/5 years and conformal interval coverage"
run = training_benchmark("q7")
