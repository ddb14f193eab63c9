"""Break-glass access to an out-of-team patient: reason, time limit, audit flag, review (#15.4)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import time_machine
from django.conf import LazySettings
from django.test import Client
from django.urls import reverse

from oncology_ui.core.audit import audit_verify_chain
from oncology_ui.core.models import AccessLog, BreakGlassAccess
from tests.oncology_ui.conftest import Cast, signed_in_client

if TYPE_CHECKING:  # the test client's response type exists only in django-stubs
    from django.test.client import _MonkeyPatchedWSGIResponse

pytestmark = pytest.mark.django_db

REASON = "Patient admitted to ED overnight; covering oncologist needs the regimen"


def _break_glass(client: Client, cast: Cast, reason: str = REASON) -> _MonkeyPatchedWSGIResponse:
    return client.post(
        reverse("core-break-glass"),
        {"site": cast.patient.site, "mrn": cast.patient.mrn, "reason": reason},
    )


def test_an_out_of_team_patient_opens_with_a_reason_and_every_access_is_flagged(
    cast: Cast,
) -> None:
    outsider = signed_in_client(cast.outsider)
    detail = reverse("patients-detail", args=[cast.patient.pk])
    assert outsider.get(detail).status_code == 404
    first_id = AccessLog.objects.order_by("-id").values_list("id", flat=True).first() or 0

    response = _break_glass(outsider, cast)
    assert response.status_code == 302 and response["Location"] == detail
    assert outsider.get(detail).status_code == 200
    assert outsider.get(reverse("patients-case", args=[cast.case.pk])).status_code == 200
    # Their own team's patients are still theirs, and not flagged.
    assert outsider.get(reverse("patients-detail", args=[cast.other_patient.pk])).status_code == 200

    grant = BreakGlassAccess.objects.get()
    assert grant.user == cast.outsider and grant.patient == cast.patient
    assert grant.reason == REASON and grant.reviewed_at is None
    rows = AccessLog.objects.filter(id__gt=first_id, user_id_snapshot=cast.outsider.pk)
    on_patient = rows.filter(patient_id_snapshot=cast.patient.pk)
    assert on_patient.filter(action=AccessLog.Action.BREAK_GLASS).count() == 1
    assert on_patient.count() >= 3 and all(row.break_glass for row in on_patient)
    assert not rows.filter(patient_id_snapshot=cast.other_patient.pk, break_glass=True).exists()
    assert audit_verify_chain().ok


def test_an_in_team_colleague_reading_the_same_patient_is_not_flagged(cast: Cast) -> None:
    _break_glass(signed_in_client(cast.outsider), cast)
    onco = signed_in_client(cast.oncologist)
    assert onco.get(reverse("patients-detail", args=[cast.patient.pk])).status_code == 200
    row = AccessLog.objects.filter(user_id_snapshot=cast.oncologist.pk).latest("id")
    assert row.patient_id_snapshot == cast.patient.pk and not row.break_glass


@pytest.mark.parametrize("reason", ["", "   ", "urgent"])
def test_break_glass_refuses_a_missing_or_token_reason(cast: Cast, reason: str) -> None:
    outsider = signed_in_client(cast.outsider)
    response = _break_glass(outsider, cast, reason=reason)
    assert response.status_code == 200
    assert not BreakGlassAccess.objects.exists()
    assert outsider.get(reverse("patients-detail", args=[cast.patient.pk])).status_code == 404


def test_a_patient_already_in_the_users_teams_needs_no_break_glass(cast: Cast) -> None:
    response = _break_glass(signed_in_client(cast.oncologist), cast)
    assert response.status_code == 200
    assert "already reach" in response.content.decode()
    assert not BreakGlassAccess.objects.exists()


def test_an_unknown_mrn_is_a_form_error_and_is_audited(cast: Cast) -> None:
    outsider = signed_in_client(cast.outsider)
    response = outsider.post(
        reverse("core-break-glass"), {"site": "main", "mrn": "NOPE-1", "reason": REASON}
    )
    assert response.status_code == 200
    assert "No patient has this MRN" in response.content.decode()
    assert AccessLog.objects.filter(
        user_id_snapshot=cast.outsider.pk, category="break-glass", outcome="denied"
    ).exists()


def test_a_break_glass_grant_ends_after_its_time(cast: Cast, settings: LazySettings) -> None:
    settings.BREAK_GLASS_MINUTES = 30
    detail = reverse("patients-detail", args=[cast.patient.pk])
    with time_machine.travel("2026-12-07 03:00:00Z", tick=False) as clock:
        outsider = signed_in_client(cast.outsider)
        _break_glass(outsider, cast)
        clock.shift(29 * 60)
        assert outsider.get(detail).status_code == 200
        clock.shift(2 * 60)
        assert outsider.get(detail).status_code == 404


def test_administrators_review_each_grant_and_others_cannot(cast: Cast) -> None:
    outsider = signed_in_client(cast.outsider)
    _break_glass(outsider, cast)
    outsider.get(reverse("patients-detail", args=[cast.patient.pk]))
    assert outsider.get(reverse("core-break-glass-list")).status_code == 403

    admin = signed_in_client(cast.admin)
    page = admin.get(reverse("core-break-glass-list"))
    assert page.status_code == 200
    body = page.content.decode()
    assert REASON in body and cast.outsider.username in body and "Mark reviewed" in body

    grant = BreakGlassAccess.objects.get()
    review_url = reverse("core-break-glass-review", args=[grant.pk])
    assert outsider.post(review_url, {"note": "fine"}).status_code == 403
    assert admin.get(review_url).status_code == 405
    assert admin.post(review_url, {"note": "Confirmed with the ED rota"}).status_code == 302
    grant.refresh_from_db()
    assert grant.reviewed_by == cast.admin and grant.reviewed_at is not None
    assert grant.review_note == "Confirmed with the ED rota"
    assert "Reviewed by admin" in admin.get(reverse("core-break-glass-list")).content.decode()


def test_flipping_a_rows_break_glass_flag_breaks_its_hash(cast: Cast) -> None:
    _break_glass(signed_in_client(cast.outsider), cast)
    row = AccessLog.objects.filter(break_glass=True).latest("id")
    assert row.compute_hash() == row.row_hash
    row.break_glass = False
    assert row.compute_hash() != row.row_hash


def test_a_grant_opens_the_patient_only_in_the_session_that_asked(cast: Cast) -> None:
    here, elsewhere = signed_in_client(cast.outsider), signed_in_client(cast.outsider)
    _break_glass(here, cast)
    detail = reverse("patients-detail", args=[cast.patient.pk])
    assert here.get(detail).status_code == 200
    assert elsewhere.get(detail).status_code == 404
