"""OncoBoard benchmarks, run as ``python -m benchmarks <ID> [--quick] [--data DIR]``.

Each benchmark is a module in this package named after its id and what it measures
(``p2_tiling.py``, ``q1_deepsurv_survival.py``) exposing ``ID``, ``TITLE`` and
``run(args: argparse.Namespace) -> BenchmarkResult``. The runner prints the module's own table and
then, as the last line, the result built by :func:`benchmarks.common.result_line` as one JSON
object (see ``../shared/design/BENCHMARKS.md``). Modules whose name starts with ``_`` are helpers.
"""
