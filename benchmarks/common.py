"""The result every benchmark returns, printed by the runner as its last line.

``../shared/design/BENCHMARKS.md`` fixes its keys: ``id, metric, ours, baseline, ratio, goal,
met``, in that order, then any details (for example one key per dataset). P7 compares per page,
so its ratio and verdict are named ``ratio_per_page`` and ``meets_goals``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

RESULT_KEYS = ("id", "metric", "ours", "baseline", "ratio", "goal", "met")
PER_PAGE_RESULT_KEYS = ("id", "metric", "ours", "baseline", "ratio_per_page", "goal", "meets_goals")


class BenchmarkResult(dict[str, Any]):
    """A result dictionary built by :func:`result_line` (the runner prints nothing else)."""


def result_line(
    *,
    id: str,  # noqa: A002 - the key's name in BENCHMARKS.md
    metric: str,
    ours: float | None,
    baseline: float | None,
    ratio: float | None,
    goal: str | float | None,
    met: bool | None,
    per_page: bool = False,
    **details: Any,
) -> BenchmarkResult:
    """The result with the keys of BENCHMARKS.md first, then ``details``.

    Args:
        id: the benchmark's id (``P2``).
        metric: what ``ours`` and ``baseline`` measure (``tiles_per_s``).
        ours: our figure; baseline: the reference's figure in the same run (None without one).
        ratio: how ours compares with the baseline, in the direction the goal is stated.
        goal: the goal as BENCHMARKS.md states it.
        met: whether the goal is met (None where there is no goal).
        per_page: name the ratio ``ratio_per_page`` and the verdict ``meets_goals`` (P7).
        details: further keys, printed after these.
    """
    ratio_key, met_key = ("ratio_per_page", "meets_goals") if per_page else ("ratio", "met")
    clashes = set(details) & {*RESULT_KEYS, *PER_PAGE_RESULT_KEYS}
    if clashes:
        raise ValueError(f"details may not redefine {sorted(clashes)}")
    return BenchmarkResult(
        {
            "id": id,
            "metric": metric,
            "ours": ours,
            "baseline": baseline,
            ratio_key: ratio,
            "goal": goal,
            met_key: None if met is None else bool(met),
            **details,
        }
    )


def final_line(result: BenchmarkResult) -> str:
    """The JSON line a benchmark run ends with."""
    if not isinstance(result, BenchmarkResult):
        raise TypeError("a benchmark's run() must return benchmarks.common.result_line(...)")
    return json.dumps(result, sort_keys=False)


def training_benchmark(name: str) -> Callable[[argparse.Namespace], BenchmarkResult]:
    """``run`` for a benchmark done by ``inference.training.benchmarking.<name>(data, quick)``,
    the code path the evaluate command shares, imported only when the benchmark runs."""

    def run(args: argparse.Namespace) -> BenchmarkResult:
        from inference.training import benchmarking

        work = getattr(benchmarking, name)
        return result_line(**work(args.data, bool(args.quick)))

    return run


def require_training_extras(benchmark_id: str, *modules: str) -> None:
    """Stop with the install command when a module of the training extras is missing."""
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as error:
            raise SystemExit(
                f"{benchmark_id} needs the training extras: "
                f"pip install -r requirements-train.txt ({module})"
            ) from error


def median_seconds(work: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``repeats`` calls of ``work``, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
