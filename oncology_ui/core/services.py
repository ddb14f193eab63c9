"""Account services: password changes and ending a user's sessions (SECURITY.md scenario 11)."""

from __future__ import annotations

from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.sessions.models import Session
from django.http import HttpRequest
from django.utils import timezone

from oncology_ui.core.audit import audit_record
from oncology_ui.core.models import AccessLog


def user_sessions_end(
    *, user: AbstractBaseUser, request: HttpRequest | None = None, keep_session_key: str = ""
) -> int:
    """Delete every live session of ``user`` except ``keep_session_key``; audit if any ended.

    Django already refuses a session whose password hash no longer matches, or whose user is
    inactive; deleting the rows as well means a later reactivation or a password set back to
    the old one cannot revive them. Sessions are stored in the database; decoding each live
    one is linear in the number of signed-in sessions, which stays small for a hospital.

    Returns:
        how many sessions were ended.
    """
    user_id = str(user.pk)
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.session_key == keep_session_key:
            continue
        if str(session.get_decoded().get(SESSION_KEY)) == user_id:
            session.delete()
            ended += 1
    if ended:
        audit_record(
            request=request,
            action=AccessLog.Action.SESSIONS_ENDED,
            category="session",
            object_ref=f"user:{user.pk}",
            username=user.get_username(),
        )
    return ended


def user_password_changed(*, request: HttpRequest, user: AbstractBaseUser) -> None:
    """After the user changed their own password: audit it and end their other sessions."""
    audit_record(request=request, action=AccessLog.Action.PASSWORD_CHANGE, category="session")
    this_session = request.session.session_key or ""
    user_sessions_end(user=user, request=request, keep_session_key=this_session)
