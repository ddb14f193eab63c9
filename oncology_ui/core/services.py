"""Writes on people and their access that more than one part of OncoBoard needs."""

from __future__ import annotations

import logging
from importlib import import_module

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.sessions.models import Session
from django.utils import timezone

logger = logging.getLogger(__name__)


def user_sessions_end(*, user: AbstractBaseUser, keep_session_key: str | None = None) -> int:
    """End every session ``user`` holds, on every device, except ``keep_session_key``.

    Called when access changes under a signed-in person: deactivation, a change of care teams
    (signals in ``core.signals``) and a password change (``keep_session_key`` spares the
    session that made it). Django would refuse an inactive user's cookie anyway, but the
    session row would come back to life on reactivation; deleting it ends it for good.

    1. Find the unexpired sessions whose signed-in user is ``user``. Sessions are stored
       signed and encoded, so each is decoded; they expire within the absolute timeout
       (12 hours), so there are never many.
    2. Delete each through the session engine, so a cached copy goes too.

    Returns how many sessions were ended.
    """
    store = import_module(settings.SESSION_ENGINE).SessionStore
    user_id = str(user.pk)
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.session_key == keep_session_key:
            continue
        if str(session.get_decoded().get("_auth_user_id")) != user_id:
            continue
        store(session_key=session.session_key).delete()
        ended += 1
    if ended:
        logger.info("ended %s session(s) of user %s", ended, user_id)
    return ended
