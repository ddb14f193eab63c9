"""Writing and verifying the access audit log (see ``AccessLog``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import connection, transaction
from django.http import Http404, HttpRequest

from oncology_ui.core.models import AccessLog
from oncology_ui.core.signin import client_ip

logger = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
# An arbitrary constant: the PostgreSQL advisory-lock key that serialises audit appends so the
# chain has no forks when two requests write at once.
_AUDIT_LOCK_KEY = 7_418_220_061


def _client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    # The same address the lockout counts: REMOTE_ADDR, or behind our proxies the entry they
    # appended to X-Forwarded-For (never the client-supplied part).
    return client_ip(request)


def audit_record(
    *,
    request: HttpRequest | None,
    action: str,
    category: str,
    patient_id: int | None = None,
    object_ref: str = "",
    outcome: str = AccessLog.Outcome.SUCCESS,
    username: str | None = None,
) -> AccessLog:
    """Append one row to the access log, chained to the previous row.

    Args:
        request: the request that caused the access (user, source address and route come from it).
        action: one of ``AccessLog.Action``.
        category: the data category touched (``demographics``, ``case``, ``timeline``, ...).
        patient_id: the patient whose data was touched, if any.
        object_ref: a non-clinical reference such as ``case:12``; never clinical values.
        outcome: one of ``AccessLog.Outcome``.
        username: the name tried, for failed logins where no user is known.
    """
    user = getattr(request, "user", None) if request is not None else None
    is_user = user is not None and user.is_authenticated
    match = getattr(request, "resolver_match", None)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_AUDIT_LOCK_KEY])
        last = AccessLog.objects.order_by("-id").values_list("row_hash", flat=True).first()
        entry = AccessLog(
            user_id_snapshot=user.pk if is_user else None,  # type: ignore[union-attr]
            username=(user.get_username() if is_user else (username or ""))[:150],  # type: ignore[union-attr]
            patient_id_snapshot=patient_id,
            action=action,
            category=category,
            object_ref=object_ref[:80],
            route=(match.view_name if match else "")[:80],
            source_ip=_client_ip(request),
            outcome=outcome,
            prev_hash=last or GENESIS_HASH,
        )
        entry.row_hash = entry.compute_hash()
        entry.save()
    return entry


@dataclass(frozen=True)
class ChainReport:
    rows_checked: int
    first_bad_id: int | None
    reason: str

    @property
    def ok(self) -> bool:
        return self.first_bad_id is None


def audit_verify_chain() -> ChainReport:
    """Recompute every row's hash in order and name the first row that does not fit the chain."""
    expected_prev = GENESIS_HASH
    checked = 0
    for entry in AccessLog.objects.order_by("id").iterator(chunk_size=2000):
        checked += 1
        if entry.prev_hash != expected_prev:
            return ChainReport(
                checked, entry.pk, "previous-hash link broken (row removed or inserted)"
            )
        if entry.compute_hash() != entry.row_hash:
            return ChainReport(
                checked, entry.pk, "row content does not match its hash (row edited)"
            )
        expected_prev = entry.row_hash
    return ChainReport(checked, None, "chain intact")


def access_denied(request: HttpRequest, *, category: str, object_ref: str) -> Http404:
    """Audit a refused access and return the 404 to raise (never 403: existence stays hidden)."""
    audit_record(
        request=request,
        action=AccessLog.Action.DENIED,
        category=category,
        object_ref=object_ref,
        outcome=AccessLog.Outcome.DENIED,
    )
    return Http404("Not found")
