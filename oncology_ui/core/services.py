"""Writes on people and their access that more than one part of OncoBoard needs: ending
sessions (SECURITY.md scenario 11), password changes, break-glass access (scenario 14)."""

from __future__ import annotations

import logging
from datetime import timedelta
from importlib import import_module
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import AbstractBaseUser, User
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from oncology_ui.core.audit import audit_record
from oncology_ui.core.models import AccessLog, BreakGlassAccess
from oncology_ui.core.querysets import BREAK_GLASS_SESSION_KEY, break_glass_from_session

if TYPE_CHECKING:
    from oncology_ui.patients.models import Patient

logger = logging.getLogger(__name__)


def user_sessions_end(
    *,
    user: AbstractBaseUser,
    request: HttpRequest | None = None,
    keep_session_key: str | None = None,
) -> int:
    """End every session ``user`` holds, on every device, except ``keep_session_key``.

    Called when access changes under a signed-in person: deactivation, a change of care teams
    (signals in ``core.signals``) and a password change (``keep_session_key`` spares the
    session that made it). Django would refuse an inactive user's cookie, or one whose password
    hash no longer matches, but the session row would come back to life on reactivation or a
    password set back; deleting it ends it for good.

    1. Find the unexpired sessions whose signed-in user is ``user``. Sessions are stored
       signed and encoded, so each is decoded; they expire within the absolute timeout
       (12 hours), so there are never many.
    2. Delete each through the session engine, so a cached copy goes too.
    3. Audit once when any ended.

    Returns how many sessions were ended.
    """
    store = import_module(settings.SESSION_ENGINE).SessionStore
    user_id = str(user.pk)
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if keep_session_key and session.session_key == keep_session_key:
            continue
        if str(session.get_decoded().get(SESSION_KEY)) != user_id:
            continue
        store(session_key=session.session_key).delete()
        ended += 1
    if ended:
        logger.info("ended %s session(s) of user %s", ended, user_id)
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


@transaction.atomic
def break_glass_open(
    *, request: HttpRequest, user: User, patient: Patient, reason: str
) -> BreakGlassAccess:
    """Grant ``user`` emergency access to a patient outside their care teams.

    1. Refuse a blank reason and a patient the user's teams already reach.
    2. Store the grant, lasting ``BREAK_GLASS_MINUTES``, and add it to the request's session:
       the grant opens the patient in the session that asked for it.
    3. Audit the opening with ``break_glass`` set; later accesses are flagged by
       ``audit_record`` while the grant lasts.
    """
    reason = reason.strip()
    if not reason:
        raise ValidationError("Give the reason you need this record.")
    if user.care_teams.filter(patients=patient).exists():
        raise ValidationError("Your care teams already reach this patient.")
    now = timezone.now()
    grant = BreakGlassAccess(
        user=user,
        patient=patient,
        reason=reason,
        started_at=now,
        expires_at=now + timedelta(minutes=settings.BREAK_GLASS_MINUTES),
    )
    grant.full_clean()
    grant.save()
    session = getattr(request, "session", None)
    if session is not None:
        # Expired grants are dropped as new ones are added, so the list stays short.
        kept = [g for g in session.get(BREAK_GLASS_SESSION_KEY, []) if g[1] > now.timestamp()]
        session[BREAK_GLASS_SESSION_KEY] = [*kept, [patient.pk, grant.expires_at.timestamp()]]
        break_glass_from_session(user, session)
    elif hasattr(user, "_break_glass_grants"):
        del user._break_glass_grants
    audit_record(
        request=request,
        action=AccessLog.Action.BREAK_GLASS,
        category="break-glass",
        patient_id=patient.pk,
        object_ref=f"break-glass:{grant.pk}",
    )
    logger.warning(
        "break-glass: user %s opened patient %s (grant %s)", user.pk, patient.pk, grant.pk
    )
    return grant


def break_glass_review(
    *, request: HttpRequest, grant: BreakGlassAccess, reviewer: User, note: str = ""
) -> BreakGlassAccess:
    """Record that an administrator reviewed a break-glass grant (once; audited)."""
    if grant.reviewed_at is not None:
        raise ValidationError("This access was already reviewed.")
    grant.reviewed_by = reviewer
    grant.reviewed_at = timezone.now()
    grant.review_note = note.strip()[:300]
    grant.save(update_fields=["reviewed_by", "reviewed_at", "review_note"])
    audit_record(
        request=request,
        action=AccessLog.Action.REVIEW,
        category="break-glass",
        object_ref=f"break-glass:{grant.pk}",
    )
    return grant
