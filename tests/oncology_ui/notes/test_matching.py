"""Trial matching decides criteria from accepted document facts, and only from accepted ones:
the facts arrive as ordinary rows, so ``case_facts`` needs no notes-specific path."""

from __future__ import annotations

import datetime as dt

import pytest

from inference.trials.criteria import parse_criteria
from inference.trials.eligibility import evaluate_criterion
from inference.trials.schema import Criterion, Verdict
from oncology_ui.notes import review
from oncology_ui.trials.facts import case_facts
from tests.oncology_ui.conftest import Cast
from tests.oncology_ui.notes.conftest import proposal, read_note

pytestmark = pytest.mark.django_db
NOTE_DAY = dt.date(2025, 1, 10)
AS_OF = dt.date(2025, 1, 20)
SOURCE = "from Clinical note “Oncology clinic” of 2025-01-10, accepted by onco"
ELIGIBILITY = """Inclusion Criteria:
- ER-positive breast cancer
- ECOG performance status 0-1
Exclusion Criteria:
- Known brain metastases
"""


def _criterion(words: str) -> Criterion:
    found = [c for c in parse_criteria(ELIGIBILITY) if words in c.text]
    assert len(found) == 1, [c.text for c in parse_criteria(ELIGIBILITY)]
    return found[0]


def _verdict(cast: Cast, words: str) -> tuple[Verdict, tuple[str, ...]]:
    result = evaluate_criterion(_criterion(words), case_facts(cast.case, as_of=AS_OF).facts)
    return result.verdict, tuple(e.source for e in result.evidence)


def test_accepted_facts_decide_criteria_that_were_unknown_and_cite_the_document(
    cast: Cast,
) -> None:
    document = read_note(cast.case, on=NOTE_DAY)
    # Read but not accepted: the matcher does not see it.
    assert _verdict(cast, "brain metastases")[0] == Verdict.UNKNOWN
    assert _verdict(cast, "ER-positive")[0] == Verdict.UNKNOWN
    assert _verdict(cast, "ECOG")[0] == Verdict.UNKNOWN

    user = cast.oncologist
    review.proposal_accept(
        proposal=proposal(document, "metastatic_site", "Brain MRI negative"), user=user
    )
    review.proposal_accept(proposal=proposal(document, "biomarker", "ER 90% strong"), user=user)
    review.proposal_accept(proposal=proposal(document, "ecog", "ECOG 1"), user=user)

    brain, brain_sources = _verdict(cast, "brain metastases")
    assert brain == Verdict.NOT_MET  # the exclusion does not apply
    assert brain_sources == (SOURCE,)
    er, er_sources = _verdict(cast, "ER-positive")
    assert er == Verdict.MET and SOURCE in er_sources
    ecog, ecog_sources = _verdict(cast, "ECOG")
    assert ecog == Verdict.MET and ecog_sources


def test_a_rejected_fact_never_reaches_matching(cast: Cast) -> None:
    document = read_note(cast.case, on=NOTE_DAY)
    user = cast.oncologist
    review.proposal_reject(
        proposal=proposal(document, "metastatic_site", "Brain MRI negative"), user=user
    )
    review.proposal_reject(proposal=proposal(document, "biomarker", "ER 90% strong"), user=user)
    assert _verdict(cast, "brain metastases")[0] == Verdict.UNKNOWN
    assert _verdict(cast, "ER-positive")[0] == Verdict.UNKNOWN


def test_recorded_brain_metastases_win_over_a_clear_scan(cast: Cast) -> None:
    clear = read_note(cast.case, "Brain MRI negative.", on=dt.date(2024, 6, 1))
    review.proposal_accept(proposal=clear.proposals.get(), user=cast.oncologist)
    later = read_note(cast.case, "New brain metastases on MRI.", on=NOTE_DAY)
    review.proposal_accept(proposal=later.proposals.get(), user=cast.oncologist)
    facts = case_facts(cast.case, as_of=AS_OF).facts
    assert facts.brain_metastases is not None and facts.brain_metastases.value is True


def test_an_accepted_negative_pregnancy_test_decides_the_pregnancy_exclusion(
    cast: Cast,
) -> None:
    criterion = next(
        c for c in parse_criteria("Exclusion Criteria:\n- Pregnant or breastfeeding women\n")
    )
    as_of = NOTE_DAY + dt.timedelta(days=2)
    before = evaluate_criterion(criterion, case_facts(cast.case, as_of=as_of).facts)
    assert before.verdict == Verdict.UNKNOWN
    document = read_note(cast.case, "Serum pregnancy test negative.", on=NOTE_DAY)
    review.proposal_accept(proposal=document.proposals.get(), user=cast.oncologist)
    built = case_facts(cast.case, as_of=as_of)
    after = evaluate_criterion(criterion, built.facts)
    assert after.verdict == Verdict.NOT_MET and after.evidence[0].source == SOURCE
    assert "pregnancy status" not in built.missing
