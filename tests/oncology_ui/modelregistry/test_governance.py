"""Two people change a model's state: one requests, another approves with a password."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError

from oncology_ui.core import roles
from oncology_ui.core.models import AccessLog
from oncology_ui.modelregistry.models import ModelStateChange, RegisteredModel
from oncology_ui.modelregistry.services import (
    state_change_approve,
    state_change_cancel,
    state_change_reject,
    state_change_request,
    state_change_rollback_request,
)
from tests.factories import PASSWORD, UserFactory
from tests.oncology_ui.modelregistry.helpers import committee, move, row

pytestmark = pytest.mark.django_db


def _states() -> dict[str, str]:
    return dict(RegisteredModel.objects.values_list("name", "state"))


def test_one_person_cannot_request_and_approve_the_same_change() -> None:
    chair, _ = committee()
    change = state_change_request(
        model=row("oncoboard-support"), to_state="active", user=chair, reason="trial"
    )
    with pytest.raises(PermissionDenied, match="requested a change cannot approve"):
        state_change_approve(change_id=change.pk, user=chair, password=PASSWORD)
    change.refresh_from_db()
    assert change.status == "pending" and row("oncoboard-support").state == "candidate"


def test_a_wrong_password_approves_nothing() -> None:
    chair, second = committee()
    change = state_change_request(
        model=row("oncoboard-support"), to_state="shadow", user=chair, reason="compare"
    )
    with pytest.raises(ValidationError, match="nothing was approved"):
        state_change_approve(change_id=change.pk, user=second, password="wrong")
    assert row("oncoboard-support").state == "candidate"
    assert ModelStateChange.objects.get(pk=change.pk).status == "pending"


def test_people_without_the_permissions_can_neither_request_nor_approve() -> None:
    chair, _ = committee()
    oncologist = UserFactory.create(username="onc", role=roles.ONCOLOGIST)
    with pytest.raises(PermissionDenied):
        state_change_request(
            model=row("oncoboard-support"), to_state="active", user=oncologist, reason="x"
        )
    change = state_change_request(
        model=row("oncoboard-support"), to_state="active", user=chair, reason="x"
    )
    with pytest.raises(PermissionDenied):
        state_change_approve(change_id=change.pk, user=oncologist, password=PASSWORD)
    # A requester-only administrator (approver permission taken away) cannot approve either.
    requester_only = UserFactory.create(username="req", role=roles.ADMINISTRATOR)
    requester_only.groups.get().permissions.remove(
        Permission.objects.get(codename="approve_state_change")
    )
    requester_only = type(requester_only).objects.get(pk=requester_only.pk)  # fresh perm cache
    with pytest.raises(PermissionDenied):
        state_change_approve(change_id=change.pk, user=requester_only, password=PASSWORD)
    assert row("oncoboard-support").state == "candidate"


def test_activation_retires_the_active_row_for_the_same_types_and_rollback_restores_all() -> None:
    before = _states()
    change = move(row("oncoboard-portrait-commercial"), "active")
    after = _states()
    assert after["oncoboard-portrait-commercial"] == "active"
    assert after["oncoboard-portrait"] == "retired"
    assert after["oncoboard-tcga-pancancer"] == "active"  # any-type fallback is not replaced
    assert {t["model"] for t in change.transitions} == {
        row("oncoboard-portrait-commercial").pk,
        row("oncoboard-portrait").pk,
    }
    chair = type(change.requested_by).objects.get(username="chair")
    second = type(change.requested_by).objects.get(username="second")
    rollback = state_change_rollback_request(change=change, user=second, reason="wrong call")
    assert _states() == after  # nothing moves until a second person approves
    with pytest.raises(PermissionDenied):
        state_change_approve(change_id=rollback.pk, user=second, password=PASSWORD)
    state_change_approve(change_id=rollback.pk, user=chair, password=PASSWORD)
    assert _states() == before
    with pytest.raises(ValidationError, match="already rolled back"):
        state_change_rollback_request(change=change, user=second, reason="again")


def test_a_change_cannot_be_rolled_back_once_a_later_change_moved_its_rows() -> None:
    first = move(row("oncoboard-support"), "shadow")
    move(row("oncoboard-support"), "active")
    chair, _ = committee()
    with pytest.raises(ValidationError, match="has changed since"):
        state_change_rollback_request(change=first, user=chair, reason="undo")


def test_activating_an_any_type_model_replaces_the_any_type_fallback_only() -> None:
    move(row("oncoboard-support"), "active")
    states = _states()
    assert states["oncoboard-support"] == "active"
    assert states["oncoboard-tcga-pancancer"] == "retired"
    assert states["oncoboard-portrait"] == "active"


def test_requests_are_checked_rejected_and_withdrawn_and_every_step_is_audited() -> None:
    chair, second = committee()
    support = row("oncoboard-support")
    with pytest.raises(ValidationError):
        state_change_request(model=support, to_state="candidate", user=chair, reason="same")
    with pytest.raises(ValidationError, match="Say why"):
        state_change_request(model=support, to_state="shadow", user=chair, reason=" ")
    change = state_change_request(model=support, to_state="shadow", user=chair, reason="compare")
    with pytest.raises(ValidationError, match="already waiting"):
        state_change_request(model=support, to_state="active", user=second, reason="other")
    with pytest.raises(PermissionDenied):
        state_change_reject(change_id=change.pk, user=chair, note="mine")
    state_change_reject(change_id=change.pk, user=second, note="not yet")
    with pytest.raises(ValidationError, match="rejected already"):
        state_change_approve(change_id=change.pk, user=second, password=PASSWORD)
    again = state_change_request(model=support, to_state="shadow", user=chair, reason="retry")
    with pytest.raises(PermissionDenied):
        state_change_cancel(change_id=again.pk, user=second)
    state_change_cancel(change_id=again.pk, user=chair)
    assert row("oncoboard-support").state == "candidate"
    refs = set(
        AccessLog.objects.filter(category="model-registry").values_list("object_ref", flat=True)
    )
    assert refs == {f"model-state-change:{change.pk}", f"model-state-change:{again.pk}"}


def test_a_model_whose_weights_no_longer_match_cannot_be_activated() -> None:
    RegisteredModel.objects.filter(name="oncoboard-support").update(sha256="1" * 64)
    with pytest.raises(ValidationError, match="do not match the registered sha256"):
        move(row("oncoboard-support"), "active")
    assert row("oncoboard-support").state == "candidate"
