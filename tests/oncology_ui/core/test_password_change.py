"""Changing a password, and sessions that end with it (SECURITY.md scenario 11)."""

from __future__ import annotations

import pytest
from django.conf import LazySettings
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from oncology_ui.core.models import AccessLog
from tests.factories import PASSWORD
from tests.oncology_ui.conftest import Cast, signed_in_client

pytestmark = pytest.mark.django_db
A = AccessLog.Action
NEW_PASSWORD = "a much longer passphrase for the ward 2026"


def _signed_in(username: str, password: str = PASSWORD, address: str = "10.0.0.1") -> Client:
    client = Client(REMOTE_ADDR=address)
    response = client.post(reverse("core-login"), {"username": username, "password": password})
    assert response.status_code == 302, "sign-in failed"
    return client


def _change(client: Client, old: str, new: str) -> object:
    return client.post(
        reverse("core-password-change"),
        {"old_password": old, "new_password1": new, "new_password2": new},
    )


def _is_signed_in(client: Client) -> bool:
    response = client.get(reverse("patients-list"))
    return response.status_code == 200


def test_the_password_change_page_is_linked_and_asks_for_the_old_password(cast: Cast) -> None:
    client = _signed_in("onco")
    page = client.get(reverse("patients-list"))
    assert reverse("core-password-change").encode() in page.content
    form = client.get(reverse("core-password-change"))
    assert form.status_code == 200
    assert b'id="id_old_password"' in form.content


def test_it_needs_a_signed_in_user(cast: Cast) -> None:
    response = Client().get(reverse("core-password-change"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("core-login"))


def test_changing_the_password_keeps_this_session_and_ends_the_others(cast: Cast) -> None:
    desk = _signed_in("onco", address="10.0.0.1")
    laptop = _signed_in("onco", address="10.0.0.2")
    response = _change(desk, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 302  # type: ignore[attr-defined]
    assert _is_signed_in(desk)
    assert not _is_signed_in(laptop)
    # The other session's row is gone, not merely unusable.
    remaining = [s.get_decoded().get("_auth_user_id") for s in Session.objects.all()]
    assert remaining.count(str(cast.oncologist.pk)) == 1
    cast.oncologist.refresh_from_db()
    assert cast.oncologist.check_password(NEW_PASSWORD)


def test_a_password_change_is_audited(cast: Cast) -> None:
    client = _signed_in("onco")
    _change(client, PASSWORD, NEW_PASSWORD)
    row = AccessLog.objects.filter(action=A.PASSWORD_CHANGE).get()
    assert (row.username, row.outcome) == ("onco", "success")


def test_a_wrong_old_password_is_refused_counted_and_audited(
    cast: Cast, settings: LazySettings
) -> None:
    client = _signed_in("onco")
    response = _change(client, "not my password at all", NEW_PASSWORD)
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert b"incorrect" in response.content  # type: ignore[attr-defined]
    assert AccessLog.objects.filter(action=A.LOGIN_FAILED, username="onco").exists()
    # Guessing the old password from a stolen session runs into the same lockout as sign-in.
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _change(client, "not my password at all", NEW_PASSWORD)
    _change(client, PASSWORD, NEW_PASSWORD)
    cast.oncologist.refresh_from_db()
    assert cast.oncologist.check_password(PASSWORD)


def test_a_weak_new_password_is_refused_with_the_reason(cast: Cast) -> None:
    client = _signed_in("onco")
    response = _change(client, PASSWORD, "short")
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert b"too short" in response.content  # type: ignore[attr-defined]


def test_deactivating_a_user_ends_their_sessions_at_once(cast: Cast) -> None:
    clinician = _signed_in("onco")
    cast.oncologist.is_active = False
    cast.oncologist.save()
    assert not _is_signed_in(clinician)
    remaining = [s.get_decoded().get("_auth_user_id") for s in Session.objects.all()]
    assert str(cast.oncologist.pk) not in remaining
    row = AccessLog.objects.filter(action=A.SESSIONS_ENDED).get()
    assert row.object_ref == f"user:{cast.oncologist.pk}"


def test_an_administrator_ends_a_users_sessions_from_the_admin(cast: Cast) -> None:
    clinician = _signed_in("onco")
    admin = signed_in_client(cast.admin)
    response = admin.post(
        reverse("admin:auth_user_changelist"),
        {"action": "end_sessions", "_selected_action": [str(cast.oncologist.pk)]},
    )
    assert response.status_code == 302
    assert not _is_signed_in(clinician)
    assert _is_signed_in(admin)
    row = AccessLog.objects.filter(action=A.SESSIONS_ENDED).get()
    assert (row.username, row.object_ref) == ("admin", f"user:{cast.oncologist.pk}")


def test_an_administrator_setting_a_password_ends_the_users_sessions(cast: Cast) -> None:
    clinician = _signed_in("onco")
    user = User.objects.get(username="onco")
    user.set_password(NEW_PASSWORD)
    user.save()
    assert not _is_signed_in(clinician)
