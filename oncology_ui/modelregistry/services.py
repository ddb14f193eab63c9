"""Writes of the model registry: shipped rows, candidates, and two-person state changes.

A state change is requested by a person with ``modelregistry.request_state_change`` and applied
only when a different person with ``modelregistry.approve_state_change`` approves it after
re-entering their password and second-factor code (the e-signature of board decisions). Applying
an activation retires, in the same transaction, every active row it replaces (so each OncoTree
code is listed by at most one active row, and at most one active row serves any type); the
change records each row it moved, so one rollback (itself a two-person change) puts all of them
back.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from oncology_ui.core.audit import audit_record
from oncology_ui.core.esignature import signer_reauthenticate
from oncology_ui.core.models import AccessLog
from oncology_ui.modelregistry.models import ModelStateChange, RegisteredModel
from oncology_ui.modelregistry.recalibration import RecalibrationUnavailable, recalibration_check
from oncology_ui.modelregistry.selectors import rows_replaced_by

logger = logging.getLogger(__name__)

State = RegisteredModel.State
AUDIT_CATEGORY = "model-registry"
REQUEST_PERMISSION = "modelregistry.request_state_change"
APPROVE_PERMISSION = "modelregistry.approve_state_change"

#: Which state may follow which (the lifecycle candidate -> shadow -> active -> retired, with
#: the steps back a committee needs).
ALLOWED: dict[str, frozenset[str]] = {
    State.CANDIDATE: frozenset({State.SHADOW, State.ACTIVE, State.RETIRED}),
    State.SHADOW: frozenset({State.CANDIDATE, State.ACTIVE, State.RETIRED}),
    State.ACTIVE: frozenset({State.SHADOW, State.RETIRED}),
    State.RETIRED: frozenset({State.CANDIDATE, State.SHADOW, State.ACTIVE}),
}
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _audit(request: HttpRequest | None, action: str, change: ModelStateChange) -> None:
    audit_record(
        request=request,
        action=action,
        category=AUDIT_CATEGORY,
        object_ref=f"model-state-change:{change.pk}",
    )


# -- rows ---------------------------------------------------------------------------------------


def _cancer_types(codes: Iterable[str]) -> list[str]:
    cleaned = sorted({str(code).strip().upper() for code in codes if str(code).strip()})
    bad = [code for code in cleaned if not re.fullmatch(r"[A-Z0-9_]{1,20}", code)]
    if bad:
        raise ValidationError({"cancer_types": f"Not OncoTree codes: {', '.join(bad)}."})
    return cleaned


@transaction.atomic
def registered_model_create_candidate(
    *,
    name: str,
    version: str,
    family: str,
    checkpoint: str,
    sha256: str,
    created_by: User | None,
    training_data: str = "",
    licence: str = "",
    commercial_use: bool = False,
    validation_summary: dict[str, Any] | None = None,
    cancer_types: Iterable[str] = (),
    inputs: Iterable[str] = (),
    parent: RegisteredModel | None = None,
    recalibration: dict[str, Any] | None = None,
    site_report: dict[str, Any] | None = None,
    notes: str = "",
    request: HttpRequest | None = None,
) -> RegisteredModel:
    """Register a checkpoint (site-trained or recalibrated) as a candidate; it serves nobody yet.

    1. ``checkpoint`` is the weights file relative to ``inference/weights`` and ``sha256`` its
       digest; a recalibrated row (``parent`` + ``recalibration``) names its parent's file.
    2. The file must exist and match the digest now; a row that cannot be loaded is refused.
    3. The row is stored in state ``candidate`` and the creation audited.

    Raises:
        ValidationError: a duplicate name/version, a bad digest, path or code, or a file that
            does not match.
    """
    from inference.runtime import sha256_of

    row = RegisteredModel(
        name=name,
        version=version,
        family=family,
        checkpoint=checkpoint,
        sha256=sha256.lower(),
        training_data=training_data,
        licence=licence,
        commercial_use=commercial_use,
        validation_summary=validation_summary or {},
        cancer_types=_cancer_types(cancer_types),
        inputs=list(inputs),
        state=State.CANDIDATE,
        parent=parent,
        recalibration=recalibration,
        site_report=site_report,
        created_by=created_by,
        notes=notes,
    )
    if not _SHA256.match(row.sha256):
        raise ValidationError({"sha256": "A sha256 digest is 64 hexadecimal characters."})
    if recalibration is not None and parent is None:
        raise ValidationError({"parent": "Recalibration parameters need the model they apply to."})
    if not row.kind:
        raise ValidationError({"family": f"No loader for the model family {row.base.family!r}."})
    try:
        path = row.checkpoint_path
    except ValueError as exc:
        raise ValidationError({"checkpoint": str(exc)}) from exc
    if not path.is_file() or sha256_of(path) != row.sha256:
        raise ValidationError(
            {"checkpoint": f"{checkpoint} is missing or does not match sha256 {row.sha256}."}
        )
    row.full_clean()
    row.save()
    audit_record(
        request=request,
        action=AccessLog.Action.CREATE,
        category=AUDIT_CATEGORY,
        object_ref=f"registered-model:{row.pk}",
    )
    return row


def models_sync() -> list[RegisteredModel]:
    """Register every shipped checkpoint not yet in the registry; safe to run any number of times.

    1. Each shipped checkpoint is read through its pinned digest (a mismatch stops the sync).
    2. A row with the same name and version is left as it is: after its creation its state
       belongs to the model committee. A row whose stored digest differs is an error.
    3. A new row takes the initial state of :func:`shipped.shipped_models` when it is the first
       of its family; a newer version of a family already registered arrives as a candidate.

    Returns:
        The rows created.
    """
    from oncology_ui.modelregistry.shipped import shipped_models

    created = []
    with transaction.atomic():
        for shipped in shipped_models():
            existing = RegisteredModel.objects.filter(
                name=shipped.name, version=shipped.version
            ).first()
            if existing is not None:
                if existing.sha256 != shipped.sha256:
                    raise ValueError(
                        f"registry row {existing.label} has sha256 {existing.sha256}, the shipped "
                        f"file {shipped.sha256}: register the new file under a new version"
                    )
                continue
            first = not RegisteredModel.objects.filter(family=shipped.family).exists()
            row = RegisteredModel(
                name=shipped.name,
                version=shipped.version,
                family=shipped.family,
                checkpoint=shipped.checkpoint,
                sha256=shipped.sha256,
                training_data=shipped.training_data,
                licence=shipped.licence,
                commercial_use=shipped.commercial_use,
                validation_summary=dict(shipped.validation_summary),
                cancer_types=list(shipped.cancer_types),
                inputs=list(shipped.inputs),
                state=shipped.initial_state if first else State.CANDIDATE,
                notes=shipped.notes
                if first
                else "A newer shipped checkpoint; the model committee decides when it serves.",
            )
            row.full_clean()
            row.save()
            created.append(row)
    for row in created:
        logger.info("registered %s as %s", row.label, row.state)
    return created


def registered_model_verify(row: RegisteredModel) -> None:
    """The row's weights file matches its digest and its recalibration can be applied.

    Raises:
        ValidationError: what is wrong, in words.
    """
    from inference.runtime import sha256_of

    try:
        path = row.checkpoint_path
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc
    if not path.is_file():
        raise ValidationError(f"The weights of {row.label} ({row.checkpoint}) are missing.")
    if sha256_of(path) != row.sha256:
        raise ValidationError(
            f"The weights of {row.label} ({row.checkpoint}) do not match the registered sha256."
        )
    if not row.kind:
        raise ValidationError(f"No loader for the model family {row.base.family!r}.")
    try:
        recalibration_check(row)
    except RecalibrationUnavailable as exc:
        raise ValidationError(str(exc)) from exc


# -- state changes ------------------------------------------------------------------------------


def _require(user: User, permission: str, doing: str) -> None:
    if not (user.is_active and user.has_perm(permission)):
        raise PermissionDenied(f"You may not {doing}.")


def _pending_exists(model: RegisteredModel) -> bool:
    return model.changes.filter(status=ModelStateChange.Status.PENDING).exists()


@transaction.atomic
def state_change_request(
    *,
    model: RegisteredModel,
    to_state: str,
    user: User,
    reason: str,
    request: HttpRequest | None = None,
) -> ModelStateChange:
    """Ask for ``model`` to move to ``to_state``; nothing changes until a second person approves.

    Raises:
        PermissionDenied: the user may not request changes.
        ValidationError: an unknown or disallowed step, no reason, or a change already pending.
    """
    _require(user, REQUEST_PERMISSION, "request a model state change")
    model = RegisteredModel.objects.select_for_update().get(pk=model.pk)
    if to_state not in ALLOWED.get(model.state, frozenset()):
        raise ValidationError(
            {"to_state": f"{model.label} cannot go from {model.state} to {to_state or '(none)'}."}
        )
    if not reason.strip():
        raise ValidationError({"reason": "Say why: the approver and the history read it."})
    if _pending_exists(model):
        raise ValidationError(f"A change of {model.label} is already waiting for approval.")
    change = ModelStateChange.objects.create(
        model=model,
        from_state=model.state,
        to_state=to_state,
        requested_by=user,
        reason=reason.strip(),
    )
    _audit(request, AccessLog.Action.CREATE, change)
    return change


@transaction.atomic
def state_change_rollback_request(
    *, change: ModelStateChange, user: User, reason: str, request: HttpRequest | None = None
) -> ModelStateChange:
    """Ask to undo an applied change: every row it moved goes back to its state before it.

    Only the latest change that moved those rows can be rolled back (a later change would be
    undone silently otherwise), and only once.

    Raises:
        PermissionDenied: the user may not request changes.
        ValidationError: the change was not applied, was rolled back already, or rows moved since.
    """
    _require(user, REQUEST_PERMISSION, "request a rollback")
    change = ModelStateChange.objects.select_for_update().get(pk=change.pk)
    if change.status != ModelStateChange.Status.APPROVED or not change.transitions:
        raise ValidationError("Only an applied change can be rolled back.")
    if change.rollbacks.filter(
        status__in=[ModelStateChange.Status.APPROVED, ModelStateChange.Status.PENDING]
    ).exists():
        raise ValidationError("This change is already rolled back, or a rollback is pending.")
    if not reason.strip():
        raise ValidationError({"reason": "Say why: the approver and the history read it."})
    _check_unmoved(change)
    own = next(t for t in change.transitions if t["model"] == change.model_id)
    if _pending_exists(change.model):
        raise ValidationError(f"A change of {change.model.label} is already waiting for approval.")
    rollback = ModelStateChange.objects.create(
        model=change.model,
        from_state=own["to"],
        to_state=own["from"],
        requested_by=user,
        reason=reason.strip(),
        reverses=change,
    )
    _audit(request, AccessLog.Action.CREATE, rollback)
    return rollback


def _check_unmoved(change: ModelStateChange) -> None:
    """Every row ``change`` moved is still where it left it, and no later change moved it."""
    ids = [t["model"] for t in change.transitions]
    rows = {row.pk: row for row in RegisteredModel.objects.select_for_update().filter(pk__in=ids)}
    later = ModelStateChange.objects.filter(
        status=ModelStateChange.Status.APPROVED, approved_at__gt=change.approved_at
    ).exclude(pk=change.pk)
    # Read in Python: JSON containment is not portable to the embedded SQLite database.
    moved_later = {t["model"] for other in later for t in other.transitions}
    for transition in change.transitions:
        row = rows[transition["model"]]
        if row.state != transition["to"] or row.pk in moved_later:
            raise ValidationError(
                f"{row.label} has changed since (now {row.state}); roll back the later change "
                "first."
            )


def _apply(change: ModelStateChange) -> list[dict[str, Any]]:
    """Move the rows; the transitions, as stored on the change."""
    if change.reverses is not None:
        _check_unmoved(change.reverses)
        moves = [(t["model"], t["to"], t["from"]) for t in change.reverses.transitions]
    else:
        model = RegisteredModel.objects.select_for_update().get(pk=change.model_id)
        if model.state != change.from_state:
            raise ValidationError(
                f"{model.label} is {model.state} now, not {change.from_state} as requested; "
                "reject this request and ask again."
            )
        moves = [(model.pk, change.from_state, change.to_state)]
        if change.to_state == State.ACTIVE:
            # Lock the active rows first, so the rows replaced are the ones still active.
            list(RegisteredModel.objects.select_for_update().filter(state=State.ACTIVE))
            moves += [(other.pk, other.state, State.RETIRED) for other in rows_replaced_by(model)]
    for model_id, _, to_state in moves:
        row = RegisteredModel.objects.get(pk=model_id)
        if to_state in (State.ACTIVE, State.SHADOW):
            registered_model_verify(row)
        RegisteredModel.objects.filter(pk=model_id).update(state=to_state)
    return [{"model": m, "from": f, "to": t} for m, f, t in moves]


def _decidable(change_id: int) -> ModelStateChange:
    change = ModelStateChange.objects.select_for_update().get(pk=change_id)
    if change.status != ModelStateChange.Status.PENDING:
        raise ValidationError(f"This change was {change.get_status_display().lower()} already.")
    return change


def _record_decision(
    change: ModelStateChange,
    status: str,
    *,
    user: User,
    note: str,
    request: HttpRequest | None,
) -> ModelStateChange:
    """Store the second person's decision on a pending change and audit it."""
    change.status = status
    change.approved_by = user
    change.approved_at = timezone.now()
    change.decision_note = note.strip()
    change.save()
    _audit(request, AccessLog.Action.UPDATE, change)
    return change


