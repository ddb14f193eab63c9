"""The permission matrix and the IDOR sweep over every URL that takes an object id."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from oncology_ui.core.models import AccessLog, Job
from oncology_ui.core.roles import ROLE_PERMISSIONS
from tests.oncology_ui.conftest import Cast, signed_in_client

pytestmark = pytest.mark.django_db


def _patterns(resolver: URLResolver, prefix: str = "") -> list[tuple[str, URLPattern]]:
    found: list[tuple[str, URLPattern]] = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if str(entry.pattern).startswith("admin/"):
                continue
            found.extend(_patterns(entry, prefix + str(entry.pattern)))
        elif entry.name:
            found.append((prefix + str(entry.pattern), entry))
    return found


def _object_urls(cast: Cast) -> dict[str, str]:
    """Every named URL with an object id, pointed at the other team's objects."""
    job = Job.objects.create(
        kind="case_timeline_export",
        target_model="patients.case",
        target_id=cast.other_case.pk,
        status=Job.Status.SUCCEEDED,
    )
    ids = {
        "patient_id": cast.other_patient.pk,
        "case_id": cast.other_case.pk,
        "job_id": job.pk,
        "section": "timeline",
        # Any id: the other team's case is refused before the object is looked up.
        "assessment_id": 1,
    }
    urls = {}
    for _route, pattern in _patterns(get_resolver()):
        keys = set(pattern.pattern.regex.groupindex)
        if pattern.name and keys & {"patient_id", "case_id", "job_id"}:
            urls[pattern.name] = reverse(pattern.name, kwargs={key: ids[key] for key in keys})
    return urls


def test_every_object_url_is_in_the_sweep(cast: Cast) -> None:
    names = set(_object_urls(cast))
    assert {
        "patients-detail",
        "patients-edit",
        "patients-case-create",
        "patients-case",
        "patients-case-edit",
        "patients-case-status",
        "patients-case-section",
        "patients-event-create",
        "patients-case-export",
        "patients-case-export-download",
        "core-job-status",
    } <= names


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("htmx", [False, True])
def test_it_answers_404_and_audits_a_denial_for_another_teams_objects(
    cast: Cast, oncologist_client: Client, method: str, htmx: bool
) -> None:
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    for name, url in _object_urls(cast).items():
        before = AccessLog.objects.filter(action=AccessLog.Action.DENIED).count()
        response = getattr(oncologist_client, method)(url, **headers)
        if response.status_code == 405:
            continue  # the method itself is not allowed; nothing was looked up
        assert response.status_code == 404, f"{name} {method} -> {response.status_code}"
        content = response.content.decode()
        assert cast.other_patient.family_name not in content
        assert cast.other_patient.mrn not in content
        denied = AccessLog.objects.filter(action=AccessLog.Action.DENIED).count() - before
        assert denied == 1, f"{name} {method} wrote {denied} denied rows"


def test_own_team_objects_are_visible(cast: Cast, oncologist_client: Client) -> None:
    response = oncologist_client.get(reverse("patients-case", args=[cast.case.pk]))
    assert response.status_code == 200
    assert cast.patient.family_name.upper() in response.content.decode()


def test_patient_list_shows_only_the_users_teams(cast: Cast, oncologist_client: Client) -> None:
    content = oncologist_client.get(reverse("patients-list")).content.decode()
    assert cast.patient.mrn in content
    assert cast.other_patient.mrn not in content


def test_an_administrator_outside_the_teams_sees_no_patient(cast: Cast) -> None:
    client = signed_in_client(cast.admin)
    assert client.get(reverse("patients-case", args=[cast.case.pk])).status_code == 404
    assert cast.patient.mrn not in client.get(reverse("patients-list")).content.decode()


@pytest.mark.parametrize(
    ("who", "url_name", "expected"),
    [
        ("coordinator", "patients-case-edit", 404),
        ("pathologist", "patients-case-edit", 404),
        ("coordinator", "patients-create", 403),
        ("oncologist", "core-audit", 403),
        ("admin", "core-audit", 200),
        ("pathologist", "patients-event-create", 200),
        ("coordinator", "patients-event-create", 404),
    ],
)
def test_role_matrix_decides_what_a_team_member_may_do(
    cast: Cast, who: str, url_name: str, expected: int
) -> None:
    client = signed_in_client(getattr(cast, who))
    kwargs = {"case_id": cast.case.pk} if "case" in url_name or "event" in url_name else {}
    assert client.get(reverse(url_name, kwargs=kwargs)).status_code == expected


def test_the_matrix_names_only_existing_permissions(db: None) -> None:
    from django.contrib.auth.models import Group

    for role, codes in ROLE_PERMISSIONS.items():
        group = Group.objects.get(name=role)
        granted = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}
        assert granted == set(codes)


def test_every_view_requires_login_unless_allowlisted(db: None) -> None:
    # The single sign-on round trip starts and ends before anyone is signed in.
    public = {"core-login", "core-health", "openid_connect_login", "openid_connect_callback"}
    client = Client()
    for _route, pattern in _patterns(get_resolver()):
        if pattern.name in public or pattern.name == "home":
            continue
        keys = set(pattern.pattern.regex.groupindex)
        kwargs = {key: ("timeline" if key == "section" else 1) for key in keys}
        response = client.get(reverse(pattern.name, kwargs=kwargs))
        assert response.status_code in {302, 405}, f"{pattern.name} answered {response.status_code}"
        if response.status_code == 302:
            assert response["Location"].startswith(reverse("core-login"))


