"""The therapies views: rank, section, what-if, accept/reject, JSON, and who may use them."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from oncology_ui.core.models import AccessLog
from oncology_ui.patients.models import Case
from oncology_ui.therapies import services
from oncology_ui.therapies.models import KnowledgeBase, TherapyDecision, TherapyRanking
from tests.factories import CaseFactory
from tests.oncology_ui.conftest import Cast, signed_in_client
from tests.oncology_ui.therapies.factories import BiomarkerFactory, VariantFactory, fine_labs
from tests.oncology_ui.therapies.html import attr, classes, find, find_all, text, tree

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture
def breast_case(cast: Cast, therapy_kb: KnowledgeBase) -> Case:
    """ER-positive, HER2-negative early breast cancer with fresh labs: endocrine options."""
    case = cast.case
    case.stage_group = "IIA"
    case.ecog, case.ecog_date = 0, timezone.localdate() - dt.timedelta(days=5)
    case.save()
    BiomarkerFactory.create(case=case, name="ER", status="positive")
    BiomarkerFactory.create(case=case, name="HER2", status="negative")
    fine_labs(case)
    return case


@pytest.fixture
def ranking(breast_case: Case, cast: Cast) -> TherapyRanking:
    return services.ranking_compute(case=breast_case, user=cast.oncologist)


def denied_rows() -> int:
    return AccessLog.objects.filter(action=AccessLog.Action.DENIED).count()


def test_it_ranks_a_case_and_redirects_to_the_section(
    oncologist_client: Client, breast_case: Case
) -> None:
    response = oncologist_client.post(reverse("therapies-rank", args=[breast_case.pk]))
    assert response.status_code == 302 and response["Location"].endswith("#section-therapies")
    ranking = TherapyRanking.objects.get(case=breast_case)
    assert AccessLog.objects.filter(action="create", object_ref=f"ranking:{ranking.pk}").exists()
    page = oncologist_client.get(
        reverse("patients-case-section", args=[breast_case.pk, "therapies"])
    )
    content = page.content.decode()
    assert ranking.kb_version in content
    assert "Tier I-A" in content and "Why this rank" in content
    assert "https://pubmed.ncbi.nlm.nih.gov/" in content


def test_it_answers_htmx_with_the_section_partial_only(
    oncologist_client: Client, breast_case: Case
) -> None:
    response = oncologist_client.post(
        reverse("therapies-rank", args=[breast_case.pk]), headers=HTMX
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert content.strip().startswith('<section id="section-therapies"')
    assert "<html" not in content
    assert "Aromatase inhibitor (adjuvant endocrine therapy)" in content


def test_ranking_needs_post(oncologist_client: Client, breast_case: Case) -> None:
    assert (
        oncologist_client.get(reverse("therapies-rank", args=[breast_case.pk])).status_code == 405
    )


def test_without_a_knowledge_base_the_section_says_so_not_a_500(
    oncologist_client: Client, cast: Cast
) -> None:
    response = oncologist_client.post(reverse("therapies-rank", args=[cast.case.pk]), headers=HTMX)
    assert response.status_code == 200
    assert "load_therapy_kb" in response.content.decode()


def test_the_section_shows_safety_badges_evidence_drawer_and_missing_inputs(
    oncologist_client: Client, ranking: TherapyRanking
) -> None:
    url = reverse("patients-case-section", args=[ranking.case_id, "therapies"])
    content = oncologist_client.get(url, headers=HTMX).content.decode()
    assert 'class="evidence-drawer"' in content
    assert 'class="badge safety' in content
    assert "Missing or not recorded" in content
    assert "Inputs used" in content and "ER positive" in content
    assert "Guideline rule breast-hr-early-endocrine-ai" in content
    assert "safety_rules" not in content  # rule ids and sources, not file internals
    assert "Knowledge base" in content and ranking.kb_version in content


def test_a_blocked_option_shows_the_value_date_and_rule(
    oncologist_client: Client, cast: Cast, therapy_kb: KnowledgeBase
) -> None:
    case = CaseFactory.create(
        patient=cast.patient, oncotree_code="COAD", icd10_code="C18.7", stage_group="IV"
    )
    fine_labs(case, neutrophils=0.6)
    services.ranking_compute(case=case, user=cast.oncologist)
    url = reverse("patients-case-section", args=[case.pk, "therapies"])
    content = oncologist_client.get(url, headers=HTMX).content.decode()
    assert "Blocked" in content and "anc-cytotoxic" in content and "0.6 10*9/L" in content


def test_unknown_genes_are_shown_as_such(
    oncologist_client: Client, cast: Cast, therapy_kb: KnowledgeBase
) -> None:
    case = CaseFactory.create(
        patient=cast.patient, oncotree_code="LUAD", icd10_code="C34.11", stage_group="IV"
    )
    VariantFactory.create(case=case, gene="", gene_as_reported="NOTAGENE9", protein_short="p.A12T")
    services.ranking_compute(case=case, user=cast.oncologist)
    url = reverse("patients-case-section", args=[case.pk, "therapies"])
    content = oncologist_client.get(url, headers=HTMX).content.decode()
    assert "Genes not recognised as official symbols: NOTAGENE9" in content


def test_whatif_refuses_options_the_model_cannot_estimate(
    oncologist_client: Client, ranking: TherapyRanking
) -> None:
    options = ranking.result["options"]
    refused = next(o for o in options if not o["benefit"]["estimable"])
    drawn = next(o for o in options if o["benefit"]["estimable"])
    url = reverse("therapies-whatif", args=[ranking.pk])
    keys = [refused["option"]["key"], drawn["option"]["key"]]
    response = oncologist_client.get(url, {"option": keys})
    content = response.content.decode()
    assert response.status_code == 200
    assert "Not estimable from our data" in content
    assert escape(refused["benefit"]["reason"]) in content
    # One curve for the estimable option and one for its trial's control arm; none for the other.
    assert content.count("<polyline") == 2
    assert 'class="curve series-1"' not in content
    assert "no randomised trial in our data tested them" in content


def test_whatif_asks_for_two_or_three_options(
    oncologist_client: Client, ranking: TherapyRanking
) -> None:
    url = reverse("therapies-whatif", args=[ranking.pk])
    one = ranking.result["options"][0]["option"]["key"]
    content = oncologist_client.get(url, {"option": [one]}, headers=HTMX).content.decode()
    assert "Choose 2 or 3 options" in content
    assert content.strip().startswith('<section id="whatif-panel"')
    odd = oncologist_client.get(url, {"option": ["nope", one, "other"]}).content.decode()
    assert "not part of this ranking" in odd


def _whatif_page(
    client: Client, ranking: TherapyRanking, result: dict[str, Any], *, options: int
) -> str:
    """The what-if page of the first ``options`` options once ``result`` is the stored ranking."""
    TherapyRanking.objects.filter(pk=ranking.pk).update(result=result)
    keys = [o["option"]["key"] for o in result["options"][:options]]
    response = client.get(reverse("therapies-whatif", args=[ranking.pk]), {"option": keys})
    return response.content.decode()


def test_whatif_draws_stored_curves_with_their_bands(
    oncologist_client: Client, ranking: TherapyRanking
) -> None:
    """A ranking whose stored benefit has curves (as the what-if model stores them) is drawn."""
    curve = {
        "times_months": [0, 60, 120],
        "survival": [1, 0.8, 0.6],
        "lower": [1, 0.7, 0.5],
        "upper": [1, 0.9, 0.7],
    }
    result = ranking.result
    for item in result["options"][:2]:
        item["benefit"].update(
            {
                "estimable": True,
                "curve": curve,
                "overlap_supported": True,
                "propensity": 0.4,
                "survival_at": [{"years": 5, "survival": 0.8, "lower": 0.7, "upper": 0.9}],
                "control_curve": None,
                "trial": "",
            }
        )
    result["options"][2]["benefit"].update(
        {
            "estimable": True,
            "curve": curve,
            "overlap_supported": False,
            "reason": "Poor overlap: propensity 0.02.",
        }
    )
    content = _whatif_page(oncologist_client, ranking, result, options=3)
    assert content.count('class="curve series-') == 2
    assert content.count('class="band series-') == 2
    assert "Poor overlap: propensity 0.02." in content


def test_whatif_draws_the_trial_control_arm_once_and_names_the_trial_with_its_agreement(
    oncologist_client: Client, ranking: TherapyRanking
) -> None:
    def arm(start: float) -> dict[str, list[float]]:
        return {
            "times_months": [0, 12, 36, 60],
            "survival": [1, start, start - 0.1, start - 0.2],
            "lower": [1, start - 0.05, start - 0.15, start - 0.25],
            "upper": [1, start + 0.05, start - 0.05, start - 0.15],
        }

    result = ranking.result
    for item in result["options"][:2]:
        item["benefit"].update(
            {
                "estimable": True,
                "curve": arm(0.9),
                "overlap_supported": None,
                "trial": "Example adjuvant trial",
                "contrast": "Drug vs Obs",
                "agreement": "model average HR 0.76 vs 0.64 (95% CI 0.46-0.90) in 310 patients",
                "control_label": "Obs",
                "control_curve": arm(0.8),
                "difference": [0.08, 0.01, 0.15],
                "horizon_months": 60.0,
                "filled_fields": ["grade"],
            }
        )
    content = _whatif_page(oncologist_client, ranking, result, options=2)
    assert content.count('class="curve series-control"') == 1
    assert "Obs: control arm of the Example adjuvant trial" in content
    assert "checked against the Example adjuvant trial" in content
    assert "model average HR 0.76" in content and "trial's median: grade" in content


def test_an_oncologist_accepts_an_option_with_a_reason(
    oncologist_client: Client, ranking: TherapyRanking
) -> None:
    option = ranking.result["options"][0]["option"]
    response = oncologist_client.post(
        reverse("therapies-decide", args=[ranking.pk]),
        {"option": option["key"], "verdict": "accepted", "reason": "Postmenopausal, fits"},
        headers=HTMX,
    )
    assert response.status_code == 200
    decision = TherapyDecision.objects.get(ranking=ranking)
    assert (decision.verdict, decision.option_label, decision.option_rank) == (
        "accepted",
        option["label"],
        1,
    )
    assert "Postmenopausal, fits" in response.content.decode()
    assert AccessLog.objects.filter(object_ref=f"therapy-decision:{decision.pk}").exists()


def test_a_rejection_without_a_reason_is_refused_and_nothing_is_stored(
    oncologist_client: Client, ranking: TherapyRanking
) -> None:
    option = ranking.result["options"][0]["option"]
    url = reverse("therapies-decide", args=[ranking.pk])
    response = oncologist_client.post(
        url, {"option": option["key"], "verdict": "rejected", "reason": " "}, headers=HTMX
    )
    assert response.status_code == 422
    assert "was not saved" in response.content.decode()
    plain = oncologist_client.post(
        url, {"option": "not-an-option", "verdict": "rejected", "reason": "x y z"}
    )
    assert plain.status_code == 302
    assert not TherapyDecision.objects.exists()


def test_the_json_is_exactly_the_stored_ranking(
    oncologist_client: Client, ranking: TherapyRanking
) -> None:
    response = oncologist_client.get(reverse("therapies-json", args=[ranking.pk]))
    body = json.loads(response.content)
    assert body["kb_version"] == ranking.kb_version
    assert body["result"] == ranking.result
    assert response["Content-Disposition"].startswith("attachment")


def test_a_pathologist_sees_the_ranking_but_cannot_rank_or_decide(
    cast: Cast, ranking: TherapyRanking
) -> None:
    client = signed_in_client(cast.pathologist)
    assert client.get(reverse("therapies-whatif", args=[ranking.pk])).status_code == 200
    assert client.post(reverse("therapies-rank", args=[ranking.case_id])).status_code == 404
    option = ranking.result["options"][0]["option"]["key"]
    decide = client.post(
        reverse("therapies-decide", args=[ranking.pk]),
        {"option": option, "verdict": "accepted", "reason": "fine"},
    )
    assert decide.status_code == 404
    section = client.get(
        reverse("patients-case-section", args=[ranking.case_id, "therapies"]), headers=HTMX
    )
    assert (
        "Rank therapy options" not in section.content.decode()
        and "Record decision" not in section.content.decode()
    )


@pytest.mark.parametrize(
    ("name", "method", "target"),
    [
        ("therapies-rank", "post", "case"),
        ("therapies-decide", "post", "ranking"),
        ("therapies-whatif", "get", "ranking"),
        ("therapies-json", "get", "ranking"),
    ],
)
def test_another_team_gets_404_and_one_denied_audit_row(
    cast: Cast, ranking: TherapyRanking, name: str, method: str, target: str
) -> None:
    client = signed_in_client(cast.outsider)
    object_id = ranking.case_id if target == "case" else ranking.pk
    before = denied_rows()
    response = getattr(client, method)(reverse(name, args=[object_id]))
    assert response.status_code == 404
    assert denied_rows() == before + 1
    assert not TherapyDecision.objects.exists()
    assert TherapyRanking.objects.count() == 1


def test_odd_records_give_a_ranking_with_their_problems_listed_never_a_500(
    oncologist_client: Client, cast: Cast, therapy_kb: KnowledgeBase
) -> None:
    case = CaseFactory.create(patient=cast.patient, oncotree_code="BRCA", stage_group="")
    # A legacy OncoTree code the shipped release no longer has, odd variants, an odd regimen.
    Case.objects.filter(pk=case.pk).update(oncotree_code="XYZ")
    VariantFactory.create(case=case, gene="BRAF", protein_short="p.Val600Glu")
    VariantFactory.create(case=case, gene="TP53", protein_short="not a protein change")
    VariantFactory.create(case=case, kind="fusion", gene="ALK", partner_gene="", protein_short="")
    VariantFactory.create(
        case=case, kind="copy_number", gene="ERBB2", protein_short="", copy_number_level=None
    )
    from tests.factories import TimelineEventFactory

    TimelineEventFactory.create(
        case=case,
        kind="systemic_therapy",
        regimen="Mystery trial drug XR-9 + FOLFOX",
        line_number=1,
    )
    response = oncologist_client.post(reverse("therapies-rank", args=[case.pk]), headers=HTMX)
    assert response.status_code == 200
    content = response.content.decode()
    assert "“XYZ” is not an OncoTree code" in content
    assert "Mystery trial drug XR-9" in content  # regimen words not recognised
    ranking = TherapyRanking.objects.get(case=case)
    assert ranking.result["planned_line"] == 2


def test_a_stale_abnormal_lab_shows_blocked_with_age_value_threshold_and_rule(
    oncologist_client: Client, cast: Cast, therapy_kb: KnowledgeBase
) -> None:
    case = CaseFactory.create(
        patient=cast.patient, oncotree_code="COAD", icd10_code="C18.7", stage_group="IV"
    )
    BiomarkerFactory.create(case=case, name="MSI", status="high")
    fine_labs(case, days_ago=36, alt=210.0, neutrophils=0.8)
    services.ranking_compute(case=case, user=cast.oncologist)
    url = reverse("patients-case-section", args=[case.pk, "therapies"])
    root = tree(oncologist_client.get(url, headers=HTMX).content.decode())
    options = find_all(root, "li", "therapy-option")
    assert options
    for option in options:
        assert "safety-blocked" in classes(option)
        assert text(find(option, "span", "safety")) == "Blocked"
        deciding = [text(li) for li in find_all(find(option, "ul", "deciding"), "li")]
        assert any(
            line.startswith("Blocked on the last value, 36 days old: ALT 210 U/L on")
            and "repeat before treatment" in line
            and "[alt-systemic]" in line
            for line in deciding
        ), deciding
        rows = find_all(find(option, "table", "safety-checks"), "tr")
        alt = next(r for r in rows if "alt-systemic" in [text(c) for c in find_all(r, "td")])
        cells = [text(c) for c in find_all(alt, "td")]
        assert cells[0] == "blocked stale" and cells[3] == "210 U/L"
        assert cells[5] == "above 5 × ULN (40 U/L)"
        assert attr(find(alt, "a", "cite"), "href").startswith("#option-")
