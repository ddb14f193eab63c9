"""Writing and verifying the access audit log (see ``AccessLog``)."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, Protocol

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.http import Http404, HttpRequest
from django.utils import timezone

from oncology_ui.core.audit_anchor import Anchor, AnchorFileError, anchor_append, anchors_read
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


class AuditedCase(Protocol):
    """What :func:`audit_case` needs of a case (core does not import the patients app)."""

    @property
    def pk(self) -> Any: ...

    @property
    def patient_id(self) -> int: ...


def audit_case(
    *,
    request: HttpRequest,
    action: str,
    category: str,
    case: AuditedCase,
    object_ref: str | None = None,
) -> AccessLog:
    """Audit an access to one case's data: the row names the case's patient.

    Args:
        request: the request that caused the access.
        action: one of ``AccessLog.Action``.
        category: the data category touched (``timeline``, ``trials``, ``board-decision``, ...).
        case: the case whose data was touched.
        object_ref: what was touched, such as ``job:12``; the case itself (``case:<id>``) if not
            given.
    """
    return audit_record(
        request=request,
        action=action,
        category=category,
        patient_id=case.patient_id,
        object_ref=f"case:{case.pk}" if object_ref is None else object_ref,
    )


def audit_patients(
    *,
    request: HttpRequest,
    action: str,
    category: str,
    patient_ids: Iterable[int],
    object_ref: str,
) -> None:
    """Audit an access that showed several patients: one row per patient (in the order given,
    each once), so every patient's own access history shows it."""
    for patient_id in dict.fromkeys(patient_ids):
        audit_record(
            request=request,
            action=action,
            category=category,
            patient_id=patient_id,
            object_ref=object_ref,
        )


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
            chain_version=AccessLog.ChainVersion.HMAC_SHA256,
            break_glass=bool(
                is_user
                and patient_id is not None
                and outcome == AccessLog.Outcome.SUCCESS
                and _through_break_glass(user, patient_id)
            ),
        )
        entry.row_hash = entry.compute_hash()
        entry.save()
    return entry


def audit_for_requester(
    *,
    requested_by: Any,
    action: str,
    category: str,
    patient_id: int,
    object_ref: str,
    outcome: str,
) -> AccessLog:
    """One row written by a background job, named by the person who asked for the work.

    A job has no request (no address, no route), so the row carries the requester's username.
    """
    return audit_record(
        request=None,
        action=action,
        category=category,
        patient_id=patient_id,
        object_ref=object_ref,
        outcome=outcome,
        username=requested_by.get_username() if requested_by else "",
    )


def _through_break_glass(user: Any, patient_id: int) -> bool:
    """Whether this access to the patient was possible only through a break-glass grant."""
    from oncology_ui.core.querysets import break_glass_patient_ids

    if patient_id not in break_glass_patient_ids(user):
        return False
    return not user.care_teams.filter(patients__pk=patient_id).exists()


@dataclass(frozen=True)
class ChainReport:
    rows_checked: int
    first_bad_id: int | None
    reason: str
    intact: bool = True
    anchors_checked: int = 0

    @property
    def ok(self) -> bool:
        return self.intact


class _Broken(Exception):
    def __init__(self, row_id: int | None, reason: str, checked: int = 0) -> None:
        super().__init__(reason)
        self.row_id = row_id
        self.reason = reason
        self.checked = checked


def audit_verify_chain(*, since: Anchor | None = None, adopt_legacy: bool = False) -> ChainReport:
    """Check the access log against its keyed hashes and every signed anchor.

    1. Read the anchors from ``AUDIT_ANCHOR_PATH``; a forged, malformed or missing-in-the-middle
       line fails the check.
    2. Walk the rows in id order (from ``since``, an anchor already trusted, when given): each
       row must link to the previous row's hash and match its own HMAC; the exact row is named.
    3. A row still on the plain SHA-256 chain from before the key is accepted only among the
       oldest rows, and only up to the newest plain row an anchor saw (``plain_until``), so a
       forger cannot downgrade keyed rows to an unkeyed hash they can recompute. Before the
       first anchor, such rows fail unless ``adopt_legacy`` (the first anchor taking them in).
    4. Where an anchor's head row is reached, its hash and the row count so far must match.
    5. An anchor whose head row is beyond the newest row reports the truncated tail.
    """
    path = Path(settings.AUDIT_ANCHOR_PATH)
    try:
        anchors = anchors_read(path)
    except AnchorFileError as error:
        return ChainReport(0, None, f"{path}: {error}", intact=False)
    try:
        return _walk(anchors, since, adopt_legacy=adopt_legacy)
    except _Broken as broken:
        return ChainReport(broken.checked, broken.row_id, broken.reason, intact=False)


