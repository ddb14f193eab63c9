"""The model committee's pages: who sees them, and every action as a plain form and by htmx."""

from __future__ import annotations

import pytest
from django.urls import reverse

from oncology_ui.modelregistry.models import ModelStateChange
from tests.factories import PASSWORD, totp_code, totp_device_enrol
from tests.oncology_ui.conftest import Cast, signed_in_client
from tests.oncology_ui.modelregistry.helpers import committee, row

pytestmark = pytest.mark.django_db


def test_it_lists_the_models_with_state_version_digest_licence_and_validation(
    cast: Cast,
) -> None:
    client = signed_in_client(cast.admin)
    content = client.get(reverse("modelregistry-list")).content.decode()
    portrait = row("oncoboard-portrait")
    for text in (portrait.name, portrait.version, portrait.sha256[:12], "active", "candidate"):
        assert text in content
    assert "not cleared for commercial use" in content and "C 0.621" in content  # SUPPORT
    detail = client.get(reverse("modelregistry-detail", args=[row("oncoboard-support").pk]))
    body = detail.content.decode()
    assert detail.status_code == 200 and "DeepSurv" in body and "day 3 of a hospital stay" in body
    assert 'action="/registry/' in body  # the request form is a plain form


@pytest.mark.parametrize("name", ["modelregistry-list", "modelregistry-changes"])
def test_clinicians_cannot_see_the_registry(cast: Cast, name: str) -> None:
    assert signed_in_client(cast.oncologist).get(reverse(name)).status_code == 403


def test_clinicians_cannot_act_on_a_model_or_a_change(cast: Cast) -> None:
    client = signed_in_client(cast.oncologist)
    support = row("oncoboard-support")
    url = reverse("modelregistry-request", args=[support.pk])
    assert client.post(url, {"to_state": "active", "reason": "x"}).status_code == 403
    assert client.get(reverse("modelregistry-detail", args=[support.pk])).status_code == 403
    assert not ModelStateChange.objects.exists()


def test_wrong_method_and_unknown_ids(cast: Cast) -> None:
    client = signed_in_client(cast.admin)
    assert client.get(reverse("modelregistry-approve", args=[1])).status_code == 405
    assert client.post(reverse("modelregistry-approve", args=[999])).status_code == 404
    assert client.get(reverse("modelregistry-detail", args=[999])).status_code == 404


def test_a_request_then_a_second_persons_htmx_approval_with_password_and_code(
    cast: Cast,
) -> None:
    chair, second = committee()
    support = row("oncoboard-support")
    requester = signed_in_client(chair)
    response = requester.post(
        reverse("modelregistry-request", args=[support.pk]),
        {"to_state": "shadow", "reason": "compare on our patients"},
        follow=True,
    )
    assert "A second person" in response.content.decode()
    change = ModelStateChange.objects.get()
    approve_url = reverse("modelregistry-approve", args=[change.pk])
    # The requester's own approval is refused, with the card saying why.
    own = requester.post(approve_url, {"password": PASSWORD}, HTTP_HX_REQUEST="true")
    assert "cannot approve it" in own.content.decode()
    device = totp_device_enrol(second)
    approver = signed_in_client(second)
    page = approver.get(reverse("modelregistry-changes")).content.decode()
    assert f'id="change-{change.pk}"' in page and "Approve and apply" in page
    wrong = approver.post(
        approve_url, {"password": "nope", "otp_token": totp_code(device)}, HTTP_HX_REQUEST="true"
    )
    card = wrong.content.decode()
    assert "password is not correct; nothing was approved" in card
    assert card.lstrip().startswith("<article") and "<html" not in card
    assert row("oncoboard-support").state == "candidate"
    done = approver.post(
        approve_url,
        {"password": PASSWORD, "otp_token": totp_code(device, steps_ahead=1)},
        HTTP_HX_REQUEST="true",
    )
    assert "Approved and applied" in done.content.decode()
    assert row("oncoboard-support").state == "shadow"


def test_reject_cancel_and_rollback_work_as_plain_forms(cast: Cast) -> None:
    chair, second = committee()
    support = row("oncoboard-support")
    requester, approver = signed_in_client(chair), signed_in_client(second)
    request_url = reverse("modelregistry-request", args=[support.pk])
    requester.post(request_url, {"to_state": "shadow", "reason": "first"})
    first = ModelStateChange.objects.get()
    response = approver.post(reverse("modelregistry-reject", args=[first.pk]), {"note": "no"})
    assert response.status_code == 302 and response["Location"] == reverse("modelregistry-changes")
    requester.post(request_url, {"to_state": "shadow", "reason": "second"})
    second_change = ModelStateChange.objects.get(status="pending")
    requester.post(reverse("modelregistry-cancel", args=[second_change.pk]))
    statuses = dict(ModelStateChange.objects.values_list("reason", "status"))
    assert statuses == {"first": "rejected", "second": "cancelled"}
    # A rollback request for a change that was never applied is refused with a message.
    refused = requester.post(
        reverse("modelregistry-rollback", args=[first.pk]), {"reason": "undo"}, follow=True
    )
    assert "Only an applied change can be rolled back" in refused.content.decode()
    # Empty forms are refused with a message, nothing stored.
    empty = requester.post(request_url, {"to_state": "", "reason": ""}, follow=True)
    assert "Nothing was requested" in empty.content.decode()
    assert ModelStateChange.objects.count() == 2
