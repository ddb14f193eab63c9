"""Sessions for image tiles and slices: read from the database at most once a minute per worker.

A slide viewer asks for dozens of Deep Zoom tiles a second and a CT viewer for a slice per scroll
step; reading ``django_session`` for each one made the session table the busiest in the database
under a tumor-board burst. For those URLs only, :class:`ImageSessionMiddleware` hands the request
a :class:`RecentSessionStore`: it answers from a small per-process copy of the session that is at
most :data:`MAX_AGE_SECONDS` old, and when the request changes the session (the idle clock's
once-a-minute refresh) it re-reads the row and writes only the keys it changed, so a stale copy
never overwrites what a page request stored meanwhile.

The price is that a session ended in another worker (logout, timeout) may still fetch
de-identified tiles from this worker for up to a minute; pages, forms and downloads always read
the session afresh, and a logout in this worker drops the copy at once.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest
from django.urls import Resolver404, resolve

MAX_AGE_SECONDS = 60.0
MAX_ENTRIES = 2048  # sessions per worker; a tumor board is tens of users, not thousands

# URL names whose requests are image pixels: many per page view, none of them a form.
IMAGE_URL_NAMES = frozenset({"pathology-tile", "pathology-dzi", "imaging-slice"})

_lock = threading.Lock()
_recent: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()


def recent_forget(session_key: str | None) -> None:
    """Drop this worker's copy of a session (it was ended or rewritten)."""
    if session_key:
        with _lock:
            _recent.pop(session_key, None)


def recent_clear() -> None:
    """Drop every copy (tests; a worker that wants to start clean)."""
    with _lock:
        _recent.clear()


class RecentSessionStore(SessionStore):
    """A database session read through a per-process copy at most a minute old."""

    # Django salts the signature with the class name; this store reads the same rows as the
    # database store the pages use, so it must sign and verify them the same way.
    key_salt = "django.contrib.sessions." + SessionStore.__qualname__

    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        self._changed: dict[str, Any] = {}
        self._removed: set[str] = set()
        self._cleared = False

    def load(self) -> dict[str, Any]:
        key = self.session_key
        now = time.monotonic()
        if key:
            with _lock:
                entry = _recent.get(key)
                if entry is not None and now - entry[0] < MAX_AGE_SECONDS:
                    _recent.move_to_end(key)
                    return dict(entry[1])
        data = super().load()
        # An unknown or expired key leaves session_key None (a new, empty session): never cached.
        if self.session_key:
            with _lock:
                _recent[self.session_key] = (now, dict(data))
                _recent.move_to_end(self.session_key)
                while len(_recent) > MAX_ENTRIES:
                    _recent.popitem(last=False)
        return data

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self._changed[key] = value
        self._removed.discard(key)

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self._changed.pop(key, None)
        self._removed.add(key)

    def clear(self) -> None:
        super().clear()
        self._cleared = True

    def save(self, must_create: bool = False) -> None:
        changes = self._changed or self._removed
        if must_create or self._cleared or self.session_key is None or not changes:
            super().save(must_create=must_create)
            recent_forget(self.session_key)
            return
        # Apply only this request's changes to the row as it is now, not to the copy.
        fresh = SessionStore(self.session_key)
        data = fresh.load()
        if fresh.session_key is None:  # ended meanwhile: do not bring it back
            recent_forget(self.session_key)
            return
        data.update(self._changed)
        for key in self._removed:
            data.pop(key, None)
        self._session_cache = data
        super().save()
        with _lock:
            _recent[self.session_key] = (time.monotonic(), dict(data))
        self._changed.clear()
        self._removed.clear()

    def delete(self, session_key: str | None = None) -> None:
        recent_forget(session_key or self.session_key)
        super().delete(session_key)

    def cycle_key(self) -> None:
        recent_forget(self.session_key)
        super().cycle_key()


def is_image_request(request: HttpRequest) -> bool:
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return False
    return match.url_name in IMAGE_URL_NAMES


class ImageSessionMiddleware(SessionMiddleware):
    """Django's session middleware, with :class:`RecentSessionStore` for image requests.

    Takes the place of ``django.contrib.sessions.middleware.SessionMiddleware`` in settings.
    """

    def process_request(self, request: HttpRequest) -> None:
        session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        if is_image_request(request):
            request.session = RecentSessionStore(session_key)
        else:
            request.session = self.SessionStore(session_key)
