from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from inference.trials.records import (
    TrialRecordError,
    parse_age_years,
    read_corpus_jsonl,
    read_trial_file,
    trial_from_api_v2,
    trial_from_legacy_xml,
)


def test_it_reads_an_api_v2_study(fixtures: Path) -> None:
    trial = read_trial_file(fixtures / "NCT02513394.json")
    assert trial.nct_id == "NCT02513394"
    assert trial.title == "PALbociclib CoLlaborative Adjuvant Study"
    assert trial.phase == "Phase 3"
    assert trial.status == "active_not_recruiting"
    assert trial.min_age_years == 18.0
    assert trial.sex == "all"
    assert len(trial.locations) == 5
    assert trial.eligibility_text.startswith("Inclusion Criteria:")
    assert trial.source == "ctgov_api_v2"


def test_it_reads_the_same_study_from_legacy_xml(fixtures: Path) -> None:
    xml = read_trial_file(fixtures / "NCT02513394.xml")
    api = read_trial_file(fixtures / "NCT02513394.json")
    assert xml.nct_id == api.nct_id
    assert xml.phase == api.phase
    assert xml.status == api.status
    assert xml.min_age_years == api.min_age_years
    assert "Age ≥18 years" in xml.eligibility_text
    assert xml.locations[0].country


def test_it_reads_an_older_legacy_xml_record(fixtures: Path) -> None:
    trial = read_trial_file(fixtures / "NCT02912559.xml")
    assert trial.nct_id == "NCT02912559"
    assert trial.conditions
    assert "Histologically proven stage III colon adenocarcinoma" in trial.eligibility_text
    assert trial.eligibility_text.endswith("5-fluorouracil, oxaliplatin, or leucovorin")


def test_it_refuses_an_xml_entity_bomb() -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><clinical_study>&lol2;</clinical_study>'
    )
    with pytest.raises(TrialRecordError, match="unsafe XML"):
        trial_from_legacy_xml(bomb, "bomb.xml")


def test_it_names_the_file_for_malformed_xml() -> None:
    with pytest.raises(TrialRecordError, match="broken.xml: malformed XML"):
        trial_from_legacy_xml("<clinical_study><id_info>", "broken.xml")


def test_it_rejects_a_study_without_an_nct_id() -> None:
    with pytest.raises(TrialRecordError, match="NCT id"):
        trial_from_api_v2({"protocolSection": {"identificationModule": {"nctId": "X1"}}}, "s.json")


def test_it_reports_bad_corpus_lines_instead_of_dropping_them(tmp_path: Path) -> None:
    path = tmp_path / "trials.jsonl.gz"
    lines = [
        json.dumps({"nct_id": "NCT00000001", "title": "A", "conditions": ["x"], "sources": ["t"]}),
        "{not json",
        json.dumps({"title": "no id"}),
        json.dumps({"nct_id": "NCT00000002", "conditions": "not a list"}),
        json.dumps({"nct_id": "NCT00000003", "min_age": "6 Months", "sex": "Female"}),
    ]
    with gzip.open(path, "wt") as handle:
        handle.write("\n".join(lines) + "\n")
    result = read_corpus_jsonl(path)
    assert [r.nct_id for r in result.records] == ["NCT00000001", "NCT00000003"]
    assert result.records[1].min_age_years == 0.5
    assert result.records[1].sex == "female"
    refs = [e.record_ref for e in result.errors]
    assert refs == ["trials.jsonl.gz:2", "trials.jsonl.gz:3", "trials.jsonl.gz:4 (NCT00000002)"]


def test_it_reads_the_fixture_corpus(fixtures: Path) -> None:
    result = read_corpus_jsonl(fixtures / "fixture_trials.jsonl")
    assert len(result.records) == 32
    assert not result.errors


@pytest.mark.parametrize(
    ("text", "years"),
    [("18 Years", 18.0), ("6 Months", 0.5), ("N/A", None), ("", None), ("65 years", 65.0)],
)
def test_it_parses_registry_ages(text: str, years: float | None) -> None:
    assert parse_age_years(text) == years
