"""Every benchmark ends with the JSON line of BENCHMARKS.md, built by one helper.

The benchmarks themselves are slow and never run here: their ``run`` functions are read, not
called, and the runner is exercised with a stand-in benchmark.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import json
from types import ModuleType, SimpleNamespace

import pytest

from benchmarks import __main__ as runner
from benchmarks.common import (
    PER_PAGE_RESULT_KEYS,
    RESULT_KEYS,
    final_line,
    require_training_extras,
    result_line,
    training_benchmark,
)


def test_the_result_starts_with_the_keys_of_benchmarks_md() -> None:
    result = result_line(
        id="P2", metric="tiles_per_s", ours=10.0, baseline=2.0, ratio=5.0, goal=">= 5", met=True,
        tiles=40,
    )  # fmt: skip
    assert tuple(json.loads(final_line(result))) == (*RESULT_KEYS, "tiles")


def test_p7_names_its_ratio_and_verdict_per_page() -> None:
    result = result_line(
        id="P7", metric="s", ours=0.1, baseline=0.1, ratio=1.0, goal="<= 2", met=True, per_page=True
    )
    assert tuple(result) == PER_PAGE_RESULT_KEYS
    assert result["meets_goals"] is True


def test_details_may_not_redefine_a_key() -> None:
    with pytest.raises(ValueError, match="ratio"):
        result_line(
            id="P2", metric="m", ours=1, baseline=1, ratio=1, goal=None, met=None, ratio_per_page=2
        )


def test_a_training_benchmark_passes_the_inference_result_through_the_helper(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from inference.training import benchmarking

    def q9(data: object, quick: bool) -> dict[str, object]:
        return {
            "id": "Q9", "metric": "c", "ours": 0.7, "baseline": 0.6, "ratio": 1.17, "goal": ">= 1",
            "met": True, "quick": quick,
        }  # fmt: skip

    monkeypatch.setattr(benchmarking, "q9", q9, raising=False)
    result = training_benchmark("q9")(argparse.Namespace(data="data", quick=True))
    assert tuple(result) == (*RESULT_KEYS, "quick") and result["quick"] is True


def test_the_runner_refuses_a_result_not_built_by_the_helper() -> None:
    with pytest.raises(TypeError, match="result_line"):
        final_line({"id": "P2"})  # type: ignore[arg-type]


def test_the_runner_prints_the_result_as_the_last_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def run(args: object) -> object:
        print("a table")
        return result_line(
            id="X1", metric="m", ours=2.0, baseline=1.0, ratio=2.0, goal=">= 1", met=True
        )

    stand_in = SimpleNamespace(ID="X1", TITLE="stand-in", run=run)
    monkeypatch.setattr(runner, "benchmark_modules", lambda: {"X1": stand_in})
    assert runner.main(["x1", "--quick"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(last) == {
        "id": "X1", "metric": "m", "ours": 2.0, "baseline": 1.0, "ratio": 2.0, "goal": ">= 1",
        "met": True,
    }  # fmt: skip


def _own_nodes(function: ast.FunctionDef) -> list[ast.AST]:
    """The nodes of ``function`` outside the functions nested in it."""
    nodes: list[ast.AST] = []
    pending: list[ast.AST] = list(function.body)
    while pending:
        node = pending.pop()
        nodes.append(node)
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            pending.extend(ast.iter_child_nodes(node))
    return nodes


def _returned_by_run(module: ModuleType) -> list[ast.expr | None]:
    tree = ast.parse(inspect.getsource(module))
    run = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "run")
    nodes = _own_nodes(run)
    assigned = {
        target.id: node.value
        for node in nodes
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    returned = []
    for node in nodes:
        if isinstance(node, ast.Return):
            value = node.value
            if isinstance(value, ast.Name):
                value = assigned.get(value.id)
            returned.append(value)
    return returned


BENCHMARKS = runner.benchmark_modules()


def test_the_ids_of_benchmarks_md_are_all_there() -> None:
    expected = (
        {f"P{n}" for n in (1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12)}
        | {f"Q{n}" for n in range(1, 10)}
        | {f"G{n}" for n in range(1, 6)}
        | {"L1"}
    )
    assert set(BENCHMARKS) == expected


def _run_assignment(module: ModuleType) -> ast.expr | None:
    """What ``run = ...`` assigns at module level, if the module defines run that way."""
    tree = ast.parse(inspect.getsource(module))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "run" for t in node.targets
        ):
            return node.value
    return None


@pytest.mark.parametrize("bench_id", sorted(BENCHMARKS))
def test_each_benchmark_returns_the_helpers_result(bench_id: str) -> None:
    module = BENCHMARKS[bench_id]
    assigned = _run_assignment(module)
    if assigned is not None:  # the work lives in inference.training.benchmarking
        assert isinstance(assigned, ast.Call) and isinstance(assigned.func, ast.Name)
        assert assigned.func.id == "training_benchmark"
        assert module.run.__qualname__ == "training_benchmark.<locals>.run"
        return
    returned = _returned_by_run(module)
    assert returned
    for value in returned:
        assert isinstance(value, ast.Call) and isinstance(value.func, ast.Name)
        assert value.func.id == "result_line"
    assert inspect.signature(module.run).return_annotation == "BenchmarkResult"


@pytest.mark.parametrize("bench_id", sorted(BENCHMARKS))
def test_each_file_says_what_it_measures(bench_id: str) -> None:
    name = BENCHMARKS[bench_id].__name__.rsplit(".", 1)[-1]
    prefix, _, what = name.partition("_")
    assert prefix == bench_id.lower() and len(what) >= 5


def test_a_missing_training_extra_stops_with_the_install_command() -> None:
    require_training_extras("Q9", "json")  # present: nothing happens
    with pytest.raises(SystemExit, match=r"Q9 needs the training extras: .*\(no_such_extra_mod\)"):
        require_training_extras("Q9", "json", "no_such_extra_mod")
