"""Meeting pages, board mode, the case section's forms, and access to other teams' objects."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from oncology_ui.boards import services
from oncology_ui.boards.models import AgendaItem, Decision, Meeting, OutcomeRecord
from oncology_ui.core.models import AccessLog
from oncology_ui.patients.models import TimelineEvent
from tests.factories import PASSWORD, CaseFactory, totp_code, totp_device_enrol
from tests.oncology_ui.boards.conftest import BoardCast
from tests.oncology_ui.conftest import Cast, signed_in_client

pytestmark = pytest.mark.django_db


def test_an_oncologist_schedules_a_meeting_and_puts_a_case_on_the_agenda(
    cast: Cast, boards: BoardCast, oncologist_client: Client
) -> None:
    response = oncologist_client.post(
        reverse("boards-meeting-create"), {"board": boards.board.pk, "date": "2025-04-01"}
    )
    meeting = Meeting.objects.get(date=dt.date(2025, 4, 1))
    assert response.url == reverse("boards-meeting", args=[meeting.pk])  # type: ignore[attr-defined]
    second = CaseFactory.create(patient=cast.patient, primary_diagnosis="Second primary")
    oncologist_client.post(
        reverse("boards-agenda-add", args=[meeting.pk]),
        {"case": second.pk, "presenter": cast.pathologist.pk},
    )
    oncologist_client.post(reverse("boards-agenda-add", args=[meeting.pk]), {"case": cast.case.pk})
    items = list(meeting.items.all())
    assert [(item.order, item.case_id) for item in items] == [(1, second.pk), (2, cast.case.pk)]
    oncologist_client.post(reverse("boards-item-move", args=[items[1].pk]), {"direction": "up"})
    assert list(meeting.items.values_list("case_id", flat=True)) == [cast.case.pk, second.pk]
    page = oncologist_client.get(reverse("boards-meeting", args=[meeting.pk]))
    assert cast.patient.family_name.upper() in page.content.decode()
    views = AccessLog.objects.filter(category="meeting-agenda", action=AccessLog.Action.VIEW)
    assert list(views.values_list("patient_id_snapshot", flat=True)) == [cast.patient.pk]


def test_another_teams_case_cannot_be_put_on_the_agenda(cast: Cast, boards: BoardCast) -> None:
    with pytest.raises(Exception, match="care team"):
        services.agenda_item_add(meeting=boards.meeting, case=cast.other_case)


def test_a_pathologist_ticks_the_preparation_checklist(cast: Cast, boards: BoardCast) -> None:
    # Pathology is shown by the record (the case's histology): only the others take a hand tick.
    response = signed_in_client(cast.pathologist).post(
        reverse("boards-item-checklist", args=[boards.item.pk]),
        {"imaging_reviewed": "on", "analysis_run": "on"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    item = AgendaItem.objects.get(pk=boards.item.pk)
    assert (item.imaging_reviewed, item.molecular_in, item.analysis_run) == (True, False, True)
    assert 'id="checklist-' in response.content.decode()


def test_a_trial_coordinator_cannot_tick_the_checklist(cast: Cast, boards: BoardCast) -> None:
    response = signed_in_client(cast.coordinator).post(
        reverse("boards-item-checklist", args=[boards.item.pk]), {"pathology_reviewed": "on"}
    )
    assert response.status_code == 404
    assert not AgendaItem.objects.get(pk=boards.item.pk).pathology_reviewed


def test_board_mode_shows_one_case_without_editing_chrome_and_steps_through(
    cast: Cast, boards: BoardCast, oncologist_client: Client
) -> None:
    second = CaseFactory.create(patient=cast.patient, primary_diagnosis="Second primary tumour")
    services.agenda_item_add(meeting=boards.meeting, case=second)
    url = reverse("boards-board-mode", args=[boards.meeting.pk])
    first = oncologist_client.get(url).content.decode()
    assert cast.case.primary_diagnosis in first
    assert "Second primary tumour" not in first
    assert "case <strong>1</strong> of 2" in first
    assert 'href="?position=2"' in first
    wall = first.split('<main id="main">')[1].split('id="board-decision"')[0]
    assert "<form" not in wall  # no editing controls on the wall, the decision panel aside
    second_page = oncologist_client.get(url + "?position=2").content.decode()
    assert "Second primary tumour" in second_page and 'href="?position=1"' in second_page
    views = AccessLog.objects.filter(category="board-mode", action=AccessLog.Action.VIEW)
    assert views.count() == 2


def test_the_case_page_records_and_signs_a_decision(cast: Cast, boards: BoardCast) -> None:
    device = totp_device_enrol(cast.oncologist)
    oncologist_client = signed_in_client(cast.oncologist)
    save = oncologist_client.post(
        reverse("boards-decision-save", args=[cast.case.pk]),
        {"decision-therapy": "Letrozole", "decision-agreeing": [cast.pathologist.pk]},
        HTTP_HX_REQUEST="true",
    )
    assert "Decision version 1 saved" in save.content.decode()
    decision = Decision.objects.get(case=cast.case)
    assert list(decision.agreeing.all()) == [cast.pathologist]
    sign_url = reverse("boards-decision-sign", args=[decision.pk])

    def sign(**fields: str) -> str:
        """Post the signing form by htmx; the swapped-in fragment."""
        return oncologist_client.post(sign_url, fields, HTTP_HX_REQUEST="true").content.decode()

    assert "password is not correct" in sign(password="nope")
    assert "second-factor code was not accepted" in sign(password=PASSWORD, otp_token="000000")
    assert Decision.objects.get(pk=decision.pk).status == Decision.Status.DRAFT
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=5)):  # past the throttle
        signed = sign(password=PASSWORD, otp_token=totp_code(device))
    assert "signed and locked" in signed
    assert "Reviewed and approved as the board&#x27;s recommendation" in signed
    decision.refresh_from_db()
    assert (decision.status, decision.signed_by) == (Decision.Status.SIGNED, cast.oncologist)
    # 30 s after the signature's clock: always the next code, whatever step the first fell in.
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=35)):
        again = sign(password=PASSWORD, otp_token=totp_code(device))
    assert "already signed by" in again
    assert AccessLog.objects.filter(category="board-signature").count() == 1


def test_signing_needs_an_enrolled_second_factor(
    cast: Cast, boards: BoardCast, oncologist_client: Client
) -> None:
    decision = services.decision_record(
        case=cast.case, created_by=cast.oncologist, meeting=boards.meeting, therapy="Letrozole"
    )
    section = oncologist_client.get(
        reverse("patients-case-section", args=[cast.case.pk, "board"])
    ).content.decode()
    assert "Signing needs a second factor" in section
    assert reverse("core-mfa-enrol") in section
    response = oncologist_client.post(
        reverse("boards-decision-sign", args=[decision.pk]),
        {"password": PASSWORD},
        HTTP_HX_REQUEST="true",
    )
    assert "set one up first; nothing was signed" in response.content.decode()
    assert Decision.objects.get(pk=decision.pk).status == Decision.Status.DRAFT


def test_a_signing_code_works_once_and_every_try_is_audited(cast: Cast, boards: BoardCast) -> None:
    device = totp_device_enrol(cast.oncologist)
    client = signed_in_client(cast.oncologist)
    first = services.decision_record(
        case=cast.case, created_by=cast.oncologist, meeting=boards.meeting, therapy="Letrozole"
    )
    code = totp_code(device)
    url = reverse("boards-decision-sign", args=[first.pk])
    client.post(url, {"password": PASSWORD, "otp_token": code})
    assert Decision.objects.get(pk=first.pk).status == Decision.Status.SIGNED
    amendment = services.decision_amend(decision=first, user=cast.oncologist)
    replay = client.post(
        reverse("boards-decision-sign", args=[amendment.pk]),
        {"password": PASSWORD, "otp_token": code},
        HTTP_HX_REQUEST="true",
    )
    assert "second-factor code was not accepted" in replay.content.decode()
    assert Decision.objects.get(pk=amendment.pk).status == Decision.Status.DRAFT
    refs = list(
        AccessLog.objects.filter(category="mfa").order_by("id").values_list("action", "object_ref")
    )
    assert refs == [("mfa_verify", "signature:totp"), ("mfa_failed", "signature")]


def test_a_trial_coordinator_cannot_sign(cast: Cast, boards: BoardCast) -> None:
    decision = services.decision_record(
        case=cast.case, created_by=cast.oncologist, meeting=boards.meeting, therapy="Letrozole"
    )
    response = signed_in_client(cast.coordinator).post(
        reverse("boards-decision-sign", args=[decision.pk]), {"password": PASSWORD}
    )
    assert response.status_code == 404
    assert Decision.objects.get(pk=decision.pk).status == Decision.Status.DRAFT


def test_outcomes_go_on_the_timeline_and_update_the_case(
    cast: Cast, boards: BoardCast, oncologist_client: Client
) -> None:
    url = reverse("boards-outcome-create", args=[cast.case.pk])
    oncologist_client.post(url, {"outcome-kind": "progression", "outcome-date": "2025-06-01"})
    oncologist_client.post(
        url, {"outcome-kind": "toxicity", "outcome-date": "2025-05-01", "outcome-toxicity_grade": 3}
    )
    oncologist_client.post(url, {"outcome-kind": "death", "outcome-date": "2025-09-01"})
    cast.case.refresh_from_db()
    cast.patient.refresh_from_db()
    assert cast.case.progression_date == dt.date(2025, 6, 1)
    assert cast.patient.date_of_death == dt.date(2025, 9, 1)
    assert OutcomeRecord.objects.filter(case=cast.case).count() == 3
    kinds = set(TimelineEvent.objects.filter(case=cast.case).values_list("kind", flat=True))
    assert {"progression", "death"} <= kinds
    toxicity = OutcomeRecord.objects.get(kind="toxicity")
    assert toxicity.event is None and toxicity.toxicity_grade == 3


def _denied() -> int:
    return AccessLog.objects.filter(action=AccessLog.Action.DENIED).count()


def test_other_teams_board_objects_answer_404_and_write_one_denied_row(
    cast: Cast, boards: BoardCast, oncologist_client: Client
) -> None:
    other_item = boards.other_meeting.items.get()
    decision = services.decision_record(
        case=cast.other_case, created_by=cast.outsider, meeting=boards.other_meeting, therapy="X"
    )
    requests = [
        ("get", reverse("boards-meeting", args=[boards.other_meeting.pk])),
        ("get", reverse("boards-board-mode", args=[boards.other_meeting.pk])),
        ("post", reverse("boards-meeting-attendees", args=[boards.other_meeting.pk])),
        ("post", reverse("boards-agenda-add", args=[boards.other_meeting.pk])),
        ("post", reverse("boards-item-checklist", args=[other_item.pk])),
        ("post", reverse("boards-item-move", args=[other_item.pk])),
        ("post", reverse("boards-decision-sign", args=[decision.pk])),
        ("post", reverse("boards-decision-amend", args=[decision.pk])),
        ("get", reverse("boards-outcomes", args=[boards.other_board.pk])),
        ("post", reverse("reports-packet-request", args=[boards.other_meeting.pk])),
    ]
    for method, url in requests:
        before = _denied()
        response = getattr(oncologist_client, method)(url)
        assert response.status_code == 404, url
        assert cast.other_patient.family_name not in response.content.decode()
        assert _denied() == before + 1, url


def test_the_discordance_register_is_for_administrators(
    cast: Cast, boards: BoardCast, oncologist_client: Client
) -> None:
    assert oncologist_client.get(reverse("boards-discordance")).status_code == 403
    assert signed_in_client(cast.admin).get(reverse("boards-discordance")).status_code == 200


def test_every_board_page_requires_login(cast: Cast, boards: BoardCast) -> None:
    for url in (
        reverse("boards-list"),
        reverse("boards-meeting", args=[boards.meeting.pk]),
        reverse("boards-board-mode", args=[boards.meeting.pk]),
        reverse("boards-discordance"),
    ):
        response = Client().get(url)
        assert response.status_code == 302 and "/login/" in response.url  # type: ignore[attr-defined]


def test_the_meeting_list_shows_the_teams_meetings_only(
    cast: Cast, boards: BoardCast, oncologist_client: Client
) -> None:
    html = oncologist_client.get(reverse("boards-list")).content.decode()
    assert reverse("boards-meeting", args=[boards.meeting.pk]) in html
    assert reverse("boards-meeting", args=[boards.other_meeting.pk]) not in html
    assert reverse("boards-outcomes", args=[boards.board.pk]) in html


def test_a_deidentified_packet_can_be_requested(
    cast: Cast, boards: BoardCast, oncologist_client: Client
) -> None:
    oncologist_client.post(
        reverse("reports-packet-request", args=[boards.meeting.pk]), {"deidentified": "1"}
    )
    from oncology_ui.core.models import Job

    assert Job.objects.get(kind="board_packet").result == {"deidentified": True}


def test_a_case_marked_ready_for_the_meetings_date_is_offered_for_its_agenda(
    cast: Cast, boards: BoardCast, oncologist_client: Client
) -> None:
    ready = CaseFactory.create(
        patient=cast.patient,
        primary_diagnosis="Ready for this meeting",
        status="ready",
        board_date=boards.meeting.date,
    )
    CaseFactory.create(
        patient=cast.patient,
        primary_diagnosis="Ready for another week",
        status="ready",
        board_date=boards.meeting.date + dt.timedelta(days=7),
    )
    CaseFactory.create(
        patient=cast.patient,
        primary_diagnosis="Dated but still a draft",
        board_date=boards.meeting.date,
    )
    url = reverse("boards-meeting", args=[boards.meeting.pk])
    page = oncologist_client.get(url).content.decode()
    offered = page.split('id="ready-cases"')[1].split("</ul>")[0]
    assert "Ready for this meeting" in offered
    assert f'name="case" value="{ready.pk}"' in offered
    assert "Ready for another week" not in offered and "still a draft" not in offered

    oncologist_client.post(
        reverse("boards-agenda-add", args=[boards.meeting.pk]), {"case": ready.pk}
    )
    assert boards.meeting.items.filter(case=ready).exists()
    assert 'id="ready-cases"' not in oncologist_client.get(url).content.decode()


def test_an_empty_board_list_tells_an_administrator_where_to_create_a_board(cast: Cast) -> None:
    admin = signed_in_client(cast.admin)
    page = admin.get(reverse("boards-list")).content.decode()
    assert "None of your care teams has a tumor board yet." in page
    assert reverse("admin:boards_board_add") in page
    assert admin.get(reverse("admin:boards_board_add")).status_code == 200  # the link leads there


def test_an_administrator_is_told_of_the_boards_of_teams_outside_their_own(
    cast: Cast, boards: BoardCast
) -> None:
    page = signed_in_client(cast.admin).get(reverse("boards-list")).content.decode()
    assert "2 boards already exist for care teams you are not a member of" in page
    assert reverse("admin:boards_board_changelist") in page


def test_an_empty_board_list_tells_a_clinician_whom_to_ask(cast: Cast) -> None:
    page = signed_in_client(cast.pathologist).get(reverse("boards-list")).content.decode()
    assert "None of your care teams has a tumor board yet." in page
    assert cast.admin.get_full_name() in page and cast.admin.email in page
    assert reverse("admin:boards_board_add") not in page


def test_an_administrator_reaches_the_board_list_from_the_menu(cast: Cast) -> None:
    page = signed_in_client(cast.admin).get(reverse("patients-list")).content.decode()
    assert f'href="{reverse("boards-list")}"' in page


def test_the_case_page_points_a_ready_case_to_the_meeting_of_its_date(
    cast: Cast, boards: BoardCast, oncologist_client: Client
) -> None:
    ready = CaseFactory.create(patient=cast.patient, status="ready", board_date=boards.meeting.date)
    page = oncologist_client.get(
        reverse("patients-case-section", args=[ready.pk, "board"])
    ).content.decode()
    assert f'href="{reverse("boards-meeting", args=[boards.meeting.pk])}#ready-cases"' in page