def state_change_approve(
    *,
    change_id: int,
    user: User,
    password: str,
    otp_token: str = "",
    note: str = "",
    request: HttpRequest | None = None,
) -> ModelStateChange:
    """Approve and apply a pending change: a second person, after re-entering their password.

    1. The approver holds the approver permission and is not the person who requested it.
    2. Password and second-factor code, as for signing a board decision.
    3. Under row locks: the change is still pending and the rows are where it expects them;
       the model moves, an activation retires the active rows it replaces, the weights of
       every row that will serve are verified, and the moves are stored on the change.

    Raises:
        PermissionDenied: no approver permission, or the requester approving their own change.
        ValidationError: wrong password or code, or a change that can no longer be applied.
    """
    _require(user, APPROVE_PERMISSION, "approve model state changes")
    requested_by_id = (
        ModelStateChange.objects.filter(pk=change_id)
        .values_list("requested_by_id", flat=True)
        .first()
    )
    if requested_by_id == user.pk:
        raise PermissionDenied("The person who requested a change cannot approve it.")
    signer_reauthenticate(
        user=user,
        password=password,
        otp_token=otp_token,
        request=request,
        nothing_done="nothing was approved",
    )
    with transaction.atomic():
        change = _decidable(change_id)
        change.transitions = _apply(change)
        return _record_decision(
            change, ModelStateChange.Status.APPROVED, user=user, note=note, request=request
        )


