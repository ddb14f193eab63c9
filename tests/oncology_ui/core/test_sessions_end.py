"""Sign-out clears the browser; deactivation and team changes end a person's sessions (#15.4)."""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse

from oncology_ui.core.services import user_sessions_end
from tests.oncology_ui.conftest import Cast, signed_in_client

pytestmark = pytest.mark.django_db


def _session_users() -> list[str]:
    return [str(s.get_decoded().get("_auth_user_id")) for s in Session.objects.all()]


def test_sign_out_tells_the_browser_to_clear_cache_cookies_and_storage(cast: Cast) -> None:
    client = signed_in_client(cast.oncologist)
    response = client.post(reverse("core-logout"))
    assert response.status_code == 302
    assert response["Clear-Site-Data"] == '"cache", "cookies", "storage"'
    assert client.get(reverse("patients-case", args=[cast.case.pk])).status_code == 302


def test_deactivating_a_user_ends_every_session_they_hold(cast: Cast) -> None:
    desk, ward = signed_in_client(cast.oncologist), signed_in_client(cast.oncologist)
    colleague = signed_in_client(cast.pathologist)
    case_url = reverse("patients-case", args=[cast.case.pk])
    assert desk.get(case_url).status_code == 200

    cast.oncologist.is_active = False
    cast.oncologist.save()

    assert str(cast.oncologist.pk) not in _session_users()
    # Reactivating the account must not bring the old cookies back to life.
    cast.oncologist.is_active = True
    cast.oncologist.save()
    assert desk.get(case_url).status_code == 302 and ward.get(case_url).status_code == 302
    assert colleague.get(case_url).status_code == 200  # nobody else is signed out


def test_removing_a_user_from_a_team_ends_their_sessions(cast: Cast) -> None:
    client = signed_in_client(cast.oncologist)
    other_case = reverse("patients-case", args=[cast.case.pk])
    assert client.get(other_case).status_code == 200
    cast.breast_team.members.remove(cast.oncologist)
    assert client.get(reverse("patients-list")).status_code == 302


def test_adding_a_user_to_a_team_from_their_side_ends_their_sessions(cast: Cast) -> None:
    client = signed_in_client(cast.oncologist)
    cast.oncologist.care_teams.add(cast.lung_team)
    assert client.get(reverse("patients-list")).status_code == 302


def test_clearing_a_teams_members_ends_each_members_sessions(cast: Cast) -> None:
    onco, path = signed_in_client(cast.oncologist), signed_in_client(cast.pathologist)
    cast.breast_team.members.clear()
    assert onco.get(reverse("patients-list")).status_code == 302
    assert path.get(reverse("patients-list")).status_code == 302


def test_saving_a_user_without_touching_access_keeps_their_sessions(cast: Cast) -> None:
    client = signed_in_client(cast.oncologist)
    cast.oncologist.first_name = "Ada"
    cast.oncologist.save()
    assert client.get(reverse("patients-list")).status_code == 200


def test_user_sessions_end_can_spare_the_session_making_the_change(cast: Cast) -> None:
    """For a password change: the person stays signed in where they made it, nowhere else."""
    here, elsewhere = signed_in_client(cast.oncologist), signed_in_client(cast.oncologist)
    keep = here.session.session_key
    ended = user_sessions_end(user=cast.oncologist, keep_session_key=keep)
    assert ended == 1
    assert here.get(reverse("patients-list")).status_code == 200
    assert elsewhere.get(reverse("patients-list")).status_code == 302
