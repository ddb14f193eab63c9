"""The clinical pages as full pages and htmx partials, uploads, roles and the IDOR sweep."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from oncology_ui.clinical.models import Biomarker, ClinicalImport, LabResult
from oncology_ui.core.jobs import job_run
from oncology_ui.core.models import AccessLog, Job
from tests.oncology_ui.clinical.conftest import lab_csv, run_import
from tests.oncology_ui.conftest import Cast, signed_in_client

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def _labs(cast: Cast) -> ClinicalImport:
    return run_import(
        cast.case,
        lab_csv(
            "2024-02-01,Creatinine,,0.8,mg/dL,,",
            "2024-03-01,Creatinine,,1.6,mg/dL,,",
            "2024-04-01,Creatinine,,1.1,mg/dL,,",
            "2024-03-01,Haemoglobin,,10.1,g/dL,,",
        ),
        "labs.csv",
    )


def test_an_oncologist_uploads_a_lab_csv_and_sees_its_status(
    cast: Cast, oncologist_client: Client
) -> None:
    upload = SimpleUploadedFile("labs.csv", lab_csv("2024-03-01,Sodium,,140,mmol/L,,"), "text/csv")
    response = oncologist_client.post(
        reverse("clinical-import", args=[cast.case.pk]), {"file": upload, "kind": ""}, headers=HTMX
    )
    assert response.status_code == 200
    record = ClinicalImport.objects.get(case=cast.case)
    assert record.kind == "lab_csv" and record.stored_name.startswith("clinical/imports/")
    assert "labs.csv" not in record.stored_name
    assert f'id="import-{record.pk}"' in response.content.decode()
    assert record.job is not None and record.job.kind == "clinical_import"
    job_run(record.job.pk)
    poll = oncologist_client.get(reverse("clinical-import-detail", args=[record.pk]), headers=HTMX)
    assert poll.status_code == 286 and "job-finished" in json.loads(poll["HX-Trigger"])
    assert "Imported" in poll.content.decode()
    # The core job page shows the job to the case's team and nobody else.
    assert (
        oncologist_client.get(reverse("core-job-status", args=[record.job.pk])).status_code == 200
    )
    assert (
        signed_in_client(cast.outsider)
        .get(reverse("core-job-status", args=[record.job.pk]))
        .status_code
        == 404
    )


def test_a_zip_sent_as_csv_is_refused_before_it_is_stored(
    cast: Cast, oncologist_client: Client
) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("labs.csv", "date,test,value,unit\n")
    upload = SimpleUploadedFile("labs.csv", archive.getvalue(), "text/csv")
    response = oncologist_client.post(
        reverse("clinical-import", args=[cast.case.pk]), {"file": upload}
    )
    assert response.status_code == 400
    assert "The file is a ZIP archive" in response.content.decode()
    assert not ClinicalImport.objects.exists()


def test_xml_declared_as_fhir_json_is_refused(cast: Cast, oncologist_client: Client) -> None:
    upload = SimpleUploadedFile(
        "bundle.json", b'<Bundle xmlns="http://hl7.org/fhir"/>', "application/json"
    )
    response = oncologist_client.post(
        reverse("clinical-import", args=[cast.case.pk]), {"file": upload, "kind": "fhir"}
    )
    assert response.status_code == 400 and "is XML" in response.content.decode()


def test_an_oversized_upload_is_refused_before_the_body_is_read(
    cast: Cast, oncologist_client: Client, settings: object
) -> None:
    settings.CLINICAL_IMPORT_MAX_BYTES = 1024  # type: ignore[attr-defined]
    upload = SimpleUploadedFile("labs.csv", b"date,test,value,unit\n" + b"x" * 200_000, "text/csv")
    response = oncologist_client.post(
        reverse("clinical-import", args=[cast.case.pk]), {"file": upload}
    )
    assert response.status_code == 413
    assert not ClinicalImport.objects.exists()


def test_a_kind_that_does_not_match_the_content_is_refused(
    cast: Cast, oncologist_client: Client
) -> None:
    upload = SimpleUploadedFile(
        "labs.vcf", lab_csv("2024-03-01,Sodium,,140,mmol/L,,"), "text/plain"
    )
    response = oncologist_client.post(
        reverse("clinical-import", args=[cast.case.pk]), {"file": upload, "kind": "vcf"}
    )
    assert response.status_code == 400
    assert "looks like Lab results (CSV)" in response.content.decode()


def test_the_labs_page_shows_flags_trend_svg_and_therapy_lines(
    cast: Cast, oncologist_client: Client
) -> None:
    import datetime as dt

    from oncology_ui.patients.services import timeline_event_create

    timeline_event_create(
        case=cast.case,
        created_by=cast.oncologist,
        kind="systemic_therapy",
        date=dt.date(2024, 2, 15),
        regimen="AC",
        line_number=1,
    )
    _labs(cast)
    response = oncologist_client.get(reverse("clinical-labs", args=[cast.case.pk]))
    content = response.content.decode()
    assert response.status_code == 200 and "<html" in content
    assert 'class="badge flag-high">High' in content
    assert "<svg" in content and 'class="ref-band"' in content and 'class="therapy-line"' in content
    assert ">L1</text>" in content
    assert "style=" not in content.split('id="section-labs"')[1]
    assert "labs.csv · line 4" in content
    partial = oncologist_client.get(reverse("clinical-labs", args=[cast.case.pk]), headers=HTMX)
    assert partial.content.decode().lstrip().startswith('<section id="section-labs"')
    one = oncologist_client.get(
        reverse("clinical-labs", args=[cast.case.pk]) + "?analyte=creatinine"
    )
    assert one.content.decode().count("<svg") == 1


def test_the_case_page_and_its_section_partials_show_imported_data(
    cast: Cast, oncologist_client: Client
) -> None:
    _labs(cast)
    run_import(cast.case, b"gene,protein_change\nBRAF,p.V600E\n", "panel.csv")
    page = "".join(
        oncologist_client.get(
            reverse("patients-case-section", args=[cast.case.pk, name])
        ).content.decode()
        for name in ("labs", "molecular")
    )
    assert "Creatinine" in page and "CIViC level A" in page
    labs = oncologist_client.get(
        reverse("patients-case-section", args=[cast.case.pk, "labs"]), headers=HTMX
    )
    assert labs.content.decode().lstrip().startswith('<section id="section-labs"')
    molecular = oncologist_client.get(
        reverse("patients-case-section", args=[cast.case.pk, "molecular"]), headers=HTMX
    ).content.decode()
    assert molecular.lstrip().startswith('<section id="section-molecular"')
    assert "p.Val600Glu" in molecular and "civicdb.org/links/evidence_items/" in molecular
    timeline = oncologist_client.get(
        reverse("patients-case-section", args=[cast.case.pk, "timeline"]), headers=HTMX
    ).content.decode()
    assert "Source: labs.csv" in timeline and "Source: panel.csv" in timeline


def test_the_molecular_page_filters(cast: Cast, oncologist_client: Client) -> None:
    run_import(cast.case, b"gene,protein_change\nBRAF,p.V600E\nTP53,p.R175H\n", "panel.csv")
    url = reverse("clinical-molecular", args=[cast.case.pk])
    full = oncologist_client.get(url).content.decode()
    assert "BRAF" in full and "TP53" in full and "<html" in full
    only = oncologist_client.get(url, {"gene": "tp53"}, headers=HTMX).content.decode()
    assert "TP53" in only and "p.V600E" not in only
    actionable = oncologist_client.get(url, {"actionable": "on"}, headers=HTMX).content.decode()
    assert "p.V600E" in actionable


def test_a_pathologist_adds_a_biomarker_and_a_coordinator_cannot(cast: Cast) -> None:
    url = reverse("clinical-biomarker-create", args=[cast.case.pk])
    pathologist = signed_in_client(cast.pathologist)
    assert pathologist.get(url).status_code == 200
    response = pathologist.post(
        url, {"name": "HER2", "method": "IHC", "value": "3+", "measured_on": "2024-03-01"}
    )
    assert response.status_code == 302
    marker = Biomarker.objects.get(case=cast.case)
    assert (marker.status, marker.entered_by) == ("positive", cast.pathologist)
    assert signed_in_client(cast.coordinator).get(url).status_code == 404
    assert (
        signed_in_client(cast.pathologist)
        .get(reverse("clinical-import", args=[cast.case.pk]))
        .status_code
        == 404
    )


def test_wrong_methods_are_refused(cast: Cast, oncologist_client: Client) -> None:
    assert (
        oncologist_client.get(reverse("clinical-fhir-export", args=[cast.case.pk])).status_code
        == 405
    )
    assert oncologist_client.post(reverse("clinical-labs", args=[cast.case.pk])).status_code == 405


def test_the_fhir_export_downloads_for_the_team(cast: Cast, oncologist_client: Client) -> None:
    response = oncologist_client.post(
        reverse("clinical-fhir-export", args=[cast.case.pk]), headers=HTMX
    )
    job = Job.objects.get(kind="clinical_fhir_export")
    assert response.status_code == 200
    job_run(job.pk)
    download = oncologist_client.get(reverse("clinical-fhir-download", args=[cast.case.pk, job.pk]))
    assert download.status_code == 200 and download["Content-Security-Policy"] == "sandbox"
    assert b'"resourceType": "Bundle"' in b"".join(download.streaming_content)  # type: ignore[attr-defined]


def test_model_inputs_are_json_safe_with_dates_and_staleness(cast: Cast) -> None:
    import json

    from oncology_ui.clinical.selectors import clinical_model_inputs

    assert clinical_model_inputs(cast.case) == {
        "labs": None,
        "molecular": None,
        "extra_clinical": {
            "lab_units": {},
            "lab_dates": {},
            "labs_stale": [],
            "stale_after_days": 90,
            "biomarkers": {},
        },
    }
    _labs(cast)
    inputs = clinical_model_inputs(cast.case)
    json.dumps(inputs, allow_nan=False)
    assert inputs["labs"]["values"]["creatinine"] == pytest.approx(1.1)  # the latest, in mg/dL
    assert inputs["extra_clinical"]["lab_units"]["creatinine"] == "mg/dL"
    assert inputs["extra_clinical"]["lab_units"]["hemoglobin"] == "g/L"
    assert inputs["extra_clinical"]["lab_dates"]["creatinine"] == "2024-04-01"
    assert "creatinine" in inputs["extra_clinical"]["labs_stale"]
    assert "egfr_ckdepi2021" in inputs["labs"]["values"]


def _my_object_urls(cast: Cast) -> dict[str, str]:
    other = run_import(cast.other_case, lab_csv("2024-03-01,Sodium,,140,mmol/L,,"), "labs.csv")
    export = Job.objects.create(
        kind="clinical_fhir_export",
        target_model="patients.case",
        target_id=cast.other_case.pk,
        status=Job.Status.SUCCEEDED,
    )
    case = cast.other_case.pk
    return {
        "clinical-import": reverse("clinical-import", args=[case]),
        "clinical-expression-import": reverse("clinical-expression-import", args=[case]),
        "clinical-import-detail": reverse("clinical-import-detail", args=[other.pk]),
        "clinical-import-report": reverse("clinical-import-report", args=[other.pk]),
        "clinical-labs": reverse("clinical-labs", args=[case]),
        "clinical-molecular": reverse("clinical-molecular", args=[case]),
        "clinical-biomarker-create": reverse("clinical-biomarker-create", args=[case]),
        "clinical-fhir-export": reverse("clinical-fhir-export", args=[case]),
        "clinical-fhir-download": reverse("clinical-fhir-download", args=[case, export.pk]),
        "core-job-status": reverse("core-job-status", args=[other.job.pk]),  # type: ignore[union-attr]
    }


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("htmx", [False, True])
def test_other_teams_objects_answer_404_with_one_denied_row(
    cast: Cast, oncologist_client: Client, method: str, htmx: bool
) -> None:
    urls = _my_object_urls(cast)
    for name, url in urls.items():
        before = AccessLog.objects.filter(action=AccessLog.Action.DENIED).count()
        response = getattr(oncologist_client, method)(url, headers=HTMX if htmx else {})
        if response.status_code == 405:
            continue
        assert response.status_code == 404, f"{name} {method} -> {response.status_code}"
        assert cast.other_patient.mrn not in response.content.decode()
        denied = AccessLog.objects.filter(action=AccessLog.Action.DENIED).count() - before
        assert denied == 1, f"{name} {method} wrote {denied} denied rows"
    assert LabResult.objects.filter(case=cast.case).count() == 0


def test_the_sweep_covers_every_clinical_url_with_an_object_id(cast: Cast) -> None:
    from django.urls import URLPattern, URLResolver, get_resolver

    clinical = next(
        entry
        for entry in get_resolver().url_patterns
        if isinstance(entry, URLResolver) and str(entry.pattern) == "clinical/"
    )
    with_ids = {
        p.name
        for p in clinical.url_patterns
        if isinstance(p, URLPattern)
        and set(p.pattern.regex.groupindex) & {"case_id", "import_id", "job_id"}
    }
    assert with_ids <= set(_my_object_urls(cast))


def test_a_fhir_bundle_over_its_own_limit_is_refused_before_parsing(
    cast: Cast, oncologist_client: Client, settings: object
) -> None:
    settings.CLINICAL_FHIR_MAX_BYTES = 1024  # type: ignore[attr-defined]
    body = b'{"resourceType": "Bundle", "type": "collection", "entry": [' + b" " * 4096 + b"]}"
    upload = SimpleUploadedFile("bundle.json", body, "application/json")
    response = oncologist_client.post(
        reverse("clinical-import", args=[cast.case.pk]), {"file": upload}
    )
    assert (
        response.status_code == 400 and "FHIR bundles are limited to" in response.content.decode()
    )
    assert not ClinicalImport.objects.exists()


@pytest.mark.parametrize(
    ("name", "body", "message"),
    [
        ("deep.json", b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "nested too deeply"),
        ("dup.json", b'{"resourceType": "Bundle", "type": "collection", "type": "batch"}', "twice"),
        (
            "huge.json",
            b'{"resourceType": "Bundle", "type": "collection", "n": 1' + b"0" * 5000 + b"}",
            "digits",
        ),
        (
            "latin1.csv",
            "date,test,value,unit\n2024-03-01,Créatinine,1,mg/dL\n".encode("latin-1"),
            "not valid UTF-8",
        ),
        (
            "bad.vcf",
            b"##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
            b"chrUn_gl000220\t5\t.\tA\tT\t.\tPASS\t.\n",
            "not a standard human chromosome",
        ),
    ],
)
def test_hostile_files_fail_with_a_readable_report_and_never_a_500(
    cast: Cast, oncologist_client: Client, name: str, body: bytes, message: str
) -> None:
    upload = SimpleUploadedFile(name, body, "application/octet-stream")
    response = oncologist_client.post(
        reverse("clinical-import", args=[cast.case.pk]), {"file": upload}
    )
    assert response.status_code == 302
    record = ClinicalImport.objects.get(case=cast.case)
    assert record.job is not None
    job_run(record.job.pk)
    page = oncologist_client.get(reverse("clinical-import-detail", args=[record.pk]))
    assert page.status_code == 200
    content = page.content.decode()
    assert "nothing was imported" in content.lower() and message in content
    assert not LabResult.objects.exists()
