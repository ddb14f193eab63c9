"""P8: ``inference.predict()`` latency from stored features (inference level).

Run with ``python -m benchmarks P8 [--quick] [--data DIR]``; the work is done by
:mod:`inference.training.benchmarking`, which the evaluate command shares.
"""

from __future__ import annotations

from benchmarks.common import training_benchmark

ID = "P8"
TITLE = "predict() latency from stored features (inference level)"
run = training_benchmark("p8")
