"""OncoBoard benchmarks, run as ``python -m benchmarks <ID> [--quick] [--data DIR]``.

Each benchmark is a module in this package named after its id (``p6.py``, ``q1.py``) exposing
``ID``, ``TITLE`` and ``run(args: argparse.Namespace) -> dict``. The runner prints the module's
own table and then, as the last line, the result dict as one JSON object (see
``../shared/design/BENCHMARKS.md``).
"""
