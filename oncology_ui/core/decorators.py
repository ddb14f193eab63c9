"""View decorators shared by every app."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def passive(view: F) -> F:
    """Mark a view as background traffic (polling) that must not extend an idle session."""
    view.passive_request = True  # type: ignore[attr-defined]
    return view


def public(view: F) -> F:
    """Mark a view as reachable without logging in; the URLconf walk test checks the allowlist."""
    view.public_view = True  # type: ignore[attr-defined]
    return view


def second_factor_exempt(view: F) -> F:
    """Mark a view reachable before the second factor is verified (enrolment, sign-out)."""
    view.second_factor_exempt = True  # type: ignore[attr-defined]
    return view