def _walk(anchors: list[Anchor], since: Anchor | None, *, adopt_legacy: bool) -> ChainReport:
    plain = AccessLog.ChainVersion.PLAIN_SHA256
    keyed = AccessLog.ChainVersion.HMAC_SHA256
    plain_until = min((a.plain_until for a in anchors), default=None)
    by_head: dict[int, list[Anchor]] = {}
    for anchor in anchors:
        by_head.setdefault(anchor.head_id, []).append(anchor)
    rows = AccessLog.objects.order_by("id")
    expected_prev, checked, keyed_seen, last_id = GENESIS_HASH, 0, False, 0
    if since is not None and since.head_id:
        head = AccessLog.objects.filter(pk=since.head_id).first()
        if (
            head is None
            or head.row_hash != since.head_hash
            or not hmac.compare_digest(head.compute_hash(), head.row_hash)
        ):
            raise _Broken(since.head_id, f"row differs from or is missing since {since.describe()}")
        checked = AccessLog.objects.filter(pk__lte=since.head_id).count()
        if checked != since.rows:
            raise _Broken(since.head_id, f"{since.describe()}; there are now {checked} up to it")
        expected_prev, keyed_seen, last_id = head.row_hash, head.chain_version == keyed, head.pk
        rows = rows.filter(pk__gt=since.head_id)
    anchors_checked, seen_heads = 0, set[int]()
    for entry in rows.iterator(chunk_size=2000):
        checked += 1
        if entry.prev_hash != expected_prev:
            _fail(entry.pk, checked, "previous-hash link broken (row removed or inserted)")
        if entry.chain_version == plain:
            if keyed_seen or (plain_until is not None and entry.pk > plain_until):
                _fail(
                    entry.pk,
                    checked,
                    "unkeyed (plain SHA-256) row where the anchors saw keyed rows: the chain "
                    "was downgraded to be rewritten (row edited)",
                )
            if plain_until is None and not adopt_legacy:
                _fail(
                    entry.pk,
                    checked,
                    "row is on the plain SHA-256 chain from before the key and no anchor covers "
                    "it; run `manage.py audit_anchor` once after upgrading",
                )
        elif entry.chain_version == keyed:
            keyed_seen = True
        else:
            _fail(entry.pk, checked, f"unknown chain version {entry.chain_version}")
        if not hmac.compare_digest(entry.compute_hash(), entry.row_hash):
            _fail(entry.pk, checked, "row content does not match its hash (row edited)")
        for anchor in by_head.get(entry.pk, []):
            if anchor.head_hash != entry.row_hash:
                _fail(entry.pk, checked, f"row differs from what {anchor.describe()} (row edited)")
            if anchor.rows != checked:
                _fail(
                    entry.pk,
                    checked,
                    f"{anchor.describe()}; the database now has {checked} (rows removed or added)",
                )
            anchors_checked += 1
            seen_heads.add(entry.pk)
        expected_prev, last_id = entry.row_hash, entry.pk
    if anchors and anchors[-1].head_id > last_id:
        raise _Broken(
            None,
            f"rows removed from the end (truncated): {anchors[-1].describe(last=True)}; "
            f"the database now ends at id {last_id}",
            checked,
        )
    walked_from = since.head_id if since is not None else 0
    for anchor in anchors:
        if walked_from < anchor.head_id <= last_id and anchor.head_id not in seen_heads:
            raise _Broken(anchor.head_id, f"anchored row removed: {anchor.describe()}", checked)
    if not anchors:
        return ChainReport(
            checked,
            None,
            "chain intact; no anchor yet, so removal of the newest rows cannot be detected "
            "(run `manage.py audit_anchor` from cron)",
        )
    return ChainReport(
        checked,
        None,
        f"chain intact; {anchors[-1].describe(last=True)}",
        anchors_checked=anchors_checked,
    )


def _fail(row_id: int, checked: int, reason: str) -> NoReturn:
    raise _Broken(row_id, reason, checked)


def audit_anchor_append() -> tuple[Anchor, ChainReport]:
    """Check the rows written since the last anchor, then append a signed anchor for the head.

    Audit appends wait while this runs (the same advisory lock), so the anchor names exactly the
    rows it checked. A broken chain is never anchored: the report says where, nothing is written.
    Only the rows since the last anchor are checked; ``manage.py verify_audit`` checks them all.
    """
    path = Path(settings.AUDIT_ANCHOR_PATH)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_AUDIT_LOCK_KEY])
        try:
            previous = anchors_read(path)
        except AnchorFileError as error:
            raise AuditChainBroken(ChainReport(0, None, f"{path}: {error}", intact=False)) from None
        report = audit_verify_chain(
            since=previous[-1] if previous else None, adopt_legacy=not previous
        )
        if not report.ok:
            raise AuditChainBroken(report)
        head = AccessLog.objects.order_by("-id").values_list("pk", "row_hash").first()
        plain_rows = AccessLog.objects.filter(chain_version=AccessLog.ChainVersion.PLAIN_SHA256)
        anchor = anchor_append(
            path,
            at=timezone.now().isoformat(timespec="seconds"),
            rows=AccessLog.objects.count(),
            head_id=head[0] if head else 0,
            head_hash=head[1] if head else GENESIS_HASH,
            plain_until=plain_rows.aggregate(newest=Max("id"))["newest"] or 0,
        )
    return anchor, report


class AuditChainBroken(Exception):
    def __init__(self, report: ChainReport) -> None:
        super().__init__(report.reason)
        self.report = report


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
