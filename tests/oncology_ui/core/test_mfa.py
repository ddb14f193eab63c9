"""The second factor (SECURITY.md scenarios 7 and 8): TOTP, recovery codes, enforcement."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.admin.sites import site as admin_site
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from oncology_ui.core.mfa import mfa_recovery_codes_issue
from oncology_ui.core.models import AccessLog
from tests.factories import PASSWORD, totp_code, totp_device_enrol
from tests.oncology_ui.conftest import Cast

pytestmark = pytest.mark.django_db
A = AccessLog.Action
# Reachable before the second factor: signing in and out, the factor's own pages, health.
BEFORE_SECOND_FACTOR = {
    "core-login",
    "core-logout",
    "core-health",
    "core-mfa-verify",
    "core-mfa-enrol",
    "core-passkey-verify-options",
    "core-passkey-verify",
    "home",
}


def _password_only(username: str, address: str = "10.0.0.1") -> Client:
    client = Client(REMOTE_ADDR=address)
    response = client.post(reverse("core-login"), {"username": username, "password": PASSWORD})
    assert response.status_code == 302, "password sign-in failed"
    return client


def _routes(resolver: URLResolver, prefix: str = "") -> list[URLPattern]:
    found: list[URLPattern] = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if not str(entry.pattern).startswith("admin/"):
                found.extend(_routes(entry, prefix + str(entry.pattern)))
        elif entry.name:
            found.append(entry)
    return found


def test_every_route_sends_a_password_only_administrator_to_enrol(cast: Cast) -> None:
    client = _password_only("admin")
    enrol = reverse("core-mfa-enrol")
    checked = 0
    for pattern in _routes(get_resolver()):
        if pattern.name in BEFORE_SECOND_FACTOR:
            continue
        keys = set(pattern.pattern.regex.groupindex)
        kwargs: dict[str, object] = {key: ("timeline" if key == "section" else 1) for key in keys}
        if str(pattern.name).startswith("openid_connect"):  # its argument is in the include
            kwargs = {"provider_id": "hospital"}
        url = reverse(pattern.name, kwargs=kwargs)
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            assert response.status_code == 302, f"{method} {pattern.name}: {response.status_code}"
            assert response["Location"].startswith(enrol), (
                f"{pattern.name} -> {response['Location']}"
            )
        checked += 1
    for url in (reverse("admin:index"), reverse("admin:auth_user_changelist"), "/admin/axes/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(enrol), url
    assert checked > 50
    assert admin_site.is_registered(TOTPDevice)  # administrators can see and remove devices


def test_an_htmx_request_before_the_second_factor_is_told_to_navigate(cast: Cast) -> None:
    client = _password_only("admin")
    response = client.get(reverse("core-audit"), HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith(reverse("core-mfa-enrol"))


def test_a_clinician_without_a_second_factor_signs_in_with_the_password(cast: Cast) -> None:
    client = _password_only("onco")
    assert client.get(reverse("patients-list")).status_code == 200


def test_an_administrator_enrols_and_gets_single_use_recovery_codes(cast: Cast) -> None:
    client = _password_only("admin")
    page = client.get(reverse("core-mfa-enrol") + "?next=/audit/")
    assert page.status_code == 200
    assert b"data:image/svg+xml;base64," in page.content
    device = TOTPDevice.objects.get(user=cast.admin, confirmed=False)
    refused = client.post(reverse("core-mfa-enrol"), {"code": "000000", "next": "/audit/"})
    assert refused.status_code == 400
    assert client.get(reverse("core-audit")).status_code == 302
    # A wrong code makes the next try wait a little (the guessing throttle); then it works.
    with time_machine.travel(timezone.now() + timedelta(seconds=5)):
        done = client.post(
            reverse("core-mfa-enrol"), {"code": totp_code(device), "next": "/audit/"}
        )
    assert done.status_code == 200
    codes = done.context["codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(reverse("core-audit")).status_code == 200
    assert AccessLog.objects.filter(action=A.MFA_ENROL, username="admin").exists()
    # The next sign-in asks for the factor; a recovery code works once.
    again = _password_only("admin", address="10.0.0.2")
    assert again.get(reverse("core-audit"))["Location"].startswith(reverse("core-mfa-verify"))
    assert again.post(reverse("core-mfa-verify"), {"code": codes[0]}).status_code == 302
    assert again.get(reverse("core-audit")).status_code == 200
    third = _password_only("admin", address="10.0.0.3")
    assert third.post(reverse("core-mfa-verify"), {"code": codes[0]}).status_code == 400
    assert third.get(reverse("core-audit")).status_code == 302


def test_a_totp_code_is_accepted_once(cast: Cast) -> None:
    device = totp_device_enrol(cast.admin)
    code = totp_code(device)
    first = _password_only("admin", address="10.0.0.1")
    response = first.post(reverse("core-mfa-verify"), {"code": code, "next": "/audit/"})
    assert response.status_code == 302 and response["Location"] == "/audit/"
    assert first.get(reverse("core-audit")).status_code == 200
    # Someone who watched the code being typed cannot replay it in the same 30 seconds.
    second = _password_only("admin", address="10.0.0.2")
    assert second.post(reverse("core-mfa-verify"), {"code": code}).status_code == 400
    assert second.get(reverse("core-audit")).status_code == 302
    failed = AccessLog.objects.filter(action=A.MFA_FAILED).get()
    assert (failed.username, failed.outcome) == ("admin", "failure")
    assert AccessLog.objects.filter(action=A.MFA_VERIFY, object_ref="sign-in:totp").count() == 1


def test_guessing_codes_is_slowed_down_until_even_the_right_code_waits(cast: Cast) -> None:
    device = totp_device_enrol(cast.admin)
    mfa_recovery_codes_issue(user=cast.admin)
    client = _password_only("admin")
    for guess in range(5):
        client.post(reverse("core-mfa-verify"), {"code": f"{guess:06d}"})
    assert client.post(reverse("core-mfa-verify"), {"code": totp_code(device)}).status_code == 400
    code = StaticToken.objects.filter(device__user=cast.admin).first()
    assert code is not None
    assert client.post(reverse("core-mfa-verify"), {"code": code.token}).status_code == 400
    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        assert (
            client.post(reverse("core-mfa-verify"), {"code": totp_code(device)}).status_code == 302
        )


def test_a_clinician_who_enrolled_verifies_at_every_sign_in(cast: Cast) -> None:
    device = totp_device_enrol(cast.oncologist)
    client = _password_only("onco")
    response = client.get(reverse("patients-list"))
    assert response["Location"].startswith(reverse("core-mfa-verify"))
    client.post(reverse("core-mfa-verify"), {"code": totp_code(device)})
    assert client.get(reverse("patients-list")).status_code == 200


def test_the_second_factor_is_asked_after_the_admin_login_too(cast: Cast) -> None:
    totp_device_enrol(cast.admin)
    client = Client()
    client.post(reverse("admin:login"), {"username": "admin", "password": PASSWORD})
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("core-mfa-verify"))


def test_the_verify_page_refuses_to_send_anyone_off_site(cast: Cast) -> None:
    device = totp_device_enrol(cast.admin)
    client = _password_only("admin")
    response = client.post(
        reverse("core-mfa-verify"), {"code": totp_code(device), "next": "https://evil.example/"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("patients-list")


def test_a_stolen_password_cannot_add_a_second_device(cast: Cast) -> None:
    totp_device_enrol(cast.admin)
    client = _password_only("admin")
    response = client.get(reverse("core-mfa-enrol"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("core-mfa-verify"))
    assert not TOTPDevice.objects.filter(user=cast.admin, confirmed=False).exists()
