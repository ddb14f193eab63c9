"""Reviewing proposed facts: accepted ones become the importers' rows with provenance, rejected
ones never become a row, flagged ones cannot be accepted as they stand, and htmx and plain
forms both work."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from oncology_ui.clinical.models import Biomarker, ClinicalFact, LabResult
from oncology_ui.core.models import AccessLog
from oncology_ui.notes import review
from oncology_ui.notes.models import ProposedFact
from oncology_ui.patients.models import TimelineEvent
from tests.oncology_ui.conftest import Cast
from tests.oncology_ui.notes.conftest import proposal, read_note

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}
SOURCE = "from Clinical note “Oncology clinic” of 2025-01-10, accepted by onco"


def test_an_accepted_biomarker_becomes_a_biomarker_row_with_provenance(
    cast: Cast, oncologist_client: Client
) -> None:
    document = read_note(cast.case)
    er = proposal(document, "biomarker", "ER 90% strong")
    response = oncologist_client.post(reverse("notes-fact-accept", args=[er.pk]), headers=HTMX)
    assert response.status_code == 200
    assert f'id="proposal-{er.pk}"' in response.content.decode()
    assert "Accepted by onco" in response.content.decode()
    row = Biomarker.objects.get(case=cast.case)
    assert (row.name, row.method, row.value_text, row.status) == ("ER", "IHC", "90%", "positive")
    assert row.measured_on == dt.date(2025, 1, 10)
    assert row.source_ref == SOURCE and row.source_key == f"note:{document.pk}:{er.pk}"
    er.refresh_from_db()
    assert er.status == "accepted" and er.result_ref == f"biomarker:{row.pk}"
    assert er.reviewed_by == cast.oncologist
    assert AccessLog.objects.filter(
        category="document-fact-accept", object_ref=f"proposal:{er.pk}"
    ).exists()
    # A second accept (another tab, a double click) writes nothing more.
    again = oncologist_client.post(reverse("notes-fact-accept", args=[er.pk]), headers=HTMX)
    assert again.status_code == 400 and "already accepted" in again.content.decode()
    assert Biomarker.objects.filter(case=cast.case).count() == 1


def test_a_rejected_fact_never_becomes_a_row(cast: Cast, oncologist_client: Client) -> None:
    document = read_note(cast.case)
    her2 = proposal(document, "biomarker", "HER2/CEP17 ratio 2.3, amplified")
    response = oncologist_client.post(reverse("notes-fact-reject", args=[her2.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("notes-document", args=[document.pk])
    her2.refresh_from_db()
    assert her2.status == "rejected" and her2.result_ref == ""
    assert not Biomarker.objects.filter(case=cast.case).exists()
    with pytest.raises(ValidationError):
        review.proposal_accept(proposal=her2, user=cast.oncologist)
    assert not Biomarker.objects.filter(case=cast.case).exists()


def test_a_plain_form_accept_goes_back_to_the_document_saying_what_was_accepted(
    cast: Cast, oncologist_client: Client
) -> None:
    document = read_note(cast.case)
    er = proposal(document, "biomarker", "ER 90% strong")
    response = oncologist_client.post(reverse("notes-fact-accept", args=[er.pk]), follow=True)
    assert response.redirect_chain == [(reverse("notes-document", args=[document.pk]), 302)]
    assert f"Accepted: {er.label}." in response.content.decode()
    assert Biomarker.objects.filter(case=cast.case).count() == 1


def test_nothing_read_is_used_before_it_is_accepted(cast: Cast) -> None:
    before = (
        Biomarker.objects.count(),
        LabResult.objects.count(),
        ClinicalFact.objects.count(),
        cast.case.events.count(),
    )
    read_note(cast.case)
    cast.case.refresh_from_db()
    after = (
        Biomarker.objects.count(),
        LabResult.objects.count(),
        ClinicalFact.objects.count(),
        cast.case.events.count(),
    )
    assert before == after
    assert (cast.case.pathological_t, cast.case.ecog) == ("", None)


def test_staging_and_performance_status_update_the_case_and_leave_a_sourced_fact(
    cast: Cast,
) -> None:
    document = read_note(cast.case)
    user = cast.oncologist
    for kind, words in (
        ("tnm", "pT2 pN1a cM0"),
        ("stage_group", "AJCC 8th edition pathological stage IIB"),
        ("ecog", "ECOG 1"),
        ("karnofsky", "Karnofsky 80%"),
        ("menopausal_status", "postmenopausal"),
    ):
        review.proposal_accept(proposal=proposal(document, kind, words), user=user)
    cast.case.refresh_from_db()
    assert (cast.case.pathological_t, cast.case.pathological_n) == ("pT2", "pN1a")
    assert cast.case.pathological_m == "cM0" and cast.case.stage_group == "IIB"
    assert (cast.case.ecog, cast.case.ecog_date) == (1, dt.date(2025, 1, 10))
    facts = {f.kind: f for f in ClinicalFact.objects.filter(case=cast.case)}
    assert set(facts) == {"tnm", "stage_group", "ecog", "karnofsky", "menopausal_status"}
    assert facts["stage_group"].value_text == "IIB"
    assert facts["karnofsky"].value_number == 80
    assert all(f.source_ref == SOURCE for f in facts.values())


def test_an_older_notes_ecog_does_not_replace_the_cases_newer_one(cast: Cast) -> None:
    cast.case.ecog, cast.case.ecog_date = 0, dt.date(2025, 6, 1)
    cast.case.save()
    document = read_note(cast.case, "ECOG 2.", on=dt.date(2025, 1, 10))
    review.proposal_accept(proposal=proposal(document, "ecog", "ECOG 2"), user=cast.oncologist)
    cast.case.refresh_from_db()
    assert cast.case.ecog == 0
    assert ClinicalFact.objects.get(case=cast.case, kind="ecog").value_number == 2


def test_an_accepted_lab_value_is_converted_like_an_imported_one(cast: Cast) -> None:
    document = read_note(cast.case)
    hb = proposal(document, "lab", "haemoglobin 11.2 g/dL")
    review.proposal_accept(proposal=hb, user=cast.oncologist)
    row = LabResult.objects.get(case=cast.case, analyte_key="hemoglobin")
    assert (row.value, row.unit, row.value_text, row.unit_original) == (112, "g/L", "11.2", "g/dL")
    assert row.loinc == "718-7" and row.flag == "L"  # below the female range 120-155 g/L
    assert row.source_ref == SOURCE


def test_a_historical_therapy_with_its_line_becomes_a_timeline_line(cast: Cast) -> None:
    document = read_note(cast.case)
    line = proposal(document, "prior_therapy", "letrozole and palbociclib")
    assert line.historical
    review.proposal_accept(proposal=line, user=cast.oncologist)
    event = cast.case.events.get(kind=TimelineEvent.Kind.SYSTEMIC_THERAPY)
    assert (event.regimen, event.line_number, event.response) == (
        "letrozole + palbociclib",
        1,
        "PD",
    )
    assert event.date == dt.date(2022, 6, 1)
    assert "Date as written: 06/2022" in event.detail and SOURCE in event.detail


def test_a_therapy_without_a_date_waits_for_the_reviewer_to_give_one(
    cast: Cast, oncologist_client: Client
) -> None:
    document = read_note(cast.case)
    current = proposal(document, "prior_therapy", "fulvestrant")
    response = oncologist_client.post(reverse("notes-fact-accept", args=[current.pk]), headers=HTMX)
    assert response.status_code == 400 and "no start date" in response.content.decode()
    form = oncologist_client.get(reverse("notes-fact-edit", args=[current.pk]), headers=HTMX)
    assert 'name="value_start"' in form.content.decode()
    edited = oncologist_client.post(
        reverse("notes-fact-edit", args=[current.pk]),
        {
            "value_therapy_kind": "systemic",
            "value_regimen": "fulvestrant",
            "value_start": "2024-09-01",
            "value_line": "2",
        },
    )
    assert edited.status_code == 302
    current.refresh_from_db()
    assert current.status == "accepted" and current.edited
    event = cast.case.events.get(kind=TimelineEvent.Kind.SYSTEMIC_THERAPY)
    assert (event.regimen, event.line_number, event.date) == ("fulvestrant", 2, dt.date(2024, 9, 1))


@pytest.mark.parametrize(
    ("kind", "words", "reason"),
    [
        ("biomarker", "ER positive", "family member"),
        ("prior_therapy", "capecitabine", "possibility or a plan"),
        ("prior_therapy", "radiotherapy", "says this is absent"),
    ],
)
def test_negated_hypothetical_and_family_facts_cannot_be_accepted_as_they_stand(
    cast: Cast, kind: str, words: str, reason: str
) -> None:
    document = read_note(cast.case)
    flagged = proposal(document, kind, words)
    with pytest.raises(ValidationError, match=reason):
        review.proposal_accept(proposal=flagged, user=cast.oncologist)
    flagged.refresh_from_db()
    assert flagged.status == "proposed"
    assert not Biomarker.objects.filter(case=cast.case).exists()
    assert not cast.case.events.filter(kind=TimelineEvent.Kind.SYSTEMIC_THERAPY).exists()


def test_a_misread_flag_can_be_corrected_by_the_reviewer(cast: Cast) -> None:
    document = read_note(cast.case, "Her mother's oncologist confirmed ER 70% in the patient.")
    er = proposal(document, "biomarker", "ER 70%")
    assert er.family
    review.proposal_accept(
        proposal=er,
        user=cast.oncologist,
        edits={},
        flags={"negated": False, "historical": False, "hypothetical": False, "family": False},
    )
    assert Biomarker.objects.get(case=cast.case).value_text == "70%"


def test_metastatic_sites_present_and_absent_become_facts(cast: Cast) -> None:
    document = read_note(cast.case)
    review.proposal_accept(
        proposal=proposal(document, "metastatic_site", "liver metastases"), user=cast.oncologist
    )
    review.proposal_accept(
        proposal=proposal(document, "metastatic_site", "Brain MRI negative"), user=cast.oncologist
    )
    liver = ClinicalFact.objects.get(case=cast.case, kind="secondary_cancer")
    assert liver.detail["body_site"] == "liver" and liver.source_ref == SOURCE
    brain = ClinicalFact.objects.get(case=cast.case, kind="metastasis_absent")
    assert brain.display == "No brain metastases"


def test_accept_all_accepts_what_it_can_and_leaves_the_rest_with_reasons(
    cast: Cast, oncologist_client: Client
) -> None:
    document = read_note(cast.case)
    response = oncologist_client.post(
        reverse("notes-document-accept-all", args=[document.pk]), headers=HTMX
    )
    body = response.content.decode()
    assert response.status_code == 200 and 'id="review-queue"' in body
    waiting = document.proposals.filter(status=ProposedFact.Status.PROPOSED)
    assert all(
        p.negated
        or p.hypothetical
        or p.family
        or (p.kind == "prior_therapy" and not p.value["start"])
        for p in waiting
        if p.kind != "metastatic_site"
    )
    accepted = document.proposals.filter(status=ProposedFact.Status.ACCEPTED).count()
    assert f"{accepted} accepted; {waiting.count()} left for you to review." in body
    assert Biomarker.objects.filter(case=cast.case).count() >= 5
    assert not Biomarker.objects.filter(case=cast.case, status="", value_text="").exists()
    # The family member's ER was not recorded as the patient's.
    assert proposal(document, "biomarker", "ER positive").status == "proposed"
    # Plain form: redirect with the same summary as a message.
    plain = oncologist_client.post(reverse("notes-document-accept-all", args=[document.pk]))
    assert plain.status_code == 302


def test_the_edit_form_works_without_javascript_and_shows_errors_in_place(
    cast: Cast, oncologist_client: Client
) -> None:
    document = read_note(cast.case)
    ecog = proposal(document, "ecog", "ECOG 1")
    url = reverse("notes-fact-edit", args=[ecog.pk])
    page = oncologist_client.get(url)
    body = page.content.decode()
    assert page.status_code == 200 and "<mark>ECOG 1</mark>" in body
    assert f'action="{url}"' in body and 'name="value_ecog"' in body
    wrong = oncologist_client.post(url, {"value_ecog": "7"})
    assert wrong.status_code == 400 and "whole number from 0 to 4" in wrong.content.decode()
    assert oncologist_client.post(url, {"value_ecog": "two"}).status_code == 400
    ecog.refresh_from_db()
    assert ecog.status == "proposed" and not ClinicalFact.objects.filter(kind="ecog").exists()
    assert oncologist_client.post(url, {"value_ecog": "2"}).status_code == 302
    cast.case.refresh_from_db()
    assert cast.case.ecog == 2


def test_a_negative_pregnancy_test_and_a_comorbidity_become_facts(cast: Cast) -> None:
    document = read_note(
        cast.case, "Urine pregnancy test negative. Comorbidities: type 2 diabetes."
    )
    review.proposal_accept(
        proposal=proposal(document, "pregnancy", "Urine pregnancy test negative"),
        user=cast.oncologist,
    )
    review.proposal_accept(
        proposal=proposal(document, "comorbidity", "type 2 diabetes"), user=cast.oncologist
    )
    pregnancy = ClinicalFact.objects.get(case=cast.case, kind="pregnancy")
    assert pregnancy.value_text == "not pregnant" and pregnancy.source_ref.startswith("from ")
    diabetes = ClinicalFact.objects.get(case=cast.case, kind="comorbidity")
    assert (diabetes.display, diabetes.code_system, diabetes.code) == (
        "Type 2 diabetes",
        "ICD-10-CM",
        "E11",
    )
