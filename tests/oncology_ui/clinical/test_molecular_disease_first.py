"""The molecular table leads with evidence for the patient's own cancer (issue #13, part 5).

Variants go through the real importer and are annotated from the shipped CIViC extract.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from oncology_ui.clinical.diseases import civic_disease_relation
from oncology_ui.clinical.models import ClinicalImport
from oncology_ui.clinical.selectors import molecular_view
from oncology_ui.patients.models import Case
from tests.factories import CaseFactory
from tests.oncology_ui.clinical.conftest import run_import
from tests.oncology_ui.conftest import Cast
from tests.oncology_ui.therapies.html import attr, find, find_all, text, tree

pytestmark = pytest.mark.django_db
PANEL = b"kind,gene,protein_change\nmutation,PIK3CA,p.Glu545Lys\n"
BREAST = {"same", "narrower"}


def _pik3ca(case: Case) -> dict[str, Any]:
    record = run_import(case, PANEL, "panel.csv")
    assert record.status == ClinicalImport.Status.IMPORTED, record.problems
    (row,) = molecular_view(case)["rows"]
    return row


def test_pik3ca_e545k_in_breast_cancer_leads_with_breast_cancer_evidence(cast: Cast) -> None:
    assert cast.case.oncotree_code == "IDC"
    row = _pik3ca(cast.case)
    best = row["best"]
    assert best is not None
    assert best.relation in BREAST and "Breast" in best.item.disease
    assert "Lung" not in best.item.disease
    assert best.item.level == "D"  # the breast item leads over the level B lung item
    relations = [r.relation for r in row["civic"]]
    # Every breast item before any item of another cancer.
    assert relations[: row["civic_here"]] == [r for r in relations if r in BREAST]
    assert row["civic_here"] >= 3
    assert all(r not in BREAST for r in relations[row["civic_here"] :])


def test_the_same_variant_in_lung_cancer_leads_with_lung_cancer_evidence(cast: Cast) -> None:
    case = CaseFactory.create(patient=cast.patient, oncotree_code="LUAD", icd10_code="C34.11")
    row = _pik3ca(case)
    best = row["best"]
    assert best is not None and best.relation in BREAST
    assert best.item.disease in {"Lung Adenocarcinoma", "Lung Non-small Cell Carcinoma"}
    assert row["civic"][0].item.disease.startswith("Lung")


def test_disease_relations_follow_the_oncotree_lineage() -> None:
    breast = civic_disease_relation("IDC")
    assert breast("Breast Cancer") == "same"  # BREAST is an ancestor of IDC
    assert breast("Lung Adenocarcinoma") == "other"
    assert breast("Cancer") == "pan-cancer"
    assert breast("Cervix Carcinoma") == "unmapped"
    assert civic_disease_relation("BREAST")("Breast Ductal Carcinoma") == "narrower"
    assert civic_disease_relation("")("Breast Cancer") == "other"


def test_the_rendered_table_shows_this_cancer_first(oncologist_client: Client, cast: Cast) -> None:
    _pik3ca(cast.case)
    url = reverse("patients-case-section", args=[cast.case.pk, "molecular"])
    response = oncologist_client.get(url, headers={"HX-Request": "true"})
    assert response.status_code == 200
    root = tree(response.content.decode())
    table = find(root, "table", "molecular-table")
    badge = find(table, "a", "level")  # the actionability badge, first in the row
    assert "Breast" in attr(badge, "title") and "Lung" not in attr(badge, "title")
    cell = find(table, "td", "actionability")
    assert text(find(cell, "span", "relation")) == "this cancer"
    items = find_all(find(cell, "ul", "evidence"), "li")
    order = [attr(li, "data-relation") for li in items]
    assert order[0] in BREAST
    first_other = next((i for i, r in enumerate(order) if r not in BREAST), len(order))
    assert all(r not in BREAST for r in order[first_other:])


def test_without_evidence_in_its_own_cancer_the_best_other_item_is_labelled_as_such(
    cast: Cast, oncologist_client: Client
) -> None:
    run_import(cast.case, b"gene,protein_change\nBRAF,p.V600E\n", "panel.csv")
    (row,) = molecular_view(cast.case)["rows"]
    assert row["civic_here"] == 0
    assert (row["best"].item.level, row["best"].relation) == ("A", "other")
    url = reverse("patients-case-section", args=[cast.case.pk, "molecular"])
    root = tree(oncologist_client.get(url, headers={"HX-Request": "true"}).content.decode())
    assert text(find(root, "span", "relation")) == "another cancer"
