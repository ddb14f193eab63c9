"""Pages of the model committee: the registry, one model, and the changes waiting for approval.

Every action is a plain form that redirects back; from htmx the changed approval card is swapped
in place instead (``modelregistry/changes.html#change-card``).
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from oncology_ui.core.http import AuthedRequest
from oncology_ui.modelregistry import selectors, services
from oncology_ui.modelregistry.forms import (
    ApproveForm,
    RejectForm,
    RollbackForm,
    StateChangeRequestForm,
)
from oncology_ui.modelregistry.models import ModelStateChange, RegisteredModel

VIEW_PERMISSION = "modelregistry.view_registeredmodel"


def _refusal(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error) or "You may not do that."


@login_required
@permission_required(VIEW_PERMISSION, raise_exception=True)
@require_GET
def model_list(request: AuthedRequest) -> HttpResponse:
    return render(
        request,
        "modelregistry/model_list.html",
        {
            "models": selectors.registered_models_list(),
            "pending": selectors.state_changes_pending().count(),
        },
    )


@login_required
@permission_required(VIEW_PERMISSION, raise_exception=True)
@require_GET
def model_detail(request: AuthedRequest, model_id: int) -> HttpResponse:
    model = get_object_or_404(selectors.registered_models_list(), pk=model_id)
    return render(
        request,
        "modelregistry/model_detail.html",
        {
            "model": model,
            "history": selectors.state_change_history(model),
            "replaced": selectors.rows_replaced_by(model),
            "shadows": selectors.shadow_predictions_for(model=model)[:50],
            "request_form": StateChangeRequestForm(initial={"to_state": ""}),
            "allowed": sorted(services.ALLOWED.get(model.state, ())),
        },
    )


@login_required
@permission_required(VIEW_PERMISSION, raise_exception=True)
@require_POST
def change_request(request: AuthedRequest, model_id: int) -> HttpResponse:
    model = get_object_or_404(RegisteredModel, pk=model_id)
    form = StateChangeRequestForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Nothing was requested: choose a state and give a reason.")
        return redirect("modelregistry-detail", model_id=model.pk)
    try:
        change = services.state_change_request(
            model=model,
            to_state=form.cleaned_data["to_state"],
            user=request.user,
            reason=form.cleaned_data["reason"],
            request=request,
        )
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, f"Nothing was requested: {_refusal(error)}")
        return redirect("modelregistry-detail", model_id=model.pk)
    messages.success(
        request,
        f"Requested: {model.label} {change.from_state} → {change.to_state}. A second person "
        "with the approver permission must approve it.",
    )
    return redirect("modelregistry-changes")


@login_required
@permission_required(VIEW_PERMISSION, raise_exception=True)
@require_GET
def change_list(request: AuthedRequest) -> HttpResponse:
    pending = [
        (change, selectors.state_change_preview(change))
        for change in selectors.state_changes_pending()
    ]
    return render(
        request,
        "modelregistry/changes.html",
        {
            "pending": pending,
            "history": selectors.state_change_history()[:200],
            "approve_form": ApproveForm(),
            "reject_form": RejectForm(),
            "rollback_form": RollbackForm(),
        },
    )


def _decided(
    request: AuthedRequest, change_id: int, act: Callable[[ModelStateChange], str]
) -> HttpResponse:
    """Run one decision on a change; the card (htmx) or the changes page (plain form)."""
    change = get_object_or_404(ModelStateChange, pk=change_id)
    try:
        notice = (messages.SUCCESS, act(change))
    except (ValidationError, PermissionDenied) as error:
        notice = (messages.ERROR, f"Nothing changed: {_refusal(error)}")
    if request.htmx:
        change.refresh_from_db()
        return render(
            request,
            "modelregistry/changes.html#change-card",
            {
                "change": change,
                "preview": selectors.state_change_preview(change),
                "notice": notice,
                "approve_form": ApproveForm(),
                "reject_form": RejectForm(),
            },
        )
    messages.add_message(request, *notice)
    return redirect("modelregistry-changes")


@login_required
@permission_required(VIEW_PERMISSION, raise_exception=True)
@require_POST
def change_approve(request: AuthedRequest, change_id: int) -> HttpResponse:
    form = ApproveForm(request.POST)

    def approve(change: ModelStateChange) -> str:
        if not form.is_valid():
            raise ValidationError("Re-enter your password to approve.")
        applied = services.state_change_approve(
            change_id=change.pk,
            user=request.user,
            password=form.cleaned_data["password"],
            otp_token=form.cleaned_data["otp_token"],
            note=form.cleaned_data["note"],
            request=request,
        )
        moved = len(applied.transitions)
        return f"Approved and applied: {moved} model{'s' if moved != 1 else ''} changed state."

    return _decided(request, change_id, approve)


@login_required
@permission_required(VIEW_PERMISSION, raise_exception=True)
@require_POST
def change_reject(request: AuthedRequest, change_id: int) -> HttpResponse:
    form = RejectForm(request.POST)

    def reject(change: ModelStateChange) -> str:
        if not form.is_valid():
            raise ValidationError("Say why it is rejected.")
        services.state_change_reject(
            change_id=change.pk, user=request.user, note=form.cleaned_data["note"], request=request
        )
        return "Rejected: nothing changed state."

    return _decided(request, change_id, reject)


@login_required
@permission_required(VIEW_PERMISSION, raise_exception=True)
@require_POST
def change_cancel(request: AuthedRequest, change_id: int) -> HttpResponse:
    def cancel(change: ModelStateChange) -> str:
        services.state_change_cancel(change_id=change.pk, user=request.user, request=request)
        return "Request withdrawn."

    return _decided(request, change_id, cancel)


@login_required
@permission_required(VIEW_PERMISSION, raise_exception=True)
@require_POST
def change_rollback(request: AuthedRequest, change_id: int) -> HttpResponse:
    change = get_object_or_404(ModelStateChange, pk=change_id)
    form = RollbackForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Nothing was requested: give a reason for the rollback.")
        return redirect("modelregistry-changes")
    try:
        services.state_change_rollback_request(
            change=change, user=request.user, reason=form.cleaned_data["reason"], request=request
        )
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, f"Nothing was requested: {_refusal(error)}")
    else:
        messages.success(
            request, "Rollback requested: a second person with the approver permission approves it."
        )
    return redirect("modelregistry-changes")
