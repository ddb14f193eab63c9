"""The demo seeds synthetic notes and pathology reports whose facts wait in the review queue."""

from __future__ import annotations

import time
from io import StringIO

import pytest
from django.core.management import call_command

from oncology_ui.clinical.models import Variant
from oncology_ui.demodata.notes import DEMO_NOTES, HEADER
from oncology_ui.notes.models import ClinicalDocument, ProposedFact

pytestmark = pytest.mark.django_db


def _labels(mrn: str, kind: str) -> dict[str, set[str]]:
    """Evidence text -> flags, for the proposals of ``kind`` on ``mrn``'s documents."""
    return {
        p.evidence: set(p.flag_names)
        for p in ProposedFact.objects.filter(case__patient__mrn=mrn, kind=kind)
    }


def test_the_demo_documents_are_read_and_their_facts_wait_for_review() -> None:
    out = StringIO()
    started = time.perf_counter()
    call_command("seed_demo", "--without-reference-data", stdout=out)
    elapsed = time.perf_counter() - started
    documents = ClinicalDocument.objects.filter(case__patient__mrn__in=list(DEMO_NOTES))
    assert documents.count() == 2 * len(DEMO_NOTES)
    assert all(d.status == ClinicalDocument.Status.READ for d in documents)
    assert all(d.text.startswith(HEADER) and "(synthetic)" in d.title for d in documents)
    assert "facts wait in the review queue" in out.getvalue()
    proposals = ProposedFact.objects.filter(document__in=documents)
    assert proposals.exists()
    assert set(proposals.values_list("status", flat=True)) == {ProposedFact.Status.PROPOSED}
    kinds = set(proposals.values_list("kind", flat=True))
    assert {"biomarker", "stage_group", "ecog", "variant", "diagnosis", "prior_therapy"} <= kinds

    # What each patient's documents exercise: current, negated and family facts.
    breast = _labels("DEMO-0001", "variant")
    assert breast["PIK3CA E545K"] == set()
    assert breast["ESR1 mutation"] == {"negated"}
    assert breast["BRCA2 mutation"] == {"family"}
    assert breast["BRCA2 variant"] == {"negated"}
    lung = _labels("DEMO-0009", "variant")
    assert lung["KRAS mutation"] == set() and lung["EGFR mutation"] == {"negated"}
    assert _labels("DEMO-0009", "diagnosis")["colorectal adenocarcinoma"] == {"family"}
    colon = _labels("DEMO-0012", "diagnosis")
    assert colon["Adenocarcinoma of the sigmoid colon"] == set()
    assert colon["colon cancer"] == {"family"}
    # Nothing read is used before someone accepts it.
    assert not Variant.objects.filter(source_key__startswith="note:").exists()
    # The whole seed (17+ patients, imports, six documents) stays quick.
    assert elapsed < 120, elapsed
