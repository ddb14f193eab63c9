"""Second factor (SECURITY.md scenario 7): TOTP with single-use recovery codes, on django-otp.

Administrators must enrol and verify before any page but sign-in and enrolment; anyone who
enrolled verifies at every sign-in; signing a board decision re-checks the second factor.
django-otp does the cryptography: a TOTP code is accepted once (``last_t``), a recovery code is
deleted when used, and every device slows guessing down by itself (exponential back-off).
"""

from __future__ import annotations

import base64
import io
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.http import HttpRequest
from django_otp import devices_for_user, user_has_device
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.qr import write_qrcode_image

from oncology_ui.core.audit import audit_record
from oncology_ui.core.models import AccessLog

RECOVERY_CODE_COUNT = 10
TOTP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"


def mfa_required(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Administrators reach every patient's audit trail and every account: never password-only.

    "Administrator" is read as the capability (the audit log, staff, superuser) rather than the
    group name, so it costs no query of its own: pages load the user's permissions anyway.
    """
    if not user.is_authenticated:
        return False
    if getattr(user, "is_staff", False) or getattr(user, "is_superuser", False):
        return True
    return bool(user.has_perm("core.view_audit"))  # type: ignore[attr-defined]


def mfa_enrolled(user: AbstractBaseUser | AnonymousUser) -> bool:
    return bool(user.is_authenticated and user_has_device(user, confirmed=True))


def mfa_totp_start(*, user: AbstractBaseUser) -> TOTPDevice:
    """The authenticator-app device being set up: unconfirmed until a first code matches."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    return device


def mfa_totp_qr_data_uri(device: TOTPDevice) -> str:
    """The device's otpauth:// URL as an SVG QR code in a data: URI (the CSP allows data:)."""
    buffer = io.BytesIO()
    write_qrcode_image(device.config_url, buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def mfa_totp_secret(device: TOTPDevice) -> str:
    """The key in base32, grouped by four, for typing into an app without a camera."""
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def mfa_recovery_codes_issue(*, user: AbstractBaseUser) -> list[str]:
    """Replace the user's recovery codes with fresh ones; each works once."""
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name=RECOVERY_DEVICE_NAME, defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def _clean(token: str) -> str:
    return "".join(token.split()).lower()


def audit_second_factor_refused(
    request: HttpRequest, *, object_ref: str, username: str | None = None
) -> None:
    """One ``mfa_failed`` audit row: a refused code or security key, named by ``object_ref``."""
    audit_record(
        request=request,
        action=AccessLog.Action.MFA_FAILED,
        category="mfa",
        object_ref=object_ref,
        outcome=AccessLog.Outcome.FAILURE,
        username=username,
    )


@transaction.atomic
def mfa_totp_confirm(*, request: HttpRequest, device: TOTPDevice, token: str) -> list[str] | None:
    """Confirm a new authenticator app with its first code.

    1. Check the code against the unconfirmed device (throttled like any verification).
    2. On a match: confirm the device, issue recovery codes, mark this session verified.
    3. Audit the enrolment or the refused code.

    Returns:
        the new recovery codes, or None when the code did not match.
    """
    if not device.verify_token(_clean(token)):
        audit_second_factor_refused(request, object_ref="enrol:totp")
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=device.user, confirmed=False).delete()
    codes = mfa_recovery_codes_issue(user=device.user)
    otp_login(request, device)
    audit_record(request=request, action=AccessLog.Action.MFA_ENROL, category="mfa")
    return codes


def _matching_device(user: AbstractBaseUser, token: str) -> Any | None:
    token = _clean(token)
    if not token:
        return None
    for device in devices_for_user(user, confirmed=True):
        # Every device throttles its own failures; a guess counts against each it was tried on.
        if device.verify_token(token):
            return device
    return None


def mfa_check(*, request: HttpRequest, user: AbstractBaseUser, token: str, purpose: str) -> bool:
    """Check a second-factor code (authenticator or recovery code) and audit the outcome.

    Args:
        request: the request (audit source).
        user: whose devices to try.
        token: what the user typed.
        purpose: ``sign-in`` or ``signature`` (goes into the audit reference).
    """
    device = _matching_device(user, token)
    if device is None:
        audit_second_factor_refused(request, object_ref=purpose, username=user.get_username())
        return False
    kind = "recovery" if isinstance(device, StaticDevice) else "totp"
    audit_record(
        request=request,
        action=AccessLog.Action.MFA_VERIFY,
        category="mfa",
        object_ref=f"{purpose}:{kind}",
    )
    if purpose == "sign-in":
        otp_login(request, device)
    return True


def mfa_recovery_codes_left(user: AbstractBaseUser) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()
