"""Patient and case pages: full pages, htmx partials, forms and their clinical validation."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from oncology_ui.casepage.composition import CASE_SECTIONS, EAGER_SECTIONS
from oncology_ui.patients.models import Case, Patient, TimelineEvent
from tests.oncology_ui.conftest import Cast

pytestmark = pytest.mark.django_db


def test_the_case_page_shows_every_section_with_its_empty_state(
    cast: Cast, oncologist_client: Client
) -> None:
    response = oncologist_client.get(reverse("patients-case", args=[cast.case.pk]))
    content = response.content.decode()
    for section in CASE_SECTIONS:
        assert f'id="section-{section}"' in content
    assert "<html" in content
    assert response["Cache-Control"].startswith("no-store")
    for section in ("pathology", "prognosis"):
        opened = reverse("patients-case-section", args=[cast.case.pk, section])
        assert oncologist_client.get(opened).status_code == 200
    pathology = reverse("patients-case-section", args=[cast.case.pk, "pathology"])
    assert "No slides yet" in oncologist_client.get(pathology).content.decode()
    prognosis = reverse("patients-case-section", args=[cast.case.pk, "prognosis"])
    assert "No analysis has been run" in oncologist_client.get(prognosis).content.decode()


def test_sections_below_the_fold_load_when_revealed_and_link_to_themselves(
    cast: Cast, oncologist_client: Client
) -> None:
    content = oncologist_client.get(reverse("patients-case", args=[cast.case.pk])).content.decode()
    for section in CASE_SECTIONS:
        url = reverse("patients-case-section", args=[cast.case.pk, section])
        placeholder = re.search(
            rf'<section id="section-{section}"[^>]*class="[^"]*deferred[^>]*>(.*?)</section>',
            content,
            re.S,
        )
        if section in EAGER_SECTIONS:
            assert placeholder is None
            continue
        assert placeholder is not None, section
        assert f'hx-get="{url}"' in placeholder.group(0)
        assert 'hx-trigger="revealed"' in placeholder.group(0)
        assert f'href="{url}"' in placeholder.group(1)  # the same section without JavaScript
    # What only a deferred section would show is not on the first response.
    assert "No slides yet" not in content and "No analysis has been run" not in content


def test_the_whole_case_for_printing_fills_every_section_at_once(
    cast: Cast, oncologist_client: Client
) -> None:
    page_url = reverse("patients-case", args=[cast.case.pk])
    assert f'href="{page_url}?view=print"' in oncologist_client.get(page_url).content.decode()
    content = oncologist_client.get(page_url, {"view": "print"}).content.decode()
    assert 'class="card section wide deferred"' not in content
    for section in CASE_SECTIONS:
        assert f'id="section-{section}"' in content, section
    # What only the deferred sections show is on this one response.
    assert "No slides yet" in content and "No analysis has been run" in content


def test_a_section_link_without_javascript_opens_the_page_with_that_section_filled(
    cast: Cast, oncologist_client: Client
) -> None:
    url = reverse("patients-case-section", args=[cast.case.pk, "pathology"])
    content = oncologist_client.get(url).content.decode()
    assert "<html" in content and "No slides yet" in content
    assert 'id="section-summary"' in content  # the rest of the page is still there
    assert f'hx-get="{reverse("patients-case-section", args=[cast.case.pk, "board"])}"' in content


@pytest.mark.parametrize("section", CASE_SECTIONS)
def test_htmx_gets_just_the_section_partial(
    cast: Cast, oncologist_client: Client, section: str
) -> None:
    url = reverse("patients-case-section", args=[cast.case.pk, section])
    partial = oncologist_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert partial.lstrip().startswith(f'<section id="section-{section}"')
    assert "<html" not in partial
    full = oncologist_client.get(url)
    assert full.status_code == 200 and "<html" in full.content.decode()


def test_an_unknown_section_is_404(cast: Cast, oncologist_client: Client) -> None:
    url = reverse("patients-case-section", args=[cast.case.pk, "horoscope"])
    assert oncologist_client.get(url).status_code == 404


def test_live_search_posts_and_returns_the_results_partial(
    cast: Cast, oncologist_client: Client
) -> None:
    response = oncologist_client.post(
        reverse("patients-list"), {"q": cast.patient.mrn}, HTTP_HX_REQUEST="true"
    )
    content = response.content.decode()
    assert content.lstrip().startswith('<div id="patient-results">')
    assert cast.patient.mrn in content


def test_search_filters_by_diagnosis_status_and_board_date(
    cast: Cast, oncologist_client: Client
) -> None:
    Case.objects.filter(pk=cast.case.pk).update(status="ready", board_date=dt.date(2026, 12, 3))
    url = reverse("patients-list")
    hit = oncologist_client.post(
        url, {"diagnosis": "IDC", "status": "ready", "board_from": "2026-12-01"}
    )
    assert cast.patient.mrn in hit.content.decode()
    miss = oncologist_client.post(url, {"diagnosis": "LUAD"})
    assert cast.patient.mrn not in miss.content.decode()
    assert "No patient in your teams matches" in miss.content.decode()
    wrong = oncologist_client.post(url, {"board_from": "2026-12-05", "board_to": "2026-12-01"})
    assert "before “Board from”" in wrong.content.decode()


def test_search_never_puts_names_in_the_url(cast: Cast) -> None:
    from django.template.loader import get_template

    source = get_template("patients/patient_list.html").template.source  # type: ignore[attr-defined]
    assert 'method="post"' in source and "hx-post" in source and "hx-get" not in source


def _patient_data(cast: Cast, **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "site": "main",
        "mrn": "NEW-001",
        "family_name": "Doe",
        "given_name": "Jane",
        "birth_date": "1970-01-02",
        "sex": "female",
        "teams": [cast.breast_team.pk],
        "vital_status": "alive",
    }
    data.update(overrides)
    return data


def test_an_oncologist_creates_a_patient(cast: Cast, oncologist_client: Client) -> None:
    response = oncologist_client.post(reverse("patients-create"), _patient_data(cast))
    patient = Patient.objects.get(mrn="NEW-001")
    assert response.status_code == 302 and response["Location"] == reverse(
        "patients-detail", args=[patient.pk]
    )
    assert list(patient.teams.all()) == [cast.breast_team]


def _assert_refused(client: Client, url: str, data: Mapping[str, object], message: str) -> None:
    """The form comes back with ``message`` and neither a patient nor a case is saved."""
    before = (Patient.objects.count(), Case.objects.count())
    response = client.post(url, data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert (Patient.objects.count(), Case.objects.count()) == before


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"birth_date": "2999-01-01"}, "cannot be in the future"),
        ({"mrn": "ZZCANARY-MRN-00000"}, "already exists"),
        ({"vital_status": "deceased"}, "Enter the date of death"),
        ({"date_of_death": "1960-01-01", "vital_status": "deceased"}, "before the date of birth"),
        ({"teams": []}, "This field is required"),
    ],
)
def test_patient_form_refuses_bad_input_with_a_message_and_saves_nothing(
    cast: Cast, oncologist_client: Client, overrides: dict[str, object], message: str
) -> None:
    if "ZZCANARY" in str(overrides.get("mrn", "")):
        overrides = {"mrn": cast.patient.mrn}
    _assert_refused(
        oncologist_client, reverse("patients-create"), _patient_data(cast, **overrides), message
    )


def test_a_user_cannot_file_a_patient_in_a_team_they_are_not_in(
    cast: Cast, oncologist_client: Client
) -> None:
    response = oncologist_client.post(
        reverse("patients-create"), _patient_data(cast, teams=[cast.lung_team.pk])
    )
    assert response.status_code == 200 and not Patient.objects.filter(mrn="NEW-001").exists()


def _case_data(**overrides: str) -> dict[str, str]:
    data = {
        "primary_diagnosis": "Colon adenocarcinoma",
        "oncotree_code": "coad",
        "icd10_code": "c18.7",
        "diagnosis_date": "2025-06-01",
        "ajcc_edition": "8",
        "stage_group": "IIIB",
    }
    data.update(overrides)
    return data


def test_a_case_is_created_with_normalised_codes_and_a_diagnosis_event(
    cast: Cast, oncologist_client: Client
) -> None:
    response = oncologist_client.post(
        reverse("patients-case-create", args=[cast.patient.pk]), _case_data()
    )
    case = Case.objects.get(primary_diagnosis="Colon adenocarcinoma")
    assert response.status_code == 302
    assert (case.oncotree_code, case.icd10_code) == ("COAD", "C18.7")
    assert case.events.get().kind == TimelineEvent.Kind.DIAGNOSIS


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"oncotree_code": "NOTACODE"}, "is not an OncoTree code"),
        ({"icd10_code": "Z99.999"}, "not a valid ICD-10-CM code"),
        ({"icd10_code": "J45.909"}, "not a neoplasm code"),
        ({"diagnosis_date": "1950-01-01"}, "before the date of birth"),
        ({"diagnosis_date": "2999-01-01"}, "cannot be in the future"),
        ({"ecog": "1"}, "Enter when the ECOG"),
        ({"progression_date": "2025-01-01"}, "Progression cannot be before the diagnosis"),
    ],
)
def test_case_form_refuses_bad_clinical_input(
    cast: Cast, oncologist_client: Client, overrides: dict[str, str], message: str
) -> None:
    url = reverse("patients-case-create", args=[cast.patient.pk])
    _assert_refused(oncologist_client, url, _case_data(**overrides), message)


def test_adding_an_event_with_htmx_returns_the_refreshed_timeline(
    cast: Cast, oncologist_client: Client
) -> None:
    response = oncologist_client.post(
        reverse("patients-event-create", args=[cast.case.pk]),
        {"kind": "systemic_therapy", "date": "2024-04-01", "line_number": "1", "regimen": "AC-T"},
        HTTP_HX_REQUEST="true",
    )
    content = response.content.decode()
    assert content.lstrip().startswith('<section id="section-timeline"')
    assert "Line 1: AC-T" in content


def test_the_case_page_fetches_the_event_form_only_when_the_drawer_opens(
    cast: Cast, oncologist_client: Client
) -> None:
    url = reverse("patients-event-create", args=[cast.case.pk])
    page = oncologist_client.get(reverse("patients-case", args=[cast.case.pk])).content.decode()
    assert 'name="regimen"' not in page
    assert f'hx-get="{url}"' in page and f'href="{url}"' in page  # plain link without htmx
    drawer = oncologist_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert drawer.lstrip().startswith("<form") and 'name="regimen"' in drawer
    assert "<html" not in oncologist_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" in oncologist_client.get(url).content.decode()


def test_an_event_without_a_regimen_or_in_the_future_is_refused(
    cast: Cast, oncologist_client: Client
) -> None:
    url = reverse("patients-event-create", args=[cast.case.pk])
    future = (timezone.localdate() + dt.timedelta(days=3)).isoformat()
    response = oncologist_client.post(url, {"kind": "systemic_therapy", "date": "2024-04-01"})
    assert "Name the regimen" in response.content.decode()
    response = oncologist_client.post(url, {"kind": "imaging", "date": future})
    assert "cannot be in the future" in response.content.decode()
    assert cast.case.events.count() == 1


def test_death_and_progression_events_update_the_outcome_fields(
    cast: Cast, oncologist_client: Client
) -> None:
    url = reverse("patients-event-create", args=[cast.case.pk])
    oncologist_client.post(url, {"kind": "progression", "date": "2025-01-10"})
    oncologist_client.post(url, {"kind": "death", "date": "2025-06-10"})
    cast.case.refresh_from_db()
    cast.patient.refresh_from_db()
    assert cast.case.progression_date == dt.date(2025, 1, 10)
    assert cast.patient.vital_status == "deceased" and cast.patient.date_of_death == dt.date(
        2025, 6, 10
    )
    assert cast.patient.last_contact_date == dt.date(2025, 6, 10)


def test_status_moves_follow_the_workflow(cast: Cast, oncologist_client: Client) -> None:
    url = reverse("patients-case-status", args=[cast.case.pk])
    response = oncologist_client.post(url, {"status": "ready"}, follow=True)
    assert "Set the tumor board date" in response.content.decode()
    Case.objects.filter(pk=cast.case.pk).update(board_date=dt.date(2026, 12, 3))
    oncologist_client.post(url, {"status": "ready"})
    oncologist_client.post(url, {"status": "discussed"})
    cast.case.refresh_from_db()
    assert cast.case.status == "discussed"
    response = oncologist_client.post(url, {"status": "draft"}, follow=True)
    assert "cannot move to" in response.content.decode()


def test_wrong_methods_are_refused(cast: Cast, oncologist_client: Client) -> None:
    assert (
        oncologist_client.get(reverse("patients-case-status", args=[cast.case.pk])).status_code
        == 405
    )
    assert (
        oncologist_client.get(reverse("patients-case-export", args=[cast.case.pk])).status_code
        == 405
    )
    assert (
        oncologist_client.delete(reverse("patients-case", args=[cast.case.pk])).status_code == 405
    )


def test_user_text_is_escaped_in_pages_and_partials(cast: Cast, oncologist_client: Client) -> None:
    attack = '<script>alert(1)</script><div hx-get="/admin/" hx-trigger="load">{{ 7 }}</div>'
    TimelineEvent.objects.create(
        case=cast.case, kind="imaging", date=dt.date(2024, 5, 1), title=attack
    )
    for url in (
        reverse("patients-case", args=[cast.case.pk]),
        reverse("patients-case-section", args=[cast.case.pk, "timeline"]),
    ):
        content = oncologist_client.get(url, HTTP_HX_REQUEST="true").content.decode()
        assert "<script>alert" not in content and 'hx-get="/admin/"' not in content
        assert "&lt;script&gt;" in content
