"""The therapy options a board chooses from: the case's stored ranking, best first.

Without a ranking there are no options and no model top option: the board records free text,
the decision stores an empty model option, and no discordance is computed automatically (the
board can still declare one).
"""

from __future__ import annotations

from oncology_ui.patients.models import Case
from oncology_ui.therapies.selectors import therapy_option_labels


def therapy_options(case: Case) -> list[str]:
    return therapy_option_labels(case)


def model_top_option(case: Case) -> str:
    options = therapy_options(case)
    return options[0] if options else ""
