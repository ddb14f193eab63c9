"""Small functions later issues fill: the therapy ranking the board chooses from.

Until the therapy-ranking issue lands there are no ranked options and no model top option; the
board records free text and the decision stores an empty model option (no discordance can be
computed automatically, the board can still declare one).
"""

from __future__ import annotations

from collections.abc import Callable

from oncology_ui.patients.models import Case

TherapyOptionsProvider = Callable[[Case], list[str]]

_providers: dict[str, TherapyOptionsProvider] = {}


def therapy_options_register(provider: TherapyOptionsProvider) -> None:
    """Called from the therapies app's ``ready``: ranked options for a case, best first."""
    _providers["therapies"] = provider


def therapy_options(case: Case) -> list[str]:
    provider = _providers.get("therapies")
    return provider(case) if provider is not None else []


def model_top_option(case: Case) -> str:
    options = therapy_options(case)
    return options[0] if options else ""
