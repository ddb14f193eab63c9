"""The "how did our recommendations turn out" page against a hand-computed example."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from oncology_ui.boards import options, services
from oncology_ui.boards.selectors import kaplan_meier_at, outcomes_review
from oncology_ui.patients.models import Patient
from tests.factories import PASSWORD, CaseFactory, PatientFactory
from tests.oncology_ui.boards.conftest import BoardCast
from tests.oncology_ui.boards.helpers import prediction_create
from tests.oncology_ui.conftest import Cast, signed_in_client

pytestmark = pytest.mark.django_db

MEETING = dt.date(2025, 3, 4)  # the boards fixture's meeting date: follow-up starts here


def test_kaplan_meier_by_hand() -> None:
    # Deaths at 100 and 300 days, censored at 200 and 400: S(365) = 3/4 * 1/2 = 0.375.
    follow = [(100.0, True), (200.0, False), (300.0, True), (400.0, False)]
    assert kaplan_meier_at(follow, 365.25) == pytest.approx(0.375)
    assert kaplan_meier_at(follow, 99.0) == 1.0
    assert kaplan_meier_at([], 365.25) is None


def _signed_case(
    cast: Cast,
    boards: BoardCast,
    *,
    one_year: float,
    died_after: int | None = None,
    followed: int | None = None,
    therapy: str = "Letrozole",
    reason: str = "",
) -> None:
    patient = PatientFactory.create(teams=[cast.breast_team])
    if died_after is not None:
        Patient.objects.filter(pk=patient.pk).update(
            vital_status="deceased", date_of_death=MEETING + dt.timedelta(days=died_after)
        )
    if followed is not None:
        Patient.objects.filter(pk=patient.pk).update(
            last_contact_date=MEETING + dt.timedelta(days=followed)
        )
    case = CaseFactory.create(patient=patient)
    prediction_create(case, one_year=one_year)
    services.agenda_item_add(meeting=boards.meeting, case=case)
    decision = services.decision_record(
        case=case,
        created_by=cast.oncologist,
        meeting=boards.meeting,
        therapy=therapy,
        discordance_reason=reason,
    )
    services.decision_sign(decision_id=decision.pk, user=cast.oncologist, password=PASSWORD)


def test_predicted_against_observed_survival_and_concordance(
    cast: Cast, boards: BoardCast, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(options, "therapy_option_labels", lambda case: ["Letrozole"])
    # Bin 75-100 %: four cases predicted 0.80, 0.80, 0.90, 0.90 (mean 0.85).
    _signed_case(cast, boards, one_year=0.8, died_after=100)
    _signed_case(cast, boards, one_year=0.8, followed=200)
    _signed_case(cast, boards, one_year=0.9, died_after=300, therapy="Tamoxifen", reason="Frail")
    _signed_case(cast, boards, one_year=0.9, followed=400)
    # Bin 25-50 %: two cases predicted 0.40; one dies at day 50, one alive at day 500.
    _signed_case(cast, boards, one_year=0.4, died_after=50)
    _signed_case(cast, boards, one_year=0.4, followed=500, therapy="Surgery", reason="Resectable")
    review = outcomes_review(boards.board)
    assert review["signed_count"] == 6
    assert review["concordant_count"] == 4
    assert review["concordance_rate"] == pytest.approx(4 / 6)
    bins = {(b.low, b.high): b for b in review["bins"]}
    high = bins[(0.75, 1.0)]
    assert (high.cases, high.at_risk_1y) == (4, 1)
    assert high.mean_predicted == pytest.approx(0.85)
    assert high.observed == pytest.approx(0.375)  # 3/4 after day 100, 1/2 after day 300
    low = bins[(0.25, 0.5)]
    assert (low.cases, low.observed, low.at_risk_1y) == (2, pytest.approx(0.5), 1)
    assert bins[(0.0, 0.25)].cases == 0 and bins[(0.0, 0.25)].observed is None
    assert len(review["discordant"]) == 2

    page = signed_in_client(cast.oncologist)
    html = page.get(reverse("boards-outcomes", args=[boards.board.pk])).content.decode()
    assert "4 of 6 (67%)" in html
    assert "0.375" in html and "0.850" in html
    assert "Frail" in html and "Resectable" in html
