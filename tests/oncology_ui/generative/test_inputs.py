"""What the generative model is given of a case, and the needs the app's other sections list."""

from __future__ import annotations

import pytest

from oncology_ui.generative.inputs import Need, case_needs, case_observation
from oncology_ui.therapies.kb import kb_load
from oncology_ui.therapies.services import ranking_compute
from tests.oncology_ui.conftest import Cast
from tests.oncology_ui.therapies.factories import VariantFactory

pytestmark = pytest.mark.django_db


def test_a_gene_the_record_does_not_name_is_unknown_not_wild_type(cast: Cast) -> None:
    VariantFactory.create(case=cast.case, gene="TP53", protein_short="p.R175H")
    VariantFactory.create(case=cast.case, gene="PIK3CA", protein_short="p.E545=")  # silent
    observation = case_observation(cast.case)
    assert observation["mutations"] == {"TP53": True, "PIK3CA": False}
    assert observation["cnv"] is None and observation["rna"] is None
    assert observation["cancer_type"] == "IDC" and observation["is_female"] is not None


def test_the_therapy_rankings_unevaluable_rules_become_needs(cast: Cast) -> None:
    kb_load()
    ranking = ranking_compute(case=cast.case, user=None)
    rules = ranking.result["unknowns"]["not_evaluable"]
    assert rules, "an IDC case without receptor status leaves guideline rules unevaluable"
    needs = case_needs(cast.case)
    assert needs and all(isinstance(n, Need) for n in needs)
    assert all(n.settles.startswith("therapy rule ") and "(" not in n.settles for n in needs)
    assert {"HER2", "ER"} & {n.test for n in needs}
