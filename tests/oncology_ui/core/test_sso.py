"""Hospital single sign-on against a real OpenID Connect provider (node-oidc-provider).

The provider runs as a separate process on 127.0.0.1 (tests/oidc/provider.mjs); the test plays
the browser at the provider with ``requests`` and at OncoBoard with Django's test client, while
OncoBoard talks to the provider server to server (discovery, token, userinfo) as in production.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests
from django.conf import LazySettings
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from oncology_ui.core import roles
from oncology_ui.core.models import AccessLog, Team
from tests.factories import TeamFactory

pytestmark = pytest.mark.django_db
OIDC_DIR = Path(__file__).resolve().parents[3] / "tests" / "oidc"
CLIENT_ID = "oncoboard"
CLIENT_SECRET = "test-only-client-secret"
CALLBACK = "http://testserver/accounts/oidc/hospital/login/callback/"
DIRECTORY = {
    "a.moreau": {
        "preferred_username": "a.moreau",
        "email": "a.moreau@hospital.example",
        "name": "Anne Moreau",
        "roles": ["oncologist"],
        "teams": ["Breast MDT", "No such team"],
    },
    "it.admin": {
        "preferred_username": "it.admin",
        "email": "it.admin@hospital.example",
        "roles": ["administrator"],
        "teams": [],
    },
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def oidc_server() -> Iterator[str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node and npm, "node and npm are needed for the single sign-on tests"
    if not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=OIDC_DIR, check=True, timeout=600
        )
    port = _free_port()
    env = {
        **os.environ,
        "OIDC_PORT": str(port),
        "OIDC_CLIENT_ID": CLIENT_ID,
        "OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "OIDC_REDIRECT_URI": CALLBACK,
        "OIDC_ACCOUNTS": json.dumps(DIRECTORY),
    }
    process = subprocess.Popen(
        [node, "provider.mjs"],
        cwd=OIDC_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.get(f"{url}/.well-known/openid-configuration", timeout=1)
                break
            except requests.ConnectionError:
                assert process.poll() is None, "the OIDC provider exited"
                assert time.monotonic() < deadline, "the OIDC provider did not start"
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def sso(oidc_server: str, settings: LazySettings) -> str:
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            "APPS": [
                {
                    "provider_id": "hospital",
                    "name": "St Elsewhere sign-in",
                    "client_id": CLIENT_ID,
                    "secret": CLIENT_SECRET,
                    "settings": {
                        "server_url": oidc_server,
                        "token_auth_method": "client_secret_post",
                        "oauth_pkce_enabled": True,
                        "scope": ["openid", "email", "profile", "oncoboard"],
                    },
                }
            ]
        }
    }
    settings.SSO_NAME = "St Elsewhere sign-in"
    roles.roles_setup()
    TeamFactory.create(name="Breast MDT")
    TeamFactory.create(name="Lung MDT")
    return oidc_server


def _form_action(html: str) -> str:
    match = re.search(r'<form[^>]*action="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


def _sign_in_with_sso(client: Client, provider: str, login: str) -> object:
    """Click the SSO button, sign in and consent at the provider, come back to OncoBoard."""
    start = client.post(reverse("openid_connect_login", kwargs={"provider_id": "hospital"}))
    assert start.status_code == 302, start.content[:300]
    browser = requests.Session()
    url = start["Location"]
    assert url.startswith(provider)
    form: dict[str, str] | None = None
    for _ in range(12):
        if form is None:
            response = browser.get(url, allow_redirects=False, timeout=5)
        else:
            response = browser.post(url, data=form, allow_redirects=False, timeout=5)
        form = None
        if response.is_redirect:
            url = urljoin(url, response.headers["Location"])
            if url.startswith("http://testserver/"):
                return client.get(url.removeprefix("http://testserver"))
            continue
        assert response.status_code == 200, response.text[:300]
        if 'name="login"' in response.text:
            form = {"prompt": "login", "login": login, "password": "any"}
        else:
            form = {"prompt": "consent"}
        url = urljoin(url, _form_action(response.text))
    raise AssertionError("the provider never sent the browser back")


def test_the_login_page_offers_the_hospital_sign_in(sso: str) -> None:
    page = Client().get(reverse("core-login")).content.decode()
    assert "Sign in with St Elsewhere sign-in" in page
    assert 'id="id_username"' in page and 'id="id_password"' in page


def test_a_clinician_signs_in_through_the_hospital_with_role_and_team(sso: str) -> None:
    client = Client()
    response = _sign_in_with_sso(client, sso, "a.moreau")
    assert response.status_code == 302, response.content[:500]  # type: ignore[attr-defined]
    user = User.objects.get(username="a.moreau")
    assert user.email == "a.moreau@hospital.example"
    assert list(user.groups.values_list("name", flat=True)) == [roles.ONCOLOGIST]
    assert list(Team.objects.filter(members=user).values_list("name", flat=True)) == ["Breast MDT"]
    assert not user.has_usable_password()
    assert client.get(reverse("patients-list")).status_code == 200
    assert AccessLog.objects.filter(action=AccessLog.Action.LOGIN, username="a.moreau").exists()


def test_every_sso_sign_in_brings_roles_and_teams_back_in_line(sso: str) -> None:
    _sign_in_with_sso(Client(), sso, "a.moreau")
    user = User.objects.get(username="a.moreau")
    # Granted by hand in OncoBoard, not by the directory: the next sign-in takes it away.
    from django.contrib.auth.models import Group

    user.groups.add(Group.objects.get(name=roles.PATHOLOGIST))
    Team.objects.get(name="Lung MDT").members.add(user)
    _sign_in_with_sso(Client(), sso, "a.moreau")
    assert list(user.groups.values_list("name", flat=True)) == [roles.ONCOLOGIST]
    assert list(Team.objects.filter(members=user).values_list("name", flat=True)) == ["Breast MDT"]


def test_an_administrator_from_the_directory_still_needs_the_second_factor(sso: str) -> None:
    client = Client()
    _sign_in_with_sso(client, sso, "it.admin")
    user = User.objects.get(username="it.admin")
    assert user.is_staff
    response = client.get(reverse("core-audit"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("core-mfa-enrol"))


def test_a_forged_callback_is_refused_and_audited(sso: str) -> None:
    client = Client()
    client.post(reverse("openid_connect_login", kwargs={"provider_id": "hospital"}))
    response = client.get(CALLBACK.removeprefix("http://testserver") + "?code=forged&state=wrong")
    assert response.status_code == 401  # allauth's "sign-in failed" page, never a 500
    assert "_auth_user_id" not in client.session
    row = AccessLog.objects.filter(action=AccessLog.Action.LOGIN_FAILED, category="sso").get()
    assert row.outcome == "failure"
