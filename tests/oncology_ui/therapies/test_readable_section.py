"""A therapy section a clinician can read (issue #13, part 5), on the shipped knowledge base.

One option per agent (salts and esters merged), investigational options apart and collapsed,
each citation once per option, and the full references in the evidence drawer.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from django.test import Client
from django.test.html import Element
from django.urls import reverse
from django.utils import timezone

from inference.therapy.kbdrugs import SALT_WORDS, drug_base_name, normalise_drug_names
from oncology_ui.patients.models import Case
from oncology_ui.therapies import services
from oncology_ui.therapies.models import KnowledgeBase, TherapyRanking
from tests.factories import CaseFactory, TimelineEventFactory
from tests.oncology_ui.conftest import Cast
from tests.oncology_ui.therapies.engine_cases import shipped_kb
from tests.oncology_ui.therapies.factories import BiomarkerFactory, VariantFactory, fine_labs
from tests.oncology_ui.therapies.html import attr, classes, find, find_all, text, tree

HTMX = {"HX-Request": "true"}


# ------------------------------------------------------------------ salts and brand names


@pytest.mark.parametrize("salt", sorted(SALT_WORDS))
def test_a_salt_or_ester_word_names_the_same_agent(salt: str) -> None:
    assert drug_base_name(f"Examplinib {salt.title()}") == "Examplinib"
    assert drug_base_name(f"Examplinib {salt.upper()} Monohydrate") == "Examplinib"


def test_salts_map_to_the_vocabulary_name_and_unknown_agents_keep_one_name() -> None:
    kb = shipped_kb()
    index = {d.name: d for d in kb.drugs} | {s: d for d in kb.drugs for s in d.synonyms}
    known, unknown = normalise_drug_names(
        "Imatinib Mesylate,Lapatinib Ditosylate,Pictilisib,Pictilisib Bismesylate,Herceptin",
        index,
    )
    assert known == ("imatinib", "lapatinib", "trastuzumab")
    assert unknown == ("Pictilisib",)
    # A name that is nothing but a salt word is not emptied.
    assert drug_base_name("Sodium") == "Sodium"


def test_no_two_drug_names_of_the_shipped_evidence_differ_only_by_a_salt() -> None:
    names = {name.lower() for item in shipped_kb().evidence for name in item.drugs}
    bases = Counter(drug_base_name(name) for name in names)
    assert [base for base, count in bases.items() if count > 1] == []
    assert not any(name.endswith(" bismesylate") for name in names)


# ------------------------------------------------------------------------- the ranking


@pytest.fixture
def pik3ca_case(cast: Cast, therapy_kb: KnowledgeBase) -> Case:
    """HR-positive, HER2-negative metastatic breast cancer with PIK3CA E545K, second line."""
    case = CaseFactory.create(
        patient=cast.patient,
        oncotree_code="IDC",
        stage_group="IV",
        ecog=1,
        ecog_date=timezone.localdate() - dt.timedelta(days=5),
    )
    BiomarkerFactory.create(case=case, name="ER", status="positive")
    BiomarkerFactory.create(case=case, name="HER2", status="negative")
    VariantFactory.create(case=case, gene="PIK3CA", protein_short="p.E545K")
    TimelineEventFactory.create(
        case=case,
        kind="systemic_therapy",
        regimen="Letrozole",
        title="Letrozole",
        line_number=1,
        date=dt.date(2025, 1, 10),
    )
    fine_labs(case)
    return case


@pytest.fixture
def pik3ca_ranking(pik3ca_case: Case, cast: Cast) -> TherapyRanking:
    return services.ranking_compute(case=pik3ca_case, user=cast.oncologist)


@pytest.mark.django_db
def test_pictilisib_and_its_bismesylate_salt_are_one_option(
    pik3ca_ranking: TherapyRanking,
) -> None:
    options = [o["option"] for o in pik3ca_ranking.result["options"]]
    pictilisib = [o for o in options if any("pictilisib" in d.lower() for d in o["drugs"])]
    assert [o["label"] for o in pictilisib if len(o["drugs"]) == 1] == ["Pictilisib"]
    single = next(o for o in pictilisib if len(o["drugs"]) == 1)
    # The evidence of both spellings is on the one option.
    assert {"EID2034", "EID2984"} <= {r["item_id"] for r in single["supporting"]}
    labels = [o["label"] for o in options]
    assert len(labels) == len(set(labels))
    assert pik3ca_ranking.result["unknowns"]["drugs"].count("Pictilisib") == 1
    assert "Pictilisib Bismesylate" not in pik3ca_ranking.result["unknowns"]["drugs"]


@pytest.mark.django_db
def test_options_with_only_preclinical_or_case_evidence_rank_below_every_other(
    pik3ca_ranking: TherapyRanking,
) -> None:
    options = pik3ca_ranking.result["options"]
    flagged = {o["option"]["label"]: o["option"]["investigational"] for o in options}
    assert flagged["Alpelisib + fulvestrant"] is False
    assert flagged["Pictilisib"] is True
    assert not any(
        r["source"] == "guideline" or r["level"] in {"A", "B"}
        for o in options
        if o["option"]["investigational"]
        for r in o["option"]["supporting"]
    )
    last_main = max(o["rank"] for o in options if not o["option"]["investigational"])
    first_investigational = min(o["rank"] for o in options if o["option"]["investigational"])
    assert last_main < first_investigational
    pictilisib = next(o for o in options if o["option"]["label"] == "Pictilisib")
    assert any(line.startswith("Investigational:") for line in pictilisib["why"])


# ----------------------------------------------------------------------- the rendered section


def label(option: Element) -> str:
    return text(find(option, "strong", "option-label"))


def _section(client: Client, case: Case) -> Element:
    url = reverse("patients-case-section", args=[case.pk, "therapies"])
    response = client.get(url, headers=HTMX)
    assert response.status_code == 200
    return tree(response.content.decode())


@pytest.mark.django_db
def test_the_section_lists_investigational_options_in_a_collapsed_group_of_their_own(
    oncologist_client: Client, pik3ca_ranking: TherapyRanking
) -> None:
    root = _section(oncologist_client, pik3ca_ranking.case)
    group = find(root, "details", "investigational-group")
    assert attr(group, "open") == ""  # collapsed, and works without JavaScript
    assert find(group, "summary").name == "summary"
    inside = [
        text(find(li, "strong", "option-label")) for li in find_all(group, "li", "therapy-option")
    ]
    assert "Pictilisib" in inside
    main = find(root, "ol", "therapy-options")
    assert "investigational" not in classes(main)
    ranked = [
        text(find(li, "strong", "option-label")) for li in find_all(main, "li", "therapy-option")
    ]
    assert "Alpelisib + fulvestrant" in ranked
    assert not set(ranked) & set(inside)
    stored = pik3ca_ranking.result["options"]
    assert sorted(ranked + inside) == sorted(o["option"]["label"] for o in stored)


@pytest.mark.django_db
def test_each_citation_appears_once_per_option_with_the_full_reference_in_the_drawer(
    oncologist_client: Client, pik3ca_ranking: TherapyRanking
) -> None:
    root = _section(oncologist_client, pik3ca_ranking.case)
    stored = {o["option"]["key"]: o for o in pik3ca_ranking.result["options"]}
    options = find_all(root, "li", "therapy-option")
    assert len(options) == len(stored)
    for li in options:
        item = stored[attr(li, "data-option-key")]
        drawer = find(li, "details", "evidence-drawer")
        references = find_all(find(drawer, "ol", "references"), "li")
        listed = [text(r) for r in references]
        assert len(listed) == len(set(listed)), listed
        sources = {c["source"] for c in item["safety"]["checks"]}
        pmids = {
            p for r in item["option"]["supporting"] + item["option"]["opposing"] for p in r["pmids"]
        }
        assert sources | {f"PubMed {p}" for p in pmids} <= set(listed)
        whole = text(li)
        for source in sources:
            assert whole.count(source) == 1, (item["option"]["label"], source)
        for pmid in pmids:
            links = [a for a in find_all(li, "a") if attr(a, "href").endswith(f"/{pmid}/")]
            assert len(links) == 1, (item["option"]["label"], pmid)
        # Outside the drawer, references are short labels pointing into it.
        for cite in find_all(li, "a", "cite"):
            target = attr(cite, "href").removeprefix("#")
            assert target in {attr(r, "id") for r in references}
            assert len(text(cite)) <= 40


@pytest.mark.django_db
def test_option_bodies_cite_by_short_label_and_keep_full_references_in_the_drawer(
    oncologist_client: Client, pik3ca_ranking: TherapyRanking
) -> None:
    """Text outside the drawers: no safety source or PubMed reference in the option body."""
    root = _section(oncologist_client, pik3ca_ranking.case)
    for li in find_all(root, "li", "therapy-option"):
        body = [c for c in li.children if not (hasattr(c, "name") and c.name == "details")]
        shown = " ".join(text(c) for c in body)
        assert "CTCAE" not in shown and "USPI" not in shown, shown
        assert "PMID" not in shown


@pytest.mark.django_db
def test_the_printed_report_marks_investigational_options(
    pik3ca_ranking: TherapyRanking,
) -> None:
    from oncology_ui.reports.therapies import therapies_report_section

    lines = therapies_report_section(pik3ca_ranking.case, deidentified=True).lines
    pictilisib = next(line for line in lines if ". Pictilisib: " in line)
    assert "investigational (preclinical or case-report evidence only)" in pictilisib
    alpelisib = next(line for line in lines if ". Alpelisib + fulvestrant: " in line)
    assert "investigational" not in alpelisib
