"""The preparation checklist ticks itself from the record and says why each item is (not) done."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from oncology_ui.boards import services
from oncology_ui.boards.models import AgendaItem
from oncology_ui.boards.preparation import agenda_preparation
from oncology_ui.imaging.recist import recist_record
from tests.factories import CaseFactory
from tests.oncology_ui.boards.conftest import BoardCast
from tests.oncology_ui.boards.helpers import prediction_create
from tests.oncology_ui.conftest import Cast, signed_in_client
from tests.oncology_ui.therapies.factories import BiomarkerFactory, VariantFactory

pytestmark = pytest.mark.django_db


def _checks(item: AgendaItem) -> dict[str, Any]:
    fresh = AgendaItem.objects.get(pk=item.pk)
    return {check.name: check for check in fresh.preparation}


def test_the_checklist_ticks_itself_as_the_record_fills(cast: Cast, boards: BoardCast) -> None:
    checks = _checks(boards.item)
    # The factory case has its histology recorded; nothing else is in the record yet.
    assert {name: check.done for name, check in checks.items()} == {
        "pathology_reviewed": True,
        "imaging_reviewed": False,
        "molecular_in": False,
        "analysis_run": False,
    }
    assert not AgendaItem.objects.get(pk=boards.item.pk).prepared

    VariantFactory.create(case=cast.case, gene="PIK3CA", protein_short="p.H1047R")
    BiomarkerFactory.create(case=cast.case, name="ER", status="positive")
    prediction_create(cast.case)
    recist_record(
        case=cast.case,
        user=cast.oncologist,
        date=dt.date(2025, 2, 20),
        lesions=[{"lesion_id": "T1", "kind": "target", "diameter_mm": 24.0}],
    )

    checks = _checks(boards.item)
    assert all(check.in_record for check in checks.values())
    assert AgendaItem.objects.get(pk=boards.item.pk).prepared
    assert "1 variant" in checks["molecular_in"].reason
    assert "ER positive" in checks["molecular_in"].reason
    assert "oncofusion 1.4.0" in checks["analysis_run"].reason
    assert "RECIST 1.1 time point of 2025-02-20" in checks["imaging_reviewed"].reason
    assert cast.case.histology in checks["pathology_reviewed"].reason


def test_the_meeting_page_says_why_each_item_is_ticked_or_open(
    cast: Cast, boards: BoardCast, oncologist_client: Client
) -> None:
    prediction_create(cast.case)
    html = oncologist_client.get(reverse("boards-meeting", args=[boards.meeting.pk])).content
    page = html.decode()
    assert "Model oncofusion 1.4.0 run on" in page
    assert "No imaging study in the record." in page
    assert "No variant or biomarker recorded." in page
    # What the record shows cannot be unticked by hand: no checkbox for it.
    assert 'name="analysis_run"' not in page
    assert 'name="imaging_reviewed"' in page


def test_a_hand_confirmation_covers_what_the_record_cannot_show_and_says_so(
    cast: Cast, boards: BoardCast
) -> None:
    client = signed_in_client(cast.pathologist)
    response = client.post(
        reverse("boards-item-checklist", args=[boards.item.pk]),
        {"imaging_reviewed": "on"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    imaging = _checks(boards.item)["imaging_reviewed"]
    assert imaging.done and imaging.by_hand and not imaging.in_record
    assert imaging.reason.startswith("Confirmed by hand; not shown in the record")
    assert "Confirmed by hand" in response.content.decode()


def test_saving_the_form_never_clears_a_hand_confirmation_the_record_now_shows(
    cast: Cast, boards: BoardCast
) -> None:
    services.agenda_item_checklist(item=boards.item, analysis_run=True)
    prediction_create(cast.case)  # the record now shows it: the form has no box for it
    client = signed_in_client(cast.pathologist)
    client.post(reverse("boards-item-checklist", args=[boards.item.pk]), {})
    assert AgendaItem.objects.get(pk=boards.item.pk).analysis_run


def test_a_failed_later_run_is_said_beside_the_stored_prediction(
    cast: Cast, boards: BoardCast
) -> None:
    from oncology_ui.analysis.models import AnalysisRun
    from oncology_ui.core.models import Job

    prediction_create(cast.case)
    job = Job.objects.create(
        kind="analysis",
        target_model="patients.case",
        target_id=cast.case.pk,
        status=Job.Status.FAILED,
        message="slide features missing",
    )
    AnalysisRun.objects.create(
        case=cast.case, inputs_snapshot={}, inputs_hash="1" * 64, adapter_version="1", job=job
    )
    analysis = _checks(boards.item)["analysis_run"]
    assert analysis.in_record
    assert "A later run failed: slide features missing." in analysis.reason


def test_an_agenda_is_read_in_the_same_number_of_queries_however_long(
    cast: Cast, boards: BoardCast, django_assert_max_num_queries: Any
) -> None:
    for n in range(4):
        case = CaseFactory.create(patient=cast.patient, primary_diagnosis=f"Primary {n}")
        services.agenda_item_add(meeting=boards.meeting, case=case)
        prediction_create(case)
    items = list(boards.meeting.items.all())
    assert len(items) == 5
    with django_assert_max_num_queries(9):
        checklists = agenda_preparation(items)
    assert len(checklists) == 5
