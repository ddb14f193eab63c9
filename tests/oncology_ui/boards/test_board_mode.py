"""Board mode shows options, trials and key labs, and the chair records the decision there."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from oncology_ui.boards.models import Decision
from oncology_ui.core.jobs import job_run
from oncology_ui.therapies.kb import kb_load
from oncology_ui.therapies.services import ranking_compute
from oncology_ui.trials.services import trial_match_request
from tests.factories import PASSWORD, totp_code, totp_device_enrol
from tests.oncology_ui.boards.conftest import BoardCast
from tests.oncology_ui.conftest import Cast, signed_in_client
from tests.oncology_ui.therapies.factories import BiomarkerFactory, LabResultFactory
from tests.oncology_ui.trials.factories import fit_breast_case, import_trials, trial_record

# Trial matching without loading the sentence-embedding model, as in the trial tests.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("bm25_only_trials")]
HTMX = {"HX-Request": "true"}


def _board_mode(client: Client, boards: BoardCast) -> str:
    return client.get(reverse("boards-board-mode", args=[boards.meeting.pk])).content.decode()


@pytest.mark.slow
def test_board_mode_shows_the_ranked_options_the_trial_matches_and_key_labs(
    cast: Cast, boards: BoardCast, oncologist_client: Client
) -> None:
    kb_load()
    case = fit_breast_case(cast.case)
    case.stage_group = "IIA"
    case.save()
    BiomarkerFactory.create(case=case, name="ER", status="positive")
    # An abnormal creatinine months ago: shown, flagged and marked stale for the meeting.
    LabResultFactory.create(
        case=case,
        analyte_key="creatinine",
        name="Creatinine",
        unit="umol/L",
        ref_high=90.0,
        value=140.0,
        value_text="140",
        flag="H",
        category="cmp",
        collected_at=timezone.now() - dt.timedelta(days=400),
    )
    ranking = ranking_compute(case=case, user=cast.oncologist)
    import_trials(trial_record())
    result = trial_match_request(case=case, user=cast.oncologist)
    assert result.job is not None
    job_run(result.job.pk)

    page = _board_mode(oncologist_client, boards)
    therapies = page.split('id="board-therapies"')[1].split("</section>")[0]
    assert ranking.option_labels, "the breast case should have ranked options"
    assert ranking.option_labels[0] in therapies
    assert ranking.kb_version in therapies
    trials = page.split('id="board-trials"')[1].split("</section>")[0]
    assert "NCT90000001" in trials and "satisfied" in trials
    labs = page.split('id="board-labs"')[1].split("</section>")[0]
    assert "Neutrophils (absolute)" in labs
    assert "Creatinine" in labs and "High" in labs and "older than 90 days" in labs


def test_board_mode_says_what_is_not_there_yet(
    cast: Cast, boards: BoardCast, oncologist_client: Client
) -> None:
    page = _board_mode(oncologist_client, boards)
    assert "No therapy options ranked for this case yet" in page
    assert "Trial matching has not been run for this case" in page
    assert "No lab results recorded for this case." in page


def test_the_chair_records_and_signs_the_decision_without_leaving_board_mode(
    cast: Cast, boards: BoardCast
) -> None:
    device = totp_device_enrol(cast.oncologist)
    oncologist_client = signed_in_client(cast.oncologist)
    board_url = reverse("boards-board-mode", args=[boards.meeting.pk])
    page = _board_mode(oncologist_client, boards)
    assert f'action="{reverse("boards-decision-save", args=[cast.case.pk])}"' in page
    saved = oncologist_client.post(
        reverse("boards-decision-save", args=[cast.case.pk]),
        {"board_item": boards.item.pk, "decision-therapy": "Letrozole"},
    )
    assert saved.url == f"{board_url}?position=1#board-decision"  # type: ignore[attr-defined]
    decision = Decision.objects.get(case=cast.case)
    assert decision.meeting == boards.meeting and decision.status == Decision.Status.DRAFT

    # The same e-signature rule as on the case page: a wrong password signs nothing.
    sign_url = reverse("boards-decision-sign", args=[decision.pk])
    wrong = oncologist_client.post(sign_url, {"board_item": boards.item.pk, "password": "nope"})
    assert wrong.url.startswith(board_url)  # type: ignore[attr-defined]
    assert Decision.objects.get(pk=decision.pk).status == Decision.Status.DRAFT
    page = oncologist_client.get(wrong.url).content.decode()  # type: ignore[attr-defined]
    assert "The password is not correct; nothing was signed." in page

    signed = oncologist_client.post(
        sign_url,
        {"board_item": boards.item.pk, "password": PASSWORD, "otp_token": totp_code(device)},
    )
    assert signed.url.startswith(board_url)  # type: ignore[attr-defined]
    decision.refresh_from_db()
    assert decision.status == Decision.Status.SIGNED and decision.content_hash
    page = oncologist_client.get(signed.url).content.decode()  # type: ignore[attr-defined]
    assert "Signed by" in page and "Letrozole" in page


def test_board_mode_answers_htmx_with_its_decision_panel_only(
    cast: Cast, boards: BoardCast, oncologist_client: Client
) -> None:
    response = oncologist_client.post(
        reverse("boards-decision-save", args=[cast.case.pk]),
        {"board_item": boards.item.pk, "decision-follow_up": "CT in three months"},
        headers=HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section class="card section wide" id="board-decision">')
    assert "Decision version 1 saved as a draft." in html
    assert "section-board" not in html  # not the case page's section


def test_a_refused_decision_keeps_what_the_chair_typed_with_and_without_htmx(
    cast: Cast, boards: BoardCast, oncologist_client: Client
) -> None:
    url = reverse("boards-decision-save", args=[cast.case.pk])
    typed = {"board_item": boards.item.pk, "decision-discussion_notes": "Long discussion of ER"}
    refused = oncologist_client.post(url, typed, headers=HTMX)
    html = refused.content.decode()
    assert "Record at least one recommendation" in html
    assert "Long discussion of ER" in html
    plain = oncologist_client.post(url, typed)
    assert plain.status_code == 400  # board mode again, not a redirect that drops the notes
    page = plain.content.decode()
    assert "Record at least one recommendation" in page and "Long discussion of ER" in page
    assert 'id="board-therapies"' in page
    assert not Decision.objects.filter(case=cast.case).exists()


def test_a_pathologist_sees_board_mode_without_the_decision_form(
    cast: Cast, boards: BoardCast
) -> None:
    page = _board_mode(signed_in_client(cast.pathologist), boards)
    assert 'id="board-therapies"' in page
    assert reverse("boards-decision-save", args=[cast.case.pk]) not in page


def test_another_teams_agenda_item_cannot_steer_the_answer(
    cast: Cast, boards: BoardCast, oncologist_client: Client
) -> None:
    other_item = boards.other_meeting.items.get()
    response = oncologist_client.post(
        reverse("boards-decision-save", args=[cast.case.pk]),
        {"board_item": other_item.pk, "decision-therapy": "Letrozole"},
    )
    assert response.status_code == 404
    assert not Decision.objects.filter(case=cast.case).exists()
