"""Loading the knowledge base: versioned, all or nothing, the broken line named."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from inference.therapy.kbfiles import KbFileError
from oncology_ui.therapies import KB_DIR
from oncology_ui.therapies.kb import kb_active, kb_active_version, kb_content, kb_load
from oncology_ui.therapies.models import KbEntry, KnowledgeBase

pytestmark = pytest.mark.django_db


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "kb"
    shutil.copytree(KB_DIR, folder)
    return folder


def _replace_line(path: Path, needle: str, new: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    number = next(i for i, line in enumerate(lines) if needle in line)
    lines[number] = lines[number].replace(needle, new)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return number + 1


def test_the_shipped_files_load_into_versioned_tables(therapy_kb: KnowledgeBase) -> None:
    assert therapy_kb.is_active
    assert therapy_kb.counts["civic_items"] > 2000 and therapy_kb.counts["oncoref_rows"] > 200
    assert therapy_kb.counts["standard_rules"] >= 25 and therapy_kb.counts["safety_rules"] >= 20
    assert KbEntry.objects.filter(kb=therapy_kb, kind="evidence", gene="EGFR").exists()
    # date + content hash
    assert therapy_kb.version.endswith("+" + therapy_kb.content_sha256[:12])
    assert kb_active_version() == therapy_kb.version
    content = kb_content(therapy_kb)
    assert content.drug("Tagrisso").name == "osimertinib"  # type: ignore[union-attr]


def test_loading_the_same_content_again_adds_no_version(therapy_kb: KnowledgeBase) -> None:
    report = kb_load()
    assert not report.created and report.kb.pk == therapy_kb.pk
    assert KnowledgeBase.objects.count() == 1


def test_a_changed_file_becomes_a_new_active_version(
    therapy_kb: KnowledgeBase, kb_copy: Path
) -> None:
    _replace_line(kb_copy / "safety_rules.yaml", 'version: "2026.11.1"', 'version: "2026.11.2"')
    report = kb_load(folder=kb_copy)
    assert report.created and report.kb.is_active
    therapy_kb.refresh_from_db()
    assert not therapy_kb.is_active
    assert report.kb.file_versions["safety_rules.yaml"] == "2026.11.2"


def test_a_broken_yaml_rule_is_refused_whole_with_its_line(
    therapy_kb: KnowledgeBase, kb_copy: Path
) -> None:
    line = _replace_line(
        kb_copy / "standard_of_care.yaml", "drugs: [osimertinib]", "drugs: [osimertinibb]"
    )
    with pytest.raises(KbFileError) as caught:
        kb_load(folder=kb_copy)
    assert caught.value.file == "standard_of_care.yaml"
    assert caught.value.line == line
    assert "osimertinibb" in caught.value.message
    assert kb_active() == therapy_kb
    assert KnowledgeBase.objects.count() == 1


def test_invalid_yaml_syntax_names_the_line(therapy_kb: KnowledgeBase, kb_copy: Path) -> None:
    line = _replace_line(kb_copy / "safety_rules.yaml", "verdict: caution", "verdict: [caution")
    with pytest.raises(KbFileError) as caught:
        kb_load(folder=kb_copy)
    assert caught.value.file == "safety_rules.yaml"
    assert line <= caught.value.line <= line + 2


def test_a_disease_mapped_to_a_code_that_is_not_oncotree_is_refused(
    therapy_kb: KnowledgeBase, kb_copy: Path
) -> None:
    line = _replace_line(kb_copy / "diseases.tsv", "Skin Melanoma\tSKCM", "Skin Melanoma\tSKCMX")
    with pytest.raises(
        KbFileError, match=rf"diseases.tsv, line {line}: “SKCMX” is not an OncoTree"
    ):
        kb_load(folder=kb_copy)


def test_a_truncated_evidence_row_in_the_gzip_extract_is_refused(
    therapy_kb: KnowledgeBase, kb_copy: Path
) -> None:
    path = kb_copy / "civic_evidence.tsv.gz"
    lines = gzip.decompress(path.read_bytes()).decode().splitlines()
    lines[41] = "\t".join(lines[41].split("\t")[:5])
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    with pytest.raises(KbFileError, match=r"civic_evidence.tsv.gz, line 42: 5 fields"):
        kb_load(folder=kb_copy)
    assert kb_active() == therapy_kb


def test_a_safety_rule_without_a_source_is_refused(
    therapy_kb: KnowledgeBase, kb_copy: Path
) -> None:
    text = (kb_copy / "safety_rules.yaml").read_text(encoding="utf-8")
    start = text.index("  - id: crcl-pemetrexed")
    end = text.index("  - id: bilirubin-docetaxel")
    block = "\n".join(line for line in text[start:end].splitlines() if "source:" not in line)
    (kb_copy / "safety_rules.yaml").write_text(
        text[:start] + block + "\n" + text[end:], encoding="utf-8"
    )
    with pytest.raises(KbFileError, match="“source” is missing"):
        kb_load(folder=kb_copy)


def test_the_command_refuses_a_broken_file_and_keeps_the_previous_version(
    therapy_kb: KnowledgeBase, kb_copy: Path
) -> None:
    _replace_line(kb_copy / "drugs.yaml", "{name: letrozole,", "{name: letrozole, dose: 2.5,")
    with pytest.raises(CommandError) as caught:
        call_command("load_therapy_kb", folder=kb_copy)
    message = str(caught.value)
    assert "drugs.yaml, line" in message and "unknown field(s): dose" in message
    assert f"version {therapy_kb.version} stays active" in message


def test_the_command_runs_on_a_fresh_database(capsys: pytest.CaptureFixture[str]) -> None:
    assert kb_active() is None
    call_command("load_therapy_kb")
    out = capsys.readouterr().out
    assert "Therapy knowledge base" in out and "loaded" in out
    assert kb_active() is not None
