"""Security keys and passkeys (WebAuthn) as a second factor, verified by fido2's server.

The browser's ``navigator.credentials`` does the ceremony (static/core/passkeys.js); the
challenge lives in the session between the two halves, so each one is single use.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.http import HttpRequest
from django_otp import login as otp_login
from fido2.server import Fido2Server
from fido2.utils import websafe_encode
from fido2.webauthn import (
    AttestedCredentialData,
    AuthenticationResponse,
    PublicKeyCredentialRpEntity,
    PublicKeyCredentialUserEntity,
    UserVerificationRequirement,
)

from oncology_ui.core.audit import audit_record
from oncology_ui.core.mfa import audit_second_factor_refused
from oncology_ui.core.models import AccessLog, SecurityKeyDevice

_STATE_KEY = "oncoboard_webauthn_state"


class PasskeyError(Exception):
    """The browser's answer did not verify; the message is safe to show."""


def _server() -> Fido2Server:
    rp = PublicKeyCredentialRpEntity(id=settings.WEBAUTHN_RP_ID, name=settings.SITE_NAME)
    origins = set(settings.WEBAUTHN_ORIGINS)
    return Fido2Server(rp, verify_origin=lambda origin: origin in origins)


def _user_handle(user: AbstractBaseUser) -> bytes:
    # Opaque and stable; never the username (authenticators may show or sync the handle).
    return hashlib.sha256(f"{settings.SECRET_KEY}:webauthn:{user.pk}".encode()).digest()


def _credentials(user: AbstractBaseUser) -> list[AttestedCredentialData]:
    devices = SecurityKeyDevice.objects.filter(user=user, confirmed=True)
    return [AttestedCredentialData(bytes(device.credential_data)) for device in devices]


def _take_state(request: HttpRequest, kind: str) -> dict[str, Any]:
    state = request.session.pop(_STATE_KEY, None)
    if not isinstance(state, dict) or state.get("kind") != kind:
        raise PasskeyError("The request expired; try again.")
    return state


def passkey_register_begin(*, request: HttpRequest, user: AbstractBaseUser) -> dict[str, Any]:
    """Creation options for the browser; the challenge waits in the session."""
    options, state = _server().register_begin(
        PublicKeyCredentialUserEntity(
            id=_user_handle(user),
            name=user.get_username(),
            display_name=user.get_username(),
        ),
        credentials=_credentials(user),
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    request.session[_STATE_KEY] = {"kind": "register", **state}
    return dict(options)


@transaction.atomic
def passkey_register_complete(
    *, request: HttpRequest, user: AbstractBaseUser, response: dict[str, Any], name: str
) -> SecurityKeyDevice:
    """Verify the new credential (challenge, origin, RP id) and store it as a device."""
    state = _take_state(request, "register")
    try:
        auth_data = _server().register_complete(state, response)
    except (ValueError, KeyError, TypeError) as error:
        raise PasskeyError("The security key's answer did not verify.") from error
    credential = auth_data.credential_data
    assert credential is not None  # register_complete guarantees attested credential data
    device = SecurityKeyDevice.objects.create(
        user=user,
        name=(name or "Security key")[:64],
        confirmed=True,
        credential_id=websafe_encode(credential.credential_id),
        credential_data=bytes(credential),
        sign_count=auth_data.counter,
    )
    audit_record(
        request=request, action=AccessLog.Action.MFA_ENROL, category="mfa", object_ref="passkey"
    )
    return device


def passkey_authenticate_begin(*, request: HttpRequest, user: AbstractBaseUser) -> dict[str, Any]:
    credentials = _credentials(user)
    if not credentials:
        raise PasskeyError("No security key or passkey is registered for this account.")
    options, state = _server().authenticate_begin(
        credentials, user_verification=UserVerificationRequirement.PREFERRED
    )
    request.session[_STATE_KEY] = {"kind": "authenticate", **state}
    return dict(options)


@transaction.atomic
def _passkey_check(
    *, request: HttpRequest, user: AbstractBaseUser, response: dict[str, Any]
) -> SecurityKeyDevice:
    state = _take_state(request, "authenticate")
    try:
        credential = _server().authenticate_complete(state, _credentials(user), response)
        counter = AuthenticationResponse.from_dict(response).response.authenticator_data.counter
        device = SecurityKeyDevice.objects.select_for_update().get(
            user=user, credential_id=websafe_encode(credential.credential_id)
        )
    except (ValueError, KeyError, TypeError, SecurityKeyDevice.DoesNotExist) as error:
        raise PasskeyError("The security key's answer did not verify.") from error
    # A counter that does not go up (when the authenticator keeps one) means a cloned key.
    if (counter or device.sign_count) and counter <= device.sign_count:
        raise PasskeyError("This security key's counter went backwards; it may be a copy.")
    device.sign_count = counter
    device.save(update_fields=["sign_count"])
    return device


def passkey_authenticate_complete(
    *, request: HttpRequest, user: AbstractBaseUser, response: dict[str, Any]
) -> SecurityKeyDevice:
    """Verify the signed challenge and counter, mark the session verified; audit either way."""
    try:
        device = _passkey_check(request=request, user=user, response=response)
    except PasskeyError:
        audit_second_factor_refused(
            request, object_ref="sign-in:passkey", username=user.get_username()
        )
        raise
    otp_login(request, device)
    audit_record(
        request=request,
        action=AccessLog.Action.MFA_VERIFY,
        category="mfa",
        object_ref="sign-in:passkey",
    )
    return device
