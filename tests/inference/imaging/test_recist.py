"""RECIST 1.1 against a table of cases."""

from __future__ import annotations

import pytest

from inference.imaging.recist import RecistError, assess
from inference.imaging.schema import RecistLesion, RecistTimePoint


def T(lesion_id: str, mm: float | None, node: bool = False) -> RecistLesion:  # noqa: N802
    return RecistLesion(lesion_id, "target", mm, is_lymph_node=node)


def NT(lesion_id: str, status: str = "present") -> RecistLesion:  # noqa: N802
    return RecistLesion(lesion_id, "non_target", status=status)  # type: ignore[arg-type]


NEW = RecistLesion("new1", "new")


def tp(date: str, *lesions: RecistLesion) -> RecistTimePoint:
    return RecistTimePoint(date, lesions)


CASES = [
    # (name, time points, expected overall per follow-up, expected target per follow-up)
    (
        "partial response",
        [tp("b", T("a", 60), T("b", 40)), tp("f1", T("a", 40), T("b", 20))],
        ["PR"],
        ["PR"],
    ),
    ("stable: 25% decrease", [tp("b", T("a", 100)), tp("f1", T("a", 75))], ["SD"], ["SD"]),
    (
        "progression from nadir, not from baseline",
        [tp("b", T("a", 100)), tp("f1", T("a", 50)), tp("f2", T("a", 62))],
        ["PR", "PD"],
        ["PR", "PD"],
    ),
    (
        "20% but under 5 mm is not progression",
        [tp("b", T("a", 10)), tp("f1", T("a", 13))],
        ["SD"],
        ["SD"],
    ),
    (
        "exactly 20% and 5 mm is progression",
        [tp("b", T("a", 25)), tp("f1", T("a", 30))],
        ["PD"],
        ["PD"],
    ),
    (
        "complete response with a normalised node",
        [
            tp("b", T("a", 30), T("n", 18, node=True), NT("x")),
            tp("f1", T("a", 0), T("n", 8, node=True), NT("x", "absent")),
        ],
        ["CR"],
        ["CR"],
    ),
    (
        "target CR with persisting non-target is PR",
        [tp("b", T("a", 30), NT("x")), tp("f1", T("a", 0), NT("x"))],
        ["PR"],
        ["CR"],
    ),
    ("new lesion makes it PD", [tp("b", T("a", 30)), tp("f1", T("a", 29), NEW)], ["PD"], ["SD"]),
    (
        "unequivocal non-target progression",
        [tp("b", T("a", 30), NT("x")), tp("f1", T("a", 20), NT("x", "unequivocal_progression"))],
        ["PD"],
        ["PR"],
    ),
    (
        "unmeasured target is NE",
        [tp("b", T("a", 30), T("b", 20)), tp("f1", T("a", 30), T("b", None))],
        ["NE"],
        ["NE"],
    ),
    ("non-target disease only", [tp("b", NT("x")), tp("f1", NT("x", "absent"))], ["CR"], ["NE"]),
]


@pytest.mark.parametrize(("name", "points", "overall", "target"), CASES, ids=[c[0] for c in CASES])
def test_recist_case_table(
    name: str, points: list[RecistTimePoint], overall: list[str], target: list[str]
) -> None:
    results = assess(points)
    assert [r.overall for r in results] == overall, [r.reasons for r in results]
    assert [r.target_response for r in results] == target
    assert all(r.reasons for r in results)


def test_nadir_and_percent_changes_are_reported() -> None:
    r1, r2 = assess([tp("b", T("a", 100)), tp("f1", T("a", 50)), tp("f2", T("a", 62))])
    assert r1.nadir_sum_mm == 100 and r2.nadir_sum_mm == 50
    assert r2.change_from_baseline_pct == pytest.approx(-38.0)
    assert r2.change_from_nadir_pct == pytest.approx(24.0)
    assert any("nadir" in reason for reason in r2.reasons)


def test_it_needs_a_measured_baseline() -> None:
    with pytest.raises(RecistError):
        assess([tp("b", T("a", 10))])
    with pytest.raises(RecistError, match="baseline target"):
        assess([tp("b", T("a", None)), tp("f", T("a", 5))])
