"""Password guessing is locked out (SECURITY.md scenarios 4, 5 and 8: django-axes)."""

from __future__ import annotations

from typing import Any

import pytest
from axes.models import AccessAttempt
from django.conf import LazySettings
from django.core.management import call_command
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

from oncology_ui.core.models import AccessLog
from tests.factories import PASSWORD
from tests.oncology_ui.conftest import Cast, signed_in_client

pytestmark = pytest.mark.django_db
A = AccessLog.Action
WRONG = "not the right password 42"


def _post_login(client: Client, username: str, password: str, **extra: Any) -> HttpResponse:
    return client.post(  # type: ignore[return-value]
        reverse("core-login"), {"username": username, "password": password}, **extra
    )


def test_it_refuses_the_right_password_after_ten_wrong_ones(cast: Cast) -> None:
    client = Client()
    for _ in range(10):
        _post_login(client, "onco", WRONG)
    response = _post_login(client, "onco", PASSWORD)
    assert response.status_code == 200  # the form again, not a redirect into the app
    assert "_auth_user_id" not in client.session


def test_a_locked_attempt_looks_like_a_wrong_password(cast: Cast, settings: LazySettings) -> None:
    client = Client()
    first_wrong = _post_login(client, "onco", WRONG)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _post_login(client, "onco", WRONG)
    locked = _post_login(client, "onco", PASSWORD)
    assert locked.status_code == first_wrong.status_code == 200
    assert b"did not match" in locked.content
    assert b"locked" not in locked.content.lower()


@pytest.mark.parametrize("behind_proxy", [False, True])
def test_varying_x_forwarded_for_does_not_escape_the_lockout(
    cast: Cast, settings: LazySettings, behind_proxy: bool
) -> None:
    settings.BEHIND_PROXY = behind_proxy
    settings.PROXY_COUNT = 1
    client = Client()
    for n in range(10):
        # What a client can forge stands left of the address our own proxy appends.
        _post_login(
            client,
            "onco",
            WRONG,
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}, 203.0.113.7",
            REMOTE_ADDR="10.0.0.2",
        )
    _post_login(
        client,
        "onco",
        PASSWORD,
        HTTP_X_FORWARDED_FOR="192.0.2.99, 203.0.113.7",
        REMOTE_ADDR="10.0.0.2",
    )
    assert "_auth_user_id" not in client.session


def test_behind_a_proxy_the_address_the_proxy_appended_is_audited(
    cast: Cast, settings: LazySettings
) -> None:
    settings.BEHIND_PROXY = True
    settings.PROXY_COUNT = 1
    _post_login(
        Client(), "onco", WRONG, HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7", REMOTE_ADDR="10.0.0.2"
    )
    row = AccessLog.objects.order_by("-id").first()
    assert row is not None and row.source_ip == "203.0.113.7"


def test_the_admin_login_is_locked_out_too(cast: Cast) -> None:
    client = Client()
    url = reverse("admin:login")
    for _ in range(10):
        client.post(url, {"username": "admin", "password": WRONG})
    client.post(url, {"username": "admin", "password": PASSWORD})
    assert "_auth_user_id" not in client.session
    # The app's own login shares the same counter: the admin login is no way around it.
    _post_login(client, "admin", PASSWORD)
    assert "_auth_user_id" not in client.session


@pytest.mark.slow
def test_a_spray_trips_the_address_throttle_but_not_the_victim_elsewhere(cast: Cast) -> None:
    attacker = Client(REMOTE_ADDR="192.0.2.66")
    for n in range(200):
        _post_login(attacker, f"user{n:03d}", WRONG)
    _post_login(attacker, "onco", WRONG)
    # The sprayer's address is throttled, even for a correct password ...
    _post_login(attacker, "path", PASSWORD)
    assert "_auth_user_id" not in attacker.session
    # ... while the victim signs in from the ward.
    victim = Client(REMOTE_ADDR="10.20.30.40")
    response = _post_login(victim, "onco", PASSWORD)
    assert response.status_code == 302
    assert victim.session["_auth_user_id"] == str(cast.oncologist.pk)


def test_guessing_from_other_addresses_does_not_lock_the_victim_out_everywhere(
    cast: Cast,
) -> None:
    for n in range(10):
        _post_login(Client(REMOTE_ADDR=f"192.0.2.{n + 1}"), "onco", WRONG)
    victim = Client(REMOTE_ADDR="10.20.30.40")
    _post_login(victim, "onco", PASSWORD)
    assert victim.session["_auth_user_id"] == str(cast.oncologist.pk)


def test_the_lock_lives_in_the_database_and_survives_a_cache_flush(
    cast: Cast, settings: LazySettings
) -> None:
    assert settings.AXES_HANDLER == "axes.handlers.database.AxesDatabaseHandler"
    client = Client()
    for _ in range(10):
        _post_login(client, "onco", WRONG)
    assert AccessAttempt.objects.filter(username="onco").exists()
    from django.core.cache import cache

    cache.clear()
    _post_login(client, "onco", PASSWORD)
    assert "_auth_user_id" not in client.session


def test_every_failure_and_the_lockout_are_audited(cast: Cast, settings: LazySettings) -> None:
    client = Client()
    before = AccessLog.objects.count()
    for _ in range(settings.AXES_FAILURE_LIMIT + 2):
        _post_login(client, "onco", WRONG)
    rows = list(AccessLog.objects.order_by("id")[before:])
    failures = [row for row in rows if row.action == A.LOGIN_FAILED]
    lockouts = [row for row in rows if row.action == A.LOCKED_OUT]
    assert len(failures) == settings.AXES_FAILURE_LIMIT + 2
    assert len(lockouts) == 1
    assert (lockouts[0].username, lockouts[0].outcome) == ("onco", "denied")


def test_an_administrator_unlocks_with_axes_reset_and_it_is_audited(cast: Cast) -> None:
    client = Client()
    for _ in range(10):
        _post_login(client, "onco", WRONG)
    call_command("axes_reset_username", "onco")
    assert AccessLog.objects.filter(action=A.UNLOCKED, username="onco").exists()
    _post_login(client, "onco", PASSWORD)
    assert client.session["_auth_user_id"] == str(cast.oncologist.pk)


def test_an_administrator_sees_the_lockouts_in_the_admin(cast: Cast) -> None:
    for _ in range(10):
        _post_login(Client(), "onco", WRONG)
    admin = signed_in_client(cast.admin)
    response = admin.get(reverse("admin:axes_accessattempt_changelist"))
    assert response.status_code == 200
    assert b"onco" in response.content


def test_the_cool_off_ends_the_lock(cast: Cast, settings: LazySettings) -> None:
    from datetime import timedelta

    import time_machine  # noqa: F401 - imported to fail loudly if the clock tool went missing
    from django.utils import timezone

    client = Client()
    for _ in range(10):
        _post_login(client, "onco", WRONG)
    with time_machine.travel(timezone.now() + settings.AXES_COOLOFF_TIME + timedelta(minutes=1)):
        _post_login(client, "onco", PASSWORD)
        assert client.session["_auth_user_id"] == str(cast.oncologist.pk)
