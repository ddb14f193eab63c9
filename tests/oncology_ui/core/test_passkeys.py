"""Security keys and passkeys (WebAuthn) against a software authenticator built in the test.

The authenticator is real cryptography (a P-256 key signing the server's challenge in the
WebAuthn formats from fido2), so the server half is exercised exactly as with a browser.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import LazySettings
from django.test import Client
from django.urls import reverse
from fido2.cose import ES256
from fido2.utils import websafe_decode, websafe_encode
from fido2.webauthn import (
    AttestationObject,
    AttestedCredentialData,
    AuthenticatorData,
    CollectedClientData,
)

from oncology_ui.core.models import AccessLog, SecurityKeyDevice
from tests.factories import PASSWORD, totp_device_enrol
from tests.oncology_ui.conftest import Cast, signed_in_client

pytestmark = pytest.mark.django_db
A = AccessLog.Action
RP_ID = "oncoboard.example"
ORIGIN = f"https://{RP_ID}"
FLAGS = AuthenticatorData.FLAG.UP | AuthenticatorData.FLAG.UV


class SoftwareAuthenticator:
    """A passkey in memory: one P-256 key, a credential id and a signature counter."""

    def __init__(self, origin: str = ORIGIN) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.counter = 0
        self.origin = origin

    def _client_data(self, kind: str, options: dict[str, Any]) -> CollectedClientData:
        challenge = websafe_decode(options["publicKey"]["challenge"])
        return CollectedClientData.create(type=kind, challenge=challenge, origin=self.origin)

    def create(self, options: dict[str, Any]) -> dict[str, Any]:
        client_data = self._client_data("webauthn.create", options)
        credential = AttestedCredentialData.create(
            b"\0" * 16, self.credential_id, ES256.from_cryptography_key(self.key.public_key())
        )
        auth_data = AuthenticatorData.create(
            hashlib.sha256(RP_ID.encode()).digest(),
            FLAGS | AuthenticatorData.FLAG.AT,
            self.counter,
            credential,
        )
        attestation = AttestationObject.create("none", auth_data, {})
        return self._credential(client_data, attestationObject=attestation)

    def get(self, options: dict[str, Any], *, counter: int | None = None) -> dict[str, Any]:
        self.counter = self.counter + 1 if counter is None else counter
        client_data = self._client_data("webauthn.get", options)
        auth_data = AuthenticatorData.create(
            hashlib.sha256(RP_ID.encode()).digest(), FLAGS, self.counter
        )
        signature = self.key.sign(bytes(auth_data) + client_data.hash, ec.ECDSA(hashes.SHA256()))
        return self._credential(client_data, authenticatorData=auth_data, signature=signature)

    def _credential(self, client_data: CollectedClientData, **response: bytes) -> dict[str, Any]:
        """The PublicKeyCredential JSON a browser posts, each binary field base64url-encoded."""
        return {
            "id": websafe_encode(self.credential_id),
            "rawId": websafe_encode(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": websafe_encode(client_data),
                **{name: websafe_encode(value) for name, value in response.items()},
            },
        }


@pytest.fixture(autouse=True)
def _relying_party(settings: LazySettings) -> None:
    settings.WEBAUTHN_RP_ID = RP_ID
    settings.WEBAUTHN_ORIGINS = [ORIGIN]


def _post_json(client: Client, url: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(url, json.dumps(body or {}), content_type="application/json")


def _register(client: Client, key: SoftwareAuthenticator) -> Any:
    options = _post_json(client, reverse("core-passkey-register-options")).json()
    credential = key.create(options)
    return _post_json(
        client, reverse("core-passkey-register"), {"credential": credential, "name": "YubiKey"}
    )


def _password_only(username: str) -> Client:
    client = Client()
    client.post(reverse("core-login"), {"username": username, "password": PASSWORD})
    return client


def _verify(client: Client, key: SoftwareAuthenticator, **kwargs: Any) -> Any:
    options = _post_json(client, reverse("core-passkey-verify-options")).json()
    return _post_json(
        client,
        reverse("core-passkey-verify") + "?next=/audit/",
        {"credential": key.get(options, **kwargs)},
    )


def test_an_administrator_adds_a_passkey_and_signs_in_with_it(cast: Cast) -> None:
    totp_device_enrol(cast.admin)
    enrolled = signed_in_client(cast.admin)  # verified with the authenticator app already
    key = SoftwareAuthenticator()
    response = _register(enrolled, key)
    assert response.status_code == 200, response.content
    device = SecurityKeyDevice.objects.get(user=cast.admin)
    assert (device.name, device.confirmed) == ("YubiKey", True)

    client = _password_only("admin")
    assert client.get(reverse("core-audit")).status_code == 302
    page = client.get(reverse("core-mfa-verify")).content.decode()
    assert "Use a security key or passkey" in page
    verified = _verify(client, key)
    assert verified.status_code == 200, verified.content
    assert verified.json() == {"next": "/audit/"}
    assert client.get(reverse("core-audit")).status_code == 200
    assert AccessLog.objects.filter(action=A.MFA_VERIFY, object_ref="sign-in:passkey").exists()


def test_a_wrong_origin_a_replayed_answer_and_a_cloned_counter_are_refused(cast: Cast) -> None:
    totp_device_enrol(cast.admin)
    enrolled = signed_in_client(cast.admin)
    key = SoftwareAuthenticator()
    _register(enrolled, key)

    phishing = SoftwareAuthenticator.__new__(SoftwareAuthenticator)
    phishing.__dict__.update(key.__dict__, origin="https://oncoboard-login.example")
    client = _password_only("admin")
    assert _verify(client, phishing).status_code == 400

    options = _post_json(client, reverse("core-passkey-verify-options")).json()
    answer = key.get(options)
    assert (
        _post_json(client, reverse("core-passkey-verify"), {"credential": answer}).status_code
        == 200
    )
    other = _password_only("admin")
    _post_json(other, reverse("core-passkey-verify-options"))
    # The same signed answer again: its challenge is not the one this session was given.
    assert (
        _post_json(other, reverse("core-passkey-verify"), {"credential": answer}).status_code == 400
    )
    # A copy of the key whose counter does not move on is refused.
    assert _verify(other, key, counter=key.counter).status_code == 400
    assert other.get(reverse("core-audit")).status_code == 302
    assert AccessLog.objects.filter(action=A.MFA_FAILED, object_ref="sign-in:passkey").count() == 3


def test_a_key_registered_for_another_site_does_not_verify(
    cast: Cast, settings: LazySettings
) -> None:
    totp_device_enrol(cast.admin)
    enrolled = signed_in_client(cast.admin)
    settings.WEBAUTHN_ORIGINS = ["https://elsewhere.example"]
    response = _register(enrolled, SoftwareAuthenticator())
    assert response.status_code == 400
    assert not SecurityKeyDevice.objects.exists()


def test_garbage_is_a_clear_400_never_a_500(cast: Cast) -> None:
    totp_device_enrol(cast.admin)
    enrolled = signed_in_client(cast.admin)
    for body in ("not json", json.dumps([1]), json.dumps({"credential": {"id": "x"}})):
        response = enrolled.post(
            reverse("core-passkey-register"), body, content_type="application/json"
        )
        assert response.status_code == 400
        assert "error" in response.json()
    client = _password_only("admin")
    response = _post_json(client, reverse("core-passkey-verify-options"))
    assert response.status_code == 400
    assert "No security key" in response.json()["error"]
