"""Re-authentication for an electronic signature: the signer proves who they are again.

Board decisions are signed with it, and the model committee approves a model's state change with
it; one implementation, so both meet the same lockout and second-factor rules (21 CFR 11.200).
"""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from oncology_ui.core.mfa import mfa_check, mfa_enrolled


def signer_reauthenticate(
    *,
    user: User,
    password: str,
    otp_token: str,
    request: HttpRequest | None,
    nothing_done: str = "nothing was signed",
) -> None:
    """The signer re-enters their password, then a second-factor code.

    From the web (a request): the password goes through ``authenticate`` so guesses meet the
    sign-in lockout, and the signer must have enrolled a second factor and type a current
    code (each code works once). A call from a script or shell has no person at a keyboard to
    re-authenticate and no address to throttle: it checks the password only.

    Args:
        user: who signs.
        password: the password typed.
        otp_token: the second-factor code typed.
        request: the web request, ``None`` from a script.
        nothing_done: the end of every refusal (``"nothing was approved"``).

    Raises:
        ValidationError: keyed by ``password`` or ``otp_token``.
    """
    if request is None:
        if not (user.is_active and user.check_password(password)):
            raise ValidationError({"password": f"The password is not correct; {nothing_done}."})
        return
    if authenticate(request, username=user.get_username(), password=password) is None:
        raise ValidationError({"password": f"The password is not correct; {nothing_done}."})
    if not mfa_enrolled(user):
        raise ValidationError(
            {"otp_token": f"Signing needs a second factor: set one up first; {nothing_done}."}
        )
    if not mfa_check(request=request, user=user, token=otp_token, purpose="signature"):
        raise ValidationError(
            {"otp_token": f"The second-factor code was not accepted; {nothing_done}."}
        )
