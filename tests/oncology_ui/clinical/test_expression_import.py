"""Expression import: each unit through the real importer and job, hostile files, page and PDF."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import pytest
from django.conf import LazySettings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from inference.expression.reference import references
from oncology_ui.clinical import expression, services
from oncology_ui.clinical.models import ClinicalImport, ExpressionProfile
from oncology_ui.core.jobs import job_run
from oncology_ui.patients.models import Case
from oncology_ui.reports.build import case_report_data
from tests.oncology_ui.conftest import Cast

pytestmark = pytest.mark.django_db
BLCA = references().cohorts["blca"]
BRCA = references().cohorts["brca"]


def _import(case: Case, data: bytes, unit: str, scale: str) -> ClinicalImport:
    record = services.import_receive(
        case=case,
        user=None,
        upload=io.BytesIO(data),
        name="rna.csv",
        size=len(data),
        kind=ClinicalImport.Kind.EXPRESSION,
        options=expression.expression_options(case=case, unit=unit, scale=scale),
    )
    assert record.job is not None
    job_run(record.job.pk)
    record.refresh_from_db()
    return record


def _csv(rows: Sequence[tuple[str, object]], header: str = "gene,value", sep: str = ",") -> bytes:
    return (header.replace(",", sep) + "\n" + "".join(f"{g}{sep}{v}\n" for g, v in rows)).encode()


def _bladder(cast: Cast) -> Case:
    cast.case.oncotree_code = "BLCA"
    cast.case.save(update_fields=["oncotree_code"])
    return cast.case


def _problems(record: ClinicalImport) -> str:
    assert record.status == ClinicalImport.Status.FAILED
    assert not ExpressionProfile.objects.filter(source_import=record).exists()
    return " ".join(p["message"] for p in record.problems)


def test_tcga_z_scores_of_a_breast_case_become_its_profile(cast: Cast) -> None:
    genes = sorted(BRCA.zscore_genes)
    rows: list[tuple[str, object]] = [(g, 1.0) for g in genes]
    rows.append(("NOTAGENE1", 0.5))
    rows[0] = (genes[0], 250.0)  # a TCGA-table tail: clipped like the reference
    record = _import(cast.case, _csv(rows, sep="\t"), "zscore", "tcga")
    assert record.status == ClinicalImport.Status.IMPORTED, record.problems
    profile = record.expression_profile
    assert (profile.cohort, profile.basis, profile.reference_label) == (
        "brca",
        "zscore",
        "TCGA-BRCA",
    )
    assert profile.genes_matched == len(genes) and profile.genes_unmatched == 1
    assert profile.values[genes[0]] == 10.0 and profile.clipped == 1
    measured = expression.measured_hallmarks(cast.case)
    assert measured is not None and measured.profile.source == "measured"
    hypoxia = next(s for s in measured.profile.gene_sets if s.key == "HALLMARK_HYPOXIA")
    assert hypoxia.score == pytest.approx(1.0) and hypoxia.percentile is not None
    assert hypoxia.percentile > 95  # every member one SD up is far above the cohort's middle
    assert record.outcome_summary.startswith("expression: 1 new")


def test_tpm_of_a_bladder_case_is_z_against_the_tcga_tpm_reference(cast: Cast) -> None:
    case = _bladder(cast)
    assert BLCA.log2tpm is not None
    ref = BLCA.log2tpm
    genes = sorted(ref.mean)[:300]
    # One SD above the reference mean, in TPM: z must come back as 1.
    rows = [(g, 2.0 ** (ref.mean[g] + ref.sd[g]) - 0.001) for g in genes]
    record = _import(case, _csv(rows), "tpm", "linear")
    assert record.status == ClinicalImport.Status.IMPORTED, record.problems
    values = record.expression_profile.values
    assert all(math.isclose(values[g], 1.0, abs_tol=1e-3) for g in genes)
    logged = [(g, math.log2(2.0 ** (ref.mean[g] + ref.sd[g]) - 0.001 + 1)) for g in genes]
    again = _import(case, _csv(logged), "tpm", "log2p1")
    assert again.status == ClinicalImport.Status.IMPORTED, again.problems
    assert all(math.isclose(again.expression_profile.values[g], 1.0, abs_tol=1e-3) for g in genes)


def _transcriptome(ref_genes: list[str], value: float) -> list[tuple[str, float]]:
    """The reference genes at ``value``, filler genes too, and one highly expressed gene."""
    filler = [(f"LOC{100000 + i}", value) for i in range(10_000)]
    return [(g, value) for g in ref_genes] + filler + [("LOC99", 5000.0)]


def test_fpkm_and_counts_of_a_whole_transcriptome_are_rescaled(cast: Cast) -> None:
    case = _bladder(cast)
    assert BLCA.log2tpm is not None
    genes = sorted(BLCA.log2tpm.mean)
    rows = _transcriptome(genes, 7.0)
    fpkm = _import(case, _csv(rows), "fpkm", "linear")
    assert fpkm.status == ClinicalImport.Status.IMPORTED, fpkm.problems
    # FPKM are rescaled to sum to a million.
    tpm = 7.0 * 1e6 / (7.0 * (len(rows) - 1) + 5000.0)
    gene = genes[0]
    expected = (math.log2(tpm + 0.001) - BLCA.log2tpm.mean[gene]) / BLCA.log2tpm.sd[gene]
    assert fpkm.expression_profile.values[gene] == pytest.approx(
        max(-10, min(10, expected)), abs=1e-3
    )
    counts = _import(case, _csv(rows), "counts", "linear")
    assert counts.status == ClinicalImport.Status.IMPORTED, counts.problems
    assert counts.expression_profile.approximate
    assert any("approximate" in w["message"] for w in counts.warnings)


def test_a_small_panel_is_accepted_and_unranked_sets_say_why(cast: Cast) -> None:
    pam50 = ["ESR1", "PGR", "ERBB2", "MKI67", "FOXA1", "KRT5", "KRT14", "KRT17", "EGFR", "MYC"]
    record = _import(cast.case, _csv([(g, 0.3) for g in pam50]), "zscore", "tcga")
    assert record.status == ClinicalImport.Status.IMPORTED, record.problems
    measured = expression.measured_hallmarks(cast.case)
    assert measured is not None
    assert all(s.percentile is None for s in measured.profile.gene_sets)
    assert any("too few" in s.note for s in measured.profile.gene_sets)


def test_fpkm_of_a_small_panel_is_refused_with_what_to_upload(cast: Cast) -> None:
    case = _bladder(cast)
    record = _import(case, _csv([("ESR1", 3.0), ("PGR", 4.0)]), "fpkm", "linear")
    message = _problems(record)
    assert "whole transcriptome" in message and "Upload TPM" in message


def test_tpm_for_a_type_without_tpm_reference_is_refused_before_storing(cast: Cast) -> None:
    with pytest.raises(ValidationError, match="Upload z-scores against the TCGA-BRCA cohort"):
        expression.expression_options(case=cast.case, unit="tpm", scale="linear")


def test_a_case_without_a_reference_cohort_is_refused(cast: Cast) -> None:
    cast.case.oncotree_code = "UEC"
    with pytest.raises(ValidationError, match="no TCGA expression reference cohort ships"):
        expression.expression_options(case=cast.case, unit="zscore", scale="tcga")


@pytest.mark.parametrize(
    ("data", "unit", "scale", "expected"),
    [
        (_csv([("ENSG00000091831.20", 3), ("ENSG00000082175", 2)]), "zscore", "tcga", "Ensembl"),
        (_csv([("FOO_BAR", 1.0), ("QQQ123", 2.0)]), "zscore", "tcga", "none of the identifiers"),
        (_csv([("ESR1", 1.0), ("ERBB2", 2.0), ("HER2", 2.5)]), "zscore", "tcga", "the same gene"),
        (_csv([("ESR1", 1.0), ("ESR1", 2.0)]), "zscore", "tcga", "already on line 2"),
        (_csv([("ESR1", "high")]), "zscore", "tcga", "is not a number"),
        (_csv([("ESR1", "inf")]), "zscore", "tcga", "not a finite number"),
        (_csv([(f"G{i}", 100 + i) for i in range(30)]), "zscore", "tcga", "look like TPM"),
        (b"gene,value\n", "zscore", "tcga", "no genes"),
        (b"gene,value\nESR1,\xe9\n", "zscore", "tcga", "not valid UTF-8"),
        (("sample," + ",".join(f"G{i}" for i in range(60_000)) + "\n").encode(), "zscore", "tcga",
         "one gene per row"),
        (b"a,b,c\nESR1,1,2\n", "zscore", "tcga", "one gene per row"),
    ],
    ids=["ensembl", "wrong-ids", "synonym-duplicate", "duplicate", "text", "inf", "wrong-unit",
         "header-only", "latin-1", "60k-columns", "three-columns"],
)  # fmt: skip
def test_hostile_z_score_files_fail_whole_with_a_readable_report(
    cast: Cast, data: bytes, unit: str, scale: str, expected: str
) -> None:
    assert expected in _problems(_import(cast.case, data, unit, scale))


@pytest.mark.parametrize(
    ("rows", "unit", "scale", "expected"),
    [
        ([("TP53", -4.0), ("KRT5", 3.0)], "tpm", "linear", "is negative"),
        ([(g, 5.0 + i % 7) for i, g in enumerate(sorted(BLCA.zscore_genes)[:200])], "tpm",
         "linear", "look log-transformed"),
        ([(g, 500.0 + i) for i, g in enumerate(sorted(BLCA.zscore_genes)[:50])], "tpm",
         "log2p1", "too high for a log2 scale"),
    ],
    ids=["negative-tpm", "logged-as-linear", "linear-as-log"],
)  # fmt: skip
def test_hostile_tpm_files_fail_whole(
    cast: Cast, rows: list[tuple[str, object]], unit: str, scale: str, expected: str
) -> None:
    assert expected in _problems(_import(_bladder(cast), _csv(rows), unit, scale))


@pytest.mark.parametrize(
    ("content", "unit", "scale", "max_bytes", "status", "message"),
    [
        (b"", "zscore", "tcga", None, 400, ""),
        (b"gene,value\n" + b"ESR1,1\n" * 50_000, "zscore", "tcga", 1024, 413, ""),
        (
            _csv([("ESR1", 3.0)]),
            "tpm",
            "linear",
            None,
            400,
            "Upload z-scores against the TCGA-BRCA cohort",
        ),
    ],
    ids=["empty", "oversized-before-the-body-is-read", "unit-without-reference"],
)
def test_a_refused_expression_upload_stores_nothing(
    cast: Cast,
    oncologist_client: Client,
    settings: LazySettings,
    content: bytes,
    unit: str,
    scale: str,
    max_bytes: int | None,
    status: int,
    message: str,
) -> None:
    if max_bytes is not None:
        settings.CLINICAL_IMPORT_MAX_BYTES = max_bytes
    response = oncologist_client.post(
        reverse("clinical-expression-import", args=[cast.case.pk]),
        {"file": SimpleUploadedFile("rna.csv", content, "text/csv"), "unit": unit, "scale": scale},
    )
    assert response.status_code == status
    assert message in response.content.decode()
    assert not ClinicalImport.objects.exists()


def test_the_molecular_section_and_pdf_show_the_profile_or_say_none_was_measured(
    cast: Cast, oncologist_client: Client
) -> None:
    url = reverse("clinical-molecular", args=[cast.case.pk])
    page = oncologist_client.get(url).content.decode()
    assert "No expression profile measured; hallmark programmes cannot be scored." in page
    report = case_report_data(cast.case)
    assert report.hallmarks.source == "" and "No expression profile measured" in (
        report.hallmarks.unavailable
    )
    upload = SimpleUploadedFile(
        "rna.tsv", _csv([(g, 0.5) for g in sorted(BRCA.zscore_genes)], sep="\t"), "text/tsv"
    )
    response = oncologist_client.post(
        reverse("clinical-expression-import", args=[cast.case.pk]),
        {"file": upload, "unit": "zscore", "scale": "tcga"},
    )
    assert response.status_code == 302
    record = ClinicalImport.objects.get(case=cast.case, kind="expression")
    assert record.job is not None
    job_run(record.job.pk)
    page = oncologist_client.get(url).content.decode()
    assert "Research use only" in page and "TCGA-BRCA" in page and "measured" in page
    assert "Enabling replicative immortality" in page and "no fitting set: not scored" in page
    report = case_report_data(cast.case)
    assert report.hallmarks.source == "measured"
    assert any("TCGA-BRCA" in line for line in report.hallmarks.lines)
    assert len(report.hallmarks.capabilities) == 14
    assert any("rna.tsv" in line for line in report.hallmarks.lines)
    # The file name may name the patient: the de-identified report leaves it out.
    hidden = case_report_data(cast.case, deidentified=True).hallmarks
    assert hidden.source == "measured" and not any("rna.tsv" in line for line in hidden.lines)
    detail = oncologist_client.get(reverse("clinical-import-detail", args=[record.pk]))
    assert "matched in the TCGA-BRCA reference" in detail.content.decode()


def test_an_outsider_cannot_import_expression(cast: Cast) -> None:
    from tests.oncology_ui.conftest import signed_in_client

    client = signed_in_client(cast.outsider)
    response = client.get(reverse("clinical-expression-import", args=[cast.case.pk]))
    assert response.status_code == 404


def test_an_htmx_upload_answers_with_the_status_partial_and_put_is_refused(
    cast: Cast, oncologist_client: Client
) -> None:
    url = reverse("clinical-expression-import", args=[cast.case.pk])
    upload = SimpleUploadedFile("rna.csv", _csv([("ESR1", 0.4), ("ERBB2", 1.2)]), "text/csv")
    response = oncologist_client.post(
        url, {"file": upload, "unit": "zscore", "scale": "tcga"}, headers={"HX-Request": "true"}
    )
    record = ClinicalImport.objects.get(case=cast.case, kind="expression")
    assert response.status_code == 200 and f'id="import-{record.pk}"' in response.content.decode()
    assert record.options == {"unit": "zscore", "scale": "tcga", "cohort": "brca"}
    assert oncologist_client.put(url).status_code == 405


def test_more_rows_than_the_limit_fail_whole(cast: Cast, settings: object) -> None:
    settings.CLINICAL_IMPORT_MAX_ROWS = 5  # type: ignore[attr-defined]
    rows = [(g, 0.1) for g in sorted(BRCA.zscore_genes)[:6]]
    assert "more genes than a genome has" in _problems(
        _import(cast.case, _csv(rows), "zscore", "tcga")
    )
