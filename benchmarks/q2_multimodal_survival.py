"""Q2: multimodal TCGA survival, 5-fold, vs clinical CoxPH and single modalities.

Run with ``python -m benchmarks Q2 [--quick] [--data DIR]``; the work is done by
:mod:`inference.training.benchmarking`, which the evaluate command shares.
"""

from __future__ import annotations

from benchmarks.common import training_benchmark

ID = "Q2"
TITLE = "Multimodal TCGA survival, 5-fold, vs clinical CoxPH and single modalities"
run = training_benchmark("q2")
