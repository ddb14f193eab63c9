from __future__ import annotations

from django.apps import AppConfig

# What each role may do with boards (docs/permissions.md carries the same rows).
BOARD_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "oncologist": (
        "boards.view_board",
        "boards.view_meeting",
        "boards.add_meeting",
        "boards.change_meeting",
        "boards.add_agendaitem",
        "boards.change_agendaitem",
        "boards.view_decision",
        "boards.add_decision",
        "boards.change_decision",
        "boards.sign_decision",
        "boards.add_outcomerecord",
        "boards.view_outcomes",
    ),
    "pathologist": (
        "boards.view_board",
        "boards.view_meeting",
        "boards.change_agendaitem",
        "boards.view_decision",
        "boards.view_outcomes",
    ),
    "radiologist": (
        "boards.view_board",
        "boards.view_meeting",
        "boards.change_agendaitem",
        "boards.view_decision",
        "boards.view_outcomes",
    ),
    "trial coordinator": (
        "boards.view_board",
        "boards.view_meeting",
        "boards.view_decision",
        "boards.view_outcomes",
    ),
    "administrator": (
        "boards.view_board",
        "boards.add_board",
        "boards.change_board",
        "boards.view_discordance",
    ),
}


class BoardsConfig(AppConfig):
    name = "oncology_ui.boards"
    label = "boards"
    verbose_name = "Tumor boards"

    def ready(self) -> None:
        from oncology_ui.boards.selectors import board_section
        from oncology_ui.core.roles import roles_register
        from oncology_ui.patients.sections import section_register

        roles_register(BOARD_PERMISSIONS)
        section_register("board", board_section)
