"""Registry moves for tests: two administrators, one requests and the other approves."""

from __future__ import annotations

from django.contrib.auth.models import User

from oncology_ui.core import roles
from oncology_ui.modelregistry.models import ModelStateChange, RegisteredModel
from oncology_ui.modelregistry.services import state_change_approve, state_change_request
from tests.factories import PASSWORD, UserFactory


def committee() -> tuple[User, User]:
    """Two administrators: a requester and an approver."""
    return (
        UserFactory.create(username="chair", role=roles.ADMINISTRATOR, is_staff=True),
        UserFactory.create(username="second", role=roles.ADMINISTRATOR, is_staff=True),
    )


def row(name: str) -> RegisteredModel:
    """The (only) registry row of a shipped model."""
    return RegisteredModel.objects.get(name=name)


def move(
    model: RegisteredModel, to_state: str, reason: str = "committee decision"
) -> ModelStateChange:
    """Request and approve a state change, as two different people (script path: password)."""
    requester, approver = committee()
    change = state_change_request(model=model, to_state=to_state, user=requester, reason=reason)
    return state_change_approve(change_id=change.pk, user=approver, password=PASSWORD)
