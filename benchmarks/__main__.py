"""Command-line entry point: ``python -m benchmarks <ID> [--quick] [--data DIR]``."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from pathlib import Path
from types import ModuleType

from benchmarks.common import final_line

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def benchmark_modules() -> dict[str, ModuleType]:
    """The benchmark modules by id: every module of the package but the helpers."""
    modules: dict[str, ModuleType] = {}
    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if info.name.startswith("_") or info.name == "common":
            continue
        module = importlib.import_module(f"benchmarks.{info.name}")
        if hasattr(module, "ID") and hasattr(module, "run"):
            modules[module.ID.upper()] = module
    return modules


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("id", nargs="?", help="benchmark id, for example P6 or Q1")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--quick", action="store_true", help="smoke-sized run (< 1 minute)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shared data folder")
    parser.add_argument(
        "--soak-seconds",
        type=float,
        default=None,
        help="length of a load benchmark's soak (P10: default 600; skipped with --quick)",
    )
    parser.add_argument(
        "--folds", default=None, help="published folds to run, comma-separated (G1-G3: default 0)"
    )
    parser.add_argument(
        "--cohorts",
        default=None,
        help="TCGA cohorts, comma-separated (G1-G3: default blca,brca,gbmlgg,luad)",
    )
    args = parser.parse_args(argv)
    modules = benchmark_modules()
    if args.list or not args.id:
        for bench_id, module in sorted(modules.items()):
            print(f"{bench_id:4} {module.TITLE}")
        return 0
    selected = modules.get(args.id.upper())
    if selected is None:
        parser.error(f"unknown benchmark {args.id!r}; known: {', '.join(sorted(modules))}")
    result = selected.run(args)
    print(final_line(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
