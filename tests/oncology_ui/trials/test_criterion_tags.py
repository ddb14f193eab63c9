"""Criteria-tagger facets on the trial page and the case's match checklist (display only)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from inference.runtime import CheckpointError
from inference.trials.tagging import WEIGHTS_SHA256, CriteriaTagger, default_tagger
from oncology_ui.core.jobs import job_run
from oncology_ui.trials import criterion_tags
from oncology_ui.trials.criterion_tags import text_key
from oncology_ui.trials.models import Trial, TrialMatchResult
from tests.oncology_ui.conftest import Cast
from tests.oncology_ui.trials.factories import fit_breast_case, import_trials, trial, trial_record

pytestmark = pytest.mark.django_db


def _detail(client: Client) -> str:
    response = client.get(reverse("trials-detail", args=["NCT90000001"]))
    assert response.status_code == 200
    return response.content.decode()


def _count_tag_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the tagger's batches while it keeps running for real."""
    calls: list[int] = []
    original = CriteriaTagger.tag

    def counted(self: CriteriaTagger, texts: Any, batch: int = 32) -> Any:
        calls.append(len(texts))
        return original(self, texts, batch)

    monkeypatch.setattr(CriteriaTagger, "tag", counted)
    return calls


def test_the_trial_page_shows_typed_facets_with_model_version_and_validation(
    cast: Cast, coordinator_client: Client
) -> None:
    trial()
    page = _detail(coordinator_client)
    assert 'class="facet facet-observation"' in page  # "Absolute neutrophil count"
    assert re.search(r'facet-observation"[^>]*>lab / measurement: [^<]*neutrophil count', page)
    assert 'class="facet facet-negation"' in page  # "No known EGFR mutation"
    assert "criteria-tagger/1" in page and WEIGHTS_SHA256[:12] in page
    assert "Research use" in page and "not used by any verdict" in page
    f1 = default_tagger().metadata["test_macro_f1"]
    assert f"macro-F1 {f1:.2f}" in page
    # The criterion text itself is still shown whole.
    assert "Total bilirubin &lt;= 1.5 x upper limit of normal (ULN)" in page


def test_the_trial_is_tagged_once_and_the_tags_are_stored(
    cast: Cast, coordinator_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    row = trial()
    calls = _count_tag_calls(monkeypatch)
    _detail(coordinator_client)
    assert calls == [row.criteria_total]
    row.refresh_from_db()
    assert row.criteria_tags["tagger"].startswith("criteria-tagger/1:")
    stored = row.criteria_tags["criteria"]
    assert set(stored) == {text_key(c["text"]) for c in row.criteria}
    _detail(coordinator_client)
    assert calls == [row.criteria_total]  # the second view reads the stored tags


def test_a_reimported_trial_tags_only_its_new_criteria(
    cast: Cast, coordinator_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    trial()
    _detail(coordinator_client)
    text = trial_record().eligibility_text + "- Platelets >= 100,000/uL\n"
    import_trials(trial_record(eligibility_text=text))
    calls = _count_tag_calls(monkeypatch)
    _detail(coordinator_client)
    assert calls == [1]


def test_the_page_shows_the_criteria_untagged_when_the_tagger_cannot_load(
    cast: Cast, coordinator_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    trial()

    def refuse() -> CriteriaTagger:
        raise CheckpointError("checkpoint criteria_tagger.pt has sha256 0, expected 1; refusing it")

    monkeypatch.setattr(criterion_tags, "default_tagger", refuse)
    page = _detail(coordinator_client)
    assert "Criteria shown untagged" in page and "refusing it" in page
    assert "No known EGFR mutation" in page and 'class="facet ' not in page
    assert Trial.objects.get().criteria_tags == {}


def _match(cast: Cast, client: Client, *, first: bool = True) -> TrialMatchResult:
    if first:
        import_trials(trial_record())
        fit_breast_case(cast.case)
    assert client.post(reverse("trials-match", args=[cast.case.pk])).status_code == 302
    result = TrialMatchResult.objects.filter(case=cast.case).first()
    assert result is not None and result.job is not None
    job_run(result.job.pk)
    result.refresh_from_db()
    return result


def test_the_match_job_tags_free_text_criteria_and_the_checklist_shows_them(
    cast: Cast, oncologist_client: Client
) -> None:
    result = _match(cast, oncologist_client)
    assert result.matches
    match = result.matches[0]
    assert match["criteria_tagger"]["version"] == "criteria-tagger/1"
    free_text = [v for v in match["verdicts"] if v["kind"] == "text"]
    assert free_text and all(isinstance(v["tags"], list) for v in free_text)
    assert all("tags" not in v for v in match["verdicts"] if v["kind"] != "text")
    page = oncologist_client.get(
        reverse("patients-case-section", args=[cast.case.pk, "trials"])
    ).content.decode()
    # One row per tagged free-text criterion, none for the structured ones.
    assert page.count('class="facets-row"') == len(free_text) == 1
    assert "LCT test F1" in page and "not used in the verdict" in page


def test_the_tagger_leaves_every_verdict_unchanged(
    cast: Cast, oncologist_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    tagged = _match(cast, oncologist_client).matches

    def refuse() -> CriteriaTagger:
        raise CheckpointError("turned off for this test")

    monkeypatch.setattr(criterion_tags, "default_tagger", refuse)
    untagged = _match(cast, oncologist_client, first=False).matches
    assert tagged is not None and untagged is not None

    def without_tags(matches: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {
                **{k: v for k, v in m.items() if k != "criteria_tagger"},
                "verdicts": [{k: x for k, x in v.items() if k != "tags"} for v in m["verdicts"]],
            }
            for m in matches
        ]

    assert without_tags(tagged) == without_tags(untagged)
    assert all("criteria_tagger" not in m for m in untagged)


def test_the_match_job_tags_only_the_first_matches_it_lists(
    cast: Cast, oncologist_client: Client
) -> None:
    result = _match(cast, oncologist_client)
    assert result.matches is not None
    matches = [
        {**m, "verdicts": [{k: x for k, x in v.items() if k != "tags"} for v in m["verdicts"]]}
        for m in result.matches
    ]
    trials = Trial.objects.in_bulk([m["nct_id"] for m in matches], field_name="nct_id")
    criterion_tags.tag_match_verdicts(matches, trials, limit=0)
    assert all("tags" not in v for m in matches for v in m["verdicts"])