# URLs whose object is not a patient, case or job are swept by their app's own test, which
# builds the other team's object; this table names that test so no such URL goes unswept.
SWEPT_BY_APP_TESTS: dict[str, str] = {
    "clinical-import-detail": (
        "clinical.test_views:test_other_teams_objects_answer_404_with_one_denied_row"
    ),
    "clinical-import-report": (
        "clinical.test_views:test_other_teams_objects_answer_404_with_one_denied_row"
    ),
    **dict.fromkeys(
        (
            "boards-meeting",
            "boards-meeting-attendees",
            "boards-agenda-add",
            "boards-board-mode",
            "boards-item-checklist",
            "boards-item-move",
            "boards-decision-sign",
            "boards-decision-amend",
            "boards-outcomes",
            "reports-packet-request",
        ),
        "boards.test_views:test_other_teams_board_objects_answer_404_and_write_one_denied_row",
    ),
    **dict.fromkeys(
        ("pathology-upload-chunk", "pathology-upload-finish", "pathology-upload-cancel"),
        "pathology.test_upload:test_uploads_of_other_users_are_not_offered_for_resume",
    ),
    **dict.fromkeys(
        (
            "pathology-viewer",
            "pathology-dzi",
            "pathology-tile",
            "pathology-thumbnail",
            "pathology-tissue",
            "pathology-heatmap",
            "pathology-retire",
        ),
        "pathology.test_views:test_another_teams_slide_is_404_with_one_denied_row_for_every_url",
    ),
    # A grant is reviewed by administrators only, whatever the team: refusal is by permission.
    "core-break-glass-review": (
        "core.test_break_glass:test_administrators_review_each_grant_and_others_cannot"
    ),
    "imaging-recist-pacs": (
        "imaging.test_recist:test_sending_another_teams_time_point_to_the_pacs_is_404_with_one_denied_row"
    ),
    "imaging-upload-detail": (
        "imaging.test_views:test_an_upload_status_of_another_team_is_404_and_audited"
    ),
    **dict.fromkeys(
        ("imaging-viewer", "imaging-slice", "imaging-held-preview", "imaging-held-review"),
        "imaging.test_views:test_slices_of_another_team_are_404_with_one_denied_row",
    ),
    **dict.fromkeys(
        ("therapies-decide", "therapies-whatif", "therapies-json"),
        "therapies.test_views:test_another_team_gets_404_and_one_denied_audit_row",
    ),
    "trials-worklist-move": (
        "trials.test_coordinator:test_another_teams_worklist_entry_is_404_with_one_denied_row"
    ),
    "trials-reverse-ranking": (
        "trials.test_coordinator:test_reverse_ranking_lists_only_team_patients_and_audits_each"
    ),
    **dict.fromkeys(
        (
            "notes-document",
            "notes-document-accept-all",
            "notes-fact-accept",
            "notes-fact-reject",
            "notes-fact-edit",
        ),
        "notes.test_documents:test_another_teams_documents_and_facts_answer_404_and_are_audited",
    ),
}
# Objects that are not patient data: the model card and registry, the trial registry, the
# administrator's import reports and a user's own saved searches (their tests check who may use
# them).
NOT_PATIENT_OBJECTS = {
    "analysis-model-card",
    # The model registry's models and state changes: refused by permission, whoever's team
    # (modelregistry.test_views).
    "modelregistry-detail",
    "modelregistry-request",
    "modelregistry-approve",
    "modelregistry-reject",
    "modelregistry-cancel",
    "modelregistry-rollback",
    # Recalibration of a registry model and its site report (aggregates, groups under 5 hidden):
    # the model committee's, refused by permission (sitelearn.test_recalibration_job).
    "sitelearn-recalibration-start",
    "sitelearn-recalibration-report",
    "trials-detail",
    "trials-reverse-match",
    "trials-worklist-add",
    "trials-import-detail",
    "trials-search-delete",
}
_SWEPT_CENTRALLY = {"patient_id", "case_id", "job_id"}
_NOT_OBJECT_KEYS = {"section", "level", "col", "row"}


def test_every_url_with_an_object_id_is_swept_by_some_test() -> None:
    import importlib
    import inspect

    for _route, pattern in _patterns(get_resolver()):
        keys = set(pattern.pattern.regex.groupindex) - _NOT_OBJECT_KEYS
        if not keys or keys <= _SWEPT_CENTRALLY or pattern.name in NOT_PATIENT_OBJECTS:
            continue
        assert pattern.name in SWEPT_BY_APP_TESTS, f"no access sweep covers {pattern.name}"
        module, function = SWEPT_BY_APP_TESTS[pattern.name].split(":")
        loaded = importlib.import_module(f"tests.oncology_ui.{module}")
        assert callable(getattr(loaded, function, None)), f"{module}:{function} is gone"
        # The sweep's URL list may sit in a helper of the same module.
        assert f'"{pattern.name}"' in inspect.getsource(loaded), (
            f"tests/oncology_ui/{module} never requests {pattern.name}"
        )
