"""Importing ClinicalTrials.gov records: the three formats, bad files, refresh by NCT id."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from oncology_ui.core.jobs import job_run
from oncology_ui.trials.imports import trial_corpus_import_file, trial_corpus_upload
from oncology_ui.trials.models import Trial, TrialCorpusImport, WorkListTransition
from tests.oncology_ui.conftest import Cast, signed_in_client
from tests.oncology_ui.trials.factories import (
    WorkListEntryFactory,
    import_trials,
    trial,
    trial_record,
)

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "trials"


def test_it_imports_an_api_v2_study_with_its_fields_and_parsed_criteria() -> None:
    record = trial_corpus_import_file(path=FIXTURES / "NCT02513394.json")
    assert record.status == TrialCorpusImport.Status.IMPORTED
    assert (record.records_read, record.created_count, record.error_count) == (1, 1, 0)
    row = Trial.objects.get(nct_id="NCT02513394")
    assert row.title and row.summary and row.conditions and row.interventions
    assert row.phase.startswith("Phase") and row.status
    assert row.min_age_years == 18.0
    assert row.locations and row.eligibility_text
    assert row.criteria_total == len(row.criteria) > 5
    assert row.source == "ctgov_api_v2"
    assert row.embedding is None  # no encoder in tests: BM25 only, and the page says so
    assert "without a vector" in record.embeddings


def test_it_imports_a_legacy_xml_record() -> None:
    record = trial_corpus_import_file(path=FIXTURES / "NCT02912559.xml")
    assert record.status == TrialCorpusImport.Status.IMPORTED
    row = Trial.objects.get(nct_id="NCT02912559")
    assert row.source == "ctgov_legacy_xml" and row.eligibility_text and row.criteria


def test_it_imports_the_shared_jsonl_and_gzip_alike(tmp_path: Path) -> None:
    data = (FIXTURES / "fixture_trials.jsonl").read_bytes()
    lines = [line for line in data.decode().splitlines() if line.strip()]
    packed = tmp_path / "trials.jsonl.gz"
    packed.write_bytes(gzip.compress(data))
    record = trial_corpus_import_file(path=packed)
    assert record.status == TrialCorpusImport.Status.IMPORTED
    assert record.records_read == len(lines) == Trial.objects.count()
    assert Trial.objects.get(nct_id="NCT00003674").eligibility_text


def test_it_lists_unreadable_records_and_imports_the_rest(tmp_path: Path) -> None:
    good = json.dumps({"nct_id": "NCT90000011", "title": "Fine", "eligibility_criteria": "Age 18"})
    path = tmp_path / "mixed.jsonl"
    path.write_text(
        "\n".join([good, "{not json", json.dumps({"title": "no id"}), json.dumps({"nct_id": 7})])
    )
    record = trial_corpus_import_file(path=path)
    assert record.status == TrialCorpusImport.Status.IMPORTED
    assert record.created_count == 1 and record.error_count == 3
    reasons = " ".join(e["reason"] for e in record.errors)
    assert "invalid JSON" in reasons and "nct" in reasons.lower()
    assert [e["ref"].split(":")[1] for e in record.errors][:1] == ["2"]


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("broken.json", b'{"protocolSection": {"identificationModule": '),
        ("empty.jsonl", b""),
        ("binary.bin", b"\x00\x01\x02PK"),
        ("notgzip.gz", b"\x1f\x8b\x08garbage"),
        ("nostudy.xml", b"<html><body>Not a trial</body></html>"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_and_the_corpus_is_unchanged(
    tmp_path: Path, name: str, content: bytes
) -> None:
    before = trial("NCT90000001")
    path = tmp_path / name
    path.write_bytes(content)
    record = trial_corpus_import_file(path=path)
    assert record.status == TrialCorpusImport.Status.FAILED
    assert "corpus is unchanged" in record.message
    after = Trial.objects.get()
    assert (after.pk, after.title, after.content_sha256) == (
        before.pk,
        before.title,
        before.content_sha256,
    )


def test_a_failure_while_writing_rolls_back_the_whole_import(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = trial("NCT90000001")
    from oncology_ui.trials import imports

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(imports.Trial.objects, "bulk_create", explode)
    with pytest.raises(RuntimeError):
        import_trials(trial_record("NCT90000001", title="Changed"), trial_record("NCT90000099"))
    assert list(Trial.objects.values_list("nct_id", "title")) == [("NCT90000001", first.title)]


def test_refresh_updates_in_place_by_nct_id_and_keeps_the_work_list(cast: Cast) -> None:
    entry = WorkListEntryFactory.create(case=cast.case)
    original = entry.trial
    record = import_trials(
        trial_record("NCT90000001", status="active_not_recruiting"), trial_record("NCT90000003")
    )
    assert (record.created_count, record.updated_count) == (1, 1)
    entry.refresh_from_db()
    assert entry.trial_id == original.pk
    assert Trial.objects.get(pk=original.pk).status == "active_not_recruiting"
    again = import_trials(trial_record("NCT90000001", status="active_not_recruiting"))
    assert (again.unchanged_count, again.updated_count) == (1, 0)


def test_a_trial_absent_from_a_refresh_is_kept(cast: Cast) -> None:
    trial("NCT90000001")
    import_trials(trial_record("NCT90000005"))
    assert set(Trial.objects.values_list("nct_id", flat=True)) == {"NCT90000001", "NCT90000005"}


def test_upload_runs_as_a_job_and_reports_on_its_page(cast: Cast) -> None:
    client = signed_in_client(cast.admin)
    data = (FIXTURES / "NCT02513394.json").read_bytes()
    response = client.post(
        reverse("trials-import"), {"file": SimpleUploadedFile("study.json", data)}
    )
    record = TrialCorpusImport.objects.get(source=TrialCorpusImport.Source.UPLOAD)
    assert response.status_code == 302
    assert response["Location"] == reverse("trials-import-detail", args=[record.pk])
    assert record.job is not None
    job_run(record.job.pk)
    page = client.get(reverse("trials-import-detail", args=[record.pk])).content.decode()
    assert "1 records read: 1 new" in page
    assert Trial.objects.filter(nct_id="NCT02513394").exists()


def test_a_bad_upload_is_refused_visibly(cast: Cast) -> None:
    record = trial_corpus_upload(upload=SimpleUploadedFile("junk.json", b"{oops"), user=cast.admin)
    assert record.job is not None
    job_run(record.job.pk)
    record.refresh_from_db()
    assert record.status == TrialCorpusImport.Status.FAILED
    client = signed_in_client(cast.admin)
    page = client.get(reverse("trials-import-detail", args=[record.pk])).content.decode()
    assert "corpus is unchanged" in page


def test_only_administrators_may_upload(cast: Cast, oncologist_client: Client) -> None:
    assert oncologist_client.get(reverse("trials-import")).status_code == 403
    client = signed_in_client(cast.coordinator)
    assert client.get(reverse("trials-import")).status_code == 403


def test_the_command_imports_files_and_fails_loudly_on_a_bad_one(tmp_path: Path) -> None:
    call_command("import_trials", str(FIXTURES / "NCT02912559.xml"), "--no-embeddings")
    assert Trial.objects.filter(nct_id="NCT02912559").exists()
    bad = tmp_path / "bad.json"
    bad.write_text("nope")
    with pytest.raises(CommandError, match="refused"):
        call_command("import_trials", str(bad))
    assert Trial.objects.count() == 1


def test_worklist_history_survives_a_refresh(cast: Cast) -> None:
    entry = WorkListEntryFactory.create(case=cast.case)
    WorkListTransition.objects.create(entry=entry, to_status="flagged")
    import_trials(trial_record("NCT90000001", title="Renamed"))
    assert WorkListTransition.objects.filter(entry=entry).count() == 1


def test_the_shipped_subset_loads_with_its_shipped_vectors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from inference.trials import corpus
    from oncology_ui.trials import imports

    few = corpus.load_shipped_trials()[:15]  # the whole subset takes a minute; 15 show the path
    monkeypatch.setattr(imports, "load_shipped_trials", lambda: few)
    record = imports.trial_corpus_load_shipped()
    assert record.source == TrialCorpusImport.Source.SHIPPED
    assert record.created_count == 15 and record.embeddings == "15 from the shipped vectors"
    row = Trial.objects.get(nct_id=few[0].nct_id)
    assert row.embedding is not None and len(bytes(row.embedding)) == 384 * 2
    again = imports.trial_corpus_load_shipped()
    assert again.unchanged_count == 15


def test_an_api_v2_page_of_studies_imports_each_and_lists_a_broken_one(tmp_path: Path) -> None:
    study = json.loads((FIXTURES / "NCT02513394.json").read_text())
    broken = {"protocolSection": {"identificationModule": {"nctId": "not-an-id"}}}
    path = tmp_path / "page.json"
    path.write_text(json.dumps({"studies": [study, broken], "nextPageToken": "x"}))
    record = trial_corpus_import_file(path=path)
    assert record.status == TrialCorpusImport.Status.IMPORTED
    assert (record.created_count, record.error_count) == (1, 1)
    assert record.errors[0]["ref"] == "page.json studies[1]"


def test_xml_with_entity_expansion_is_refused(tmp_path: Path) -> None:
    trial("NCT90000001")
    path = tmp_path / "bomb.xml"
    path.write_text(
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><clinical_study>&lol2;</clinical_study>'
    )
    record = trial_corpus_import_file(path=path)
    assert record.status == TrialCorpusImport.Status.FAILED
    assert Trial.objects.count() == 1
