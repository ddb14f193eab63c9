"""The access log: one row per access, no clinical values, append-only, hash-chained."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse

from oncology_ui.core import audit_sql
from oncology_ui.core.audit import GENESIS_HASH, audit_record, audit_verify_chain
from oncology_ui.core.models import AccessLog
from tests.factories import PASSWORD
from tests.oncology_ui.conftest import Cast, signed_in_client

pytestmark = pytest.mark.django_db
A = AccessLog.Action


def _last() -> AccessLog:
    return AccessLog.objects.order_by("-id").first()  # type: ignore[return-value]


def test_viewing_a_case_writes_one_view_row_with_user_patient_and_source(
    cast: Cast, oncologist_client: Client
) -> None:
    before = AccessLog.objects.count()
    oncologist_client.get(reverse("patients-case", args=[cast.case.pk]), REMOTE_ADDR="10.1.2.3")
    assert AccessLog.objects.count() == before + 1
    row = _last()
    assert (row.action, row.category, row.outcome) == (A.VIEW, "case", "success")
    assert row.username == "onco" and row.user_id_snapshot == cast.oncologist.pk
    assert row.patient_id_snapshot == cast.patient.pk
    assert row.source_ip == "10.1.2.3"
    assert row.route == "patients-case"
    assert row.at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("method", "url_name", "data", "action", "category"),
    [
        ("post", "patients-case-export", {}, A.EXPORT, "timeline"),
        (
            "post",
            "patients-event-create",
            {"kind": "imaging", "date": "2024-05-01", "title": "CT chest"},
            A.CREATE,
            "timeline",
        ),
        ("get", "patients-case-section", None, A.VIEW, "labs"),
    ],
)
def test_each_action_writes_its_row(
    cast: Cast,
    oncologist_client: Client,
    method: str,
    url_name: str,
    data: dict[str, str] | None,
    action: str,
    category: str,
) -> None:
    kwargs: dict[str, object] = {"case_id": cast.case.pk}
    if url_name == "patients-case-section":
        kwargs["section"] = "labs"
    response = getattr(oncologist_client, method)(reverse(url_name, kwargs=kwargs), data or {})
    assert response.status_code in {200, 302}
    row = _last()
    assert (row.action, row.category, row.patient_id_snapshot) == (
        action,
        category,
        cast.patient.pk,
    )


def test_login_success_and_failure_are_logged_without_the_password(cast: Cast) -> None:
    client = Client()
    client.post(reverse("core-login"), {"username": "onco", "password": "wrong password 123"})
    failed = _last()
    assert (failed.action, failed.outcome, failed.username) == (A.LOGIN_FAILED, "failure", "onco")
    client.post(reverse("core-login"), {"username": "onco", "password": PASSWORD})
    assert _last().action == A.LOGIN
    assert not AccessLog.objects.filter(object_ref__icontains="password").exists()


def test_no_clinical_values_or_identifiers_reach_the_log(
    cast: Cast, oncologist_client: Client
) -> None:
    oncologist_client.get(reverse("patients-case", args=[cast.case.pk]))
    oncologist_client.post(reverse("patients-list"), {"q": cast.patient.family_name})
    for row in AccessLog.objects.all():
        text = " ".join(str(value) for value in row.canonical_payload().values())
        assert "ZZCANARY" not in text
        assert "carcinoma" not in text.lower()


def test_the_chain_links_every_row_to_the_one_before(cast: Cast) -> None:
    first = audit_record(request=None, action=A.VIEW, category="case", patient_id=cast.patient.pk)
    second = audit_record(request=None, action=A.VIEW, category="case", patient_id=cast.patient.pk)
    assert second.prev_hash == first.row_hash
    assert AccessLog.objects.order_by("id").first().prev_hash == GENESIS_HASH  # type: ignore[union-attr]
    assert audit_verify_chain().ok


def test_the_application_cannot_change_or_delete_a_row(cast: Cast) -> None:
    row = audit_record(request=None, action=A.VIEW, category="case")
    row.category = "edited"
    with pytest.raises(ValidationError):
        row.save()
    with pytest.raises(ValidationError):
        row.delete()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="database triggers are PostgreSQL's")
def test_the_database_refuses_update_delete_and_truncate_of_audit_rows(cast: Cast) -> None:
    row = audit_record(request=None, action=A.VIEW, category="case")
    for statement in (
        "UPDATE core_accesslog SET category = 'x' WHERE id = %s",
        "DELETE FROM core_accesslog WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [row.pk])
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(audit_sql.TRUNCATE_TRIGGER, None)
        cursor.execute("TRUNCATE core_accesslog")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs a superuser bypass")
def test_verify_names_the_row_a_superuser_edited(cast: Cast) -> None:
    rows = [audit_record(request=None, action=A.VIEW, category="case") for _ in range(5)]
    call_command("verify_audit")
    tampered = rows[2]
    with connection.cursor() as cursor:
        # What a rogue superuser could do: switch the guard off and rewrite history.
        cursor.execute("ALTER TABLE core_accesslog DISABLE TRIGGER core_accesslog_no_update_delete")
        cursor.execute(
            "UPDATE core_accesslog SET username = 'someone-else' WHERE id = %s", [tampered.pk]
        )
        cursor.execute("ALTER TABLE core_accesslog ENABLE TRIGGER core_accesslog_no_update_delete")
    report = audit_verify_chain()
    assert report.first_bad_id == tampered.pk and "edited" in report.reason
    with pytest.raises(CommandError, match=f"row {tampered.pk}"):
        call_command("verify_audit")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs a superuser bypass")
def test_verify_names_the_row_after_a_deleted_one(cast: Cast) -> None:
    rows = [audit_record(request=None, action=A.VIEW, category="case") for _ in range(4)]
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE core_accesslog DISABLE TRIGGER core_accesslog_no_update_delete")
        cursor.execute("DELETE FROM core_accesslog WHERE id = %s", [rows[1].pk])
        cursor.execute("ALTER TABLE core_accesslog ENABLE TRIGGER core_accesslog_no_update_delete")
    report = audit_verify_chain()
    assert report.first_bad_id == rows[2].pk and "removed" in report.reason


def test_administrators_filter_the_audit_page(cast: Cast) -> None:
    client = signed_in_client(cast.admin)
    onco = signed_in_client(cast.oncologist)
    onco.get(reverse("patients-case", args=[cast.case.pk]))
    onco.get(reverse("patients-case", args=[cast.other_case.pk]))
    page = client.get(reverse("core-audit"), {"action": "denied", "username": "onco"})
    assert page.status_code == 200
    refs = {row.object_ref for row in page.context["page"]}
    assert f"case:{cast.other_case.pk}" in refs
    assert f"case:{cast.case.pk}" not in refs
    assert client.get(reverse("core-audit"), {"order": "username"}).status_code == 200
    assert client.get(reverse("core-audit"), {"patient_id": "abc"}).status_code == 200
