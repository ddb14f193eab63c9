from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from oncology_ui.boards import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.meeting_list, name="boards-list"),
    path("meetings/new/", views.meeting_create, name="boards-meeting-create"),
    path("meetings/<int:meeting_id>/", views.meeting_detail, name="boards-meeting"),
    path(
        "meetings/<int:meeting_id>/attendees/",
        views.meeting_attendees,
        name="boards-meeting-attendees",
    ),
    path("meetings/<int:meeting_id>/agenda/", views.agenda_add, name="boards-agenda-add"),
    path("meetings/<int:meeting_id>/board/", views.board_mode, name="boards-board-mode"),
    path("agenda/<int:item_id>/checklist/", views.item_checklist, name="boards-item-checklist"),
    path("agenda/<int:item_id>/move/", views.item_move, name="boards-item-move"),
    path("cases/<int:case_id>/decision/", views.decision_save, name="boards-decision-save"),
    path("cases/<int:case_id>/outcomes/", views.outcome_create, name="boards-outcome-create"),
    path("decisions/<int:decision_id>/sign/", views.decision_sign, name="boards-decision-sign"),
    path("decisions/<int:decision_id>/amend/", views.decision_amend, name="boards-decision-amend"),
    path("<int:board_id>/outcomes/", views.board_outcomes, name="boards-outcomes"),
    path("discordance/", views.discordance, name="boards-discordance"),
]
