"""Sessions, headers, CSRF, outages and error pages (SECURITY.md scenarios 2, 3, 9, 10, 15, 16)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import time_machine
from django.conf import LazySettings
from django.db import OperationalError
from django.test import Client
from django.urls import reverse

from oncology_ui.core.models import Job
from oncology_ui.core.querysets import TeamScopedQuerySet
from tests.factories import PASSWORD
from tests.oncology_ui.conftest import Cast
from tests.oncology_ui.core.helpers import database_down

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[3]


def test_passwords_are_stored_with_argon2() -> None:
    from oncology_ui import settings as real_settings

    assert real_settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


def test_idle_sessions_end_even_while_a_job_status_is_polled(cast: Cast) -> None:
    client = Client()
    job = Job.objects.create(
        kind="case_timeline_export", target_model="patients.case", target_id=cast.case.pk
    )
    with time_machine.travel("2026-11-29 09:00:00Z", tick=False) as clock:
        client.post(reverse("core-login"), {"username": "onco", "password": PASSWORD})
        case_url = reverse("patients-case", args=[cast.case.pk])
        assert client.get(case_url).status_code == 200
        for _ in range(6):  # 30 minutes of polling every 5 minutes
            clock.shift(300)
            poll = client.get(reverse("core-job-status", args=[job.pk]), HTTP_HX_REQUEST="true")
            assert poll.status_code == 200
        clock.shift(60)
        response = client.get(case_url, HTTP_HX_REQUEST="true")
        assert response.status_code == 204
        assert response["HX-Redirect"].startswith(reverse("core-login"))
        assert client.get(case_url).status_code == 302


def test_activity_keeps_a_session_alive_until_the_absolute_limit(cast: Cast) -> None:
    client = Client()
    case_url = reverse("patients-case", args=[cast.case.pk])
    with time_machine.travel("2026-11-29 07:00:00Z", tick=False) as clock:
        client.post(reverse("core-login"), {"username": "onco", "password": PASSWORD})
        for _ in range(35):  # 11 h 40 min of clicks every 20 minutes
            clock.shift(20 * 60)
            assert client.get(case_url).status_code == 200
        clock.shift(25 * 60)  # 12 h 05 min since login, but only 25 minutes idle
        response = client.get(case_url)
        assert response.status_code == 302 and "timeout=expired" in response["Location"]


def test_login_rotates_the_session_key_and_logout_invalidates_the_old_cookie(cast: Cast) -> None:
    client = Client()
    client.get(reverse("core-login"))
    client.session.save()
    before = client.session.session_key
    client.post(reverse("core-login"), {"username": "onco", "password": PASSWORD})
    after = client.session.session_key
    assert before != after
    old_cookie = client.cookies.output()
    client.post(reverse("core-logout"))
    replay = Client()
    replay.cookies.load(old_cookie.replace("Set-Cookie: ", ""))
    assert replay.get(reverse("patients-case", args=[cast.case.pk])).status_code == 302


def test_security_headers_on_a_patient_page(cast: Cast, oncologist_client: Client) -> None:
    response = oncologist_client.get(reverse("patients-case", args=[cast.case.pk]))
    csp = response["Content-Security-Policy"]
    for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
        assert directive in csp
    assert "unsafe-eval" not in csp and "unsafe-inline" not in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert "no-store" in response["Cache-Control"]


def test_csrf_is_enforced_on_state_changes_and_accepted_from_the_htmx_header(cast: Cast) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.oncologist)
    url = reverse("patients-event-create", args=[cast.case.pk])
    data = {"kind": "imaging", "date": "2024-05-01", "title": "CT"}
    assert client.post(url, data).status_code == 403
    page = client.get(reverse("patients-case", args=[cast.case.pk])).content.decode()
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page)
    assert token is not None
    response = client.post(url, data, HTTP_X_CSRFTOKEN=token.group(1), HTTP_HX_REQUEST="true")
    assert response.status_code == 200


def test_htmx_never_keeps_history_snapshots_and_templates_avoid_inline_handlers() -> None:
    base = (ROOT / "templates" / "base.html").read_text()
    assert '"historyCacheSize": 0' in base and '"allowEval": false' in base
    assert '"selfRequestsOnly": true' in base
    assert "vendor/htmx/htmx.min.js" in base and "https://" not in base
    for template in (ROOT / "templates").rglob("*.html"):
        text = template.read_text()
        assert "hx-on" not in text, template
        assert "<script>" not in text, template


def test_a_database_outage_answers_a_calm_503(
    cast: Cast, oncologist_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real failure path: the ORM raising OperationalError mid-request."""

    def down(*args: object, **kwargs: object) -> None:
        raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")

    monkeypatch.setattr(TeamScopedQuerySet, "visible_to", down)
    response = oncologist_client.get(reverse("patients-detail", args=[cast.patient.pk]))
    assert response.status_code == 503
    assert "temporarily unavailable" in response.content.decode()
    assert "Traceback" not in response.content.decode()
    assert response["Retry-After"] == "30"


def test_the_503_path_logs_the_exception_class_its_message_and_the_request(
    cast: Cast,
    oncologist_client: Client,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def locked(*args: object, **kwargs: object) -> None:
        raise OperationalError("database is locked")

    monkeypatch.setattr(TeamScopedQuerySet, "visible_to", locked)
    url = reverse("patients-detail", args=[cast.patient.pk])
    with caplog.at_level("ERROR", logger="oncology_ui.core.middleware"):
        response = oncologist_client.get(url)
    assert response.status_code == 503
    logged = [r.getMessage() for r in caplog.records if r.name == "oncology_ui.core.middleware"]
    assert logged == [f"service unavailable: OperationalError (database is locked) on GET {url}"]


def test_an_unreachable_database_server_answers_503(settings: LazySettings) -> None:
    with database_down():
        response = Client().post(reverse("core-login"), {"username": "onco", "password": "x"})
        assert response.status_code == 503


def test_a_server_error_shows_no_traceback_settings_or_patient_data(
    cast: Cast, settings: LazySettings
) -> None:
    from django.test import RequestFactory

    from oncology_ui.core.errors import server_error

    response = server_error(RequestFactory().get("/"))
    body = response.content.decode()
    assert response.status_code == 500
    assert "Traceback" not in body and "SECRET_KEY" not in body and "ZZCANARY" not in body


def test_health_reports_database_and_redis() -> None:
    response = Client().get(reverse("core-health"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_an_anonymous_htmx_request_is_sent_to_login_by_hx_redirect(cast: Cast) -> None:
    response = Client().get(
        reverse("patients-case-section", args=[cast.case.pk, "timeline"]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith(reverse("core-login"))
