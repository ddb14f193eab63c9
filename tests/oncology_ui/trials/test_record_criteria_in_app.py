"""Record-level criteria (setting before surgery) reach stored trials, the page and the PDF."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from oncology_ui.trials.index import trial_index, trial_index_reset
from oncology_ui.trials.models import Trial, TrialMatchResult
from oncology_ui.trials.serialize import row_to_record
from tests.oncology_ui.conftest import Cast
from tests.oncology_ui.trials.factories import trial, trial_record

pytestmark = pytest.mark.django_db

NEOADJUVANT = "Neoadjuvant palbociclib and letrozole in operable breast cancer"


def _stored_before_the_setting_rule(nct_id: str) -> Trial:
    # A trial imported by an engine that did not derive the setting: its stored criteria lack it.
    row = trial(nct_id, title=NEOADJUVANT)
    row.criteria = [c for c in row.criteria if c["criterion_id"] != "record-setting"]
    row.save(update_fields=["criteria"])
    trial_index_reset()
    return row


def test_an_imported_neoadjuvant_trial_stores_the_setting_criterion() -> None:
    row = trial("NCT90000011", title=NEOADJUVANT)
    assert any(c["criterion_id"] == "record-setting" for c in row.criteria)


def test_the_index_derives_the_setting_for_a_trial_stored_without_it() -> None:
    row = _stored_before_the_setting_rule("NCT90000012")
    loaded = trial_index()
    assert loaded is not None
    ids = [c.criterion_id for c in loaded.cache.get(row_to_record(row))]
    assert ids.count("record-setting") == 1


def test_the_trial_page_lists_the_setting_criterion(cast: Cast, coordinator_client: Client) -> None:
    _stored_before_the_setting_rule("NCT90000013")
    page = coordinator_client.get(reverse("trials-detail", args=["NCT90000013"])).content.decode()
    assert "Setting: treatment before surgery" in page


def test_the_report_lists_closed_trials_for_reference_when_none_is_open(cast: Cast) -> None:
    from oncology_ui.reports.trials import trials_report_source

    closed = trial_record("NCT90000014", status="completed")
    TrialMatchResult.objects.create(
        case=cast.case,
        requested_by=cast.oncologist,
        matches=[
            {
                "nct_id": closed.nct_id,
                "title": closed.title,
                "phase": closed.phase,
                "status": closed.status,
                "n_satisfied": 2,
                "n_failed": 0,
                "n_unknown": 4,
                "excluded": False,
            }
        ],
        engine_version="test",
        facts_missing=[],
    )
    section = trials_report_source(cast.case, False)
    assert section.lines[0].startswith("No recruiting or not yet recruiting trial")
    assert "for reference only" in section.lines[0]
    assert section.lines[1].startswith("1. NCT90000014") and "Completed" in section.lines[1]
