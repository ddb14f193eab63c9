"""Routing a case's OncoTree code to a validated portrait type, or abstaining with the reason."""

from __future__ import annotations

import pytest

from inference.portrait.routing import PORTRAIT_TYPE_OF, route

COVERED = frozenset(set(PORTRAIT_TYPE_OF.values()))


@pytest.mark.parametrize(
    ("code", "expected"),
    [("IDC", "BRCA"), ("luad", "LUNG"), ("READ", "COADREAD"), ("OPHSC", "OPHSC"), ("AML", "AML")],
)
def test_it_routes_a_covered_code_to_its_validated_type(code: str, expected: str) -> None:
    assert route(code, COVERED).cancer_type == expected


@pytest.mark.parametrize("code", ["", "   ", None])
def test_it_abstains_for_a_blank_cancer_type(code: str | None) -> None:
    routed = route(code, COVERED)
    assert routed.cancer_type is None
    assert "blank" in routed.reason


def test_it_abstains_for_an_uncovered_code_with_the_reason() -> None:
    routed = route("GBM", COVERED)
    assert routed.cancer_type is None
    assert "GBM" in routed.reason


def test_it_abstains_when_the_selected_checkpoint_lacks_the_type() -> None:
    routed = route("STAD", COVERED - {"STAD"})
    assert routed.cancer_type is None
    assert "not covered by the selected checkpoint" in routed.reason