@transaction.atomic
def state_change_reject(
    *, change_id: int, user: User, note: str, request: HttpRequest | None = None
) -> ModelStateChange:
    """A second person declines a pending change; nothing moves.

    Raises:
        PermissionDenied: no approver permission, or the requester (who cancels instead).
        ValidationError: no note, or the change is not pending.
    """
    _require(user, APPROVE_PERMISSION, "reject model state changes")
    change = _decidable(change_id)
    if change.requested_by_id == user.pk:
        raise PermissionDenied("Withdraw your own request instead of rejecting it.")
    if not note.strip():
        raise ValidationError({"note": "Say why it is rejected."})
    return _record_decision(
        change, ModelStateChange.Status.REJECTED, user=user, note=note, request=request
    )


@transaction.atomic
def state_change_cancel(
    *, change_id: int, user: User, request: HttpRequest | None = None
) -> ModelStateChange:
    """The requester withdraws their pending change.

    Raises:
        PermissionDenied: somebody other than the requester.
        ValidationError: the change is not pending.
    """
    change = _decidable(change_id)
    if change.requested_by_id != user.pk:
        raise PermissionDenied("Only the person who requested a change can withdraw it.")
    change.status = ModelStateChange.Status.CANCELLED
    change.save()
    _audit(request, AccessLog.Action.UPDATE, change)
    return change
