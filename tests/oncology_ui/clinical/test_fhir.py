"""FHIR R4 mCODE bundles: complete import, hostile JSON, references, and export back to FHIR."""

from __future__ import annotations

import json
from typing import Any

import pytest

from oncology_ui.clinical.exports import case_bundle, export_path
from oncology_ui.clinical.models import (
    Biomarker,
    ClinicalFact,
    ClinicalImport,
    LabResult,
    TimelineSource,
    Variant,
)
from oncology_ui.clinical.parsers import ImportRejected, Limits
from oncology_ui.clinical.parsers.fhir import parse_bundle
from oncology_ui.clinical.parsers.labs import PatientContext
from oncology_ui.clinical.selectors import clinical_model_inputs
from oncology_ui.core.models import Job
from oncology_ui.patients.models import Case, TimelineEvent
from tests.oncology_ui.clinical.conftest import FIXTURES, run_import

pytestmark = pytest.mark.django_db
CONTEXT = PatientContext(sex="female")


def _problems(data: bytes) -> list[str]:
    with pytest.raises(ImportRejected) as caught:
        parse_bundle(data, limits=Limits(), context=CONTEXT)
    return [f"{p.where}: {p.message}" for p in caught.value.problems]


def _bundle(*resources: dict, kind: str = "collection") -> bytes:
    return json.dumps(
        {
            "resourceType": "Bundle",
            "type": kind,
            "entry": [
                {"fullUrl": f"urn:uuid:{r.get('id', i)}", "resource": r}
                for i, r in enumerate(resources)
            ],
        }
    ).encode()


PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1966-08-03"}


def _of_patient(kind: str, ident: str, **fields: Any) -> dict[str, Any]:
    """A resource about PATIENT (its subject can be overridden)."""
    return {"resourceType": kind, "id": ident, "subject": {"reference": "urn:uuid:p1"}, **fields}


def _loinc(code: str) -> dict[str, Any]:
    return {"coding": [{"system": "http://loinc.org", "code": code}]}


def _observation(ident: str, loinc: str, **fields: Any) -> dict[str, Any]:
    return _of_patient("Observation", ident, status="final", code=_loinc(loinc), **fields)


def _medication_by_reference(kind: str, ident: str, reference: str) -> dict[str, Any]:
    """A MedicationStatement or MedicationAdministration naming its drug by reference."""
    return _of_patient(
        kind,
        ident,
        status="completed",
        medicationReference={"reference": reference},
        effectiveDateTime="2020-01-01",
    )


def _gene_studied(code: str, **coding: str) -> dict[str, Any]:
    """A "gene studied" component naming the gene by its HGNC id."""
    gene = {"system": "http://www.genenames.org/geneId", "code": code, **coding}
    return {"code": _loinc("48018-6"), "valueCodeableConcept": {"coding": [gene]}}


def test_the_transaction_bundle_imports_completely(fhir_case: Case) -> None:
    record = run_import(
        fhir_case, (FIXTURES / "patient_data.json").read_bytes(), "patient_data.json"
    )
    assert record.status == ClinicalImport.Status.IMPORTED, record.problems
    kinds = sorted(ClinicalFact.objects.filter(case=fhir_case).values_list("kind", flat=True))
    assert kinds == sorted(
        [
            "primary_cancer",
            "secondary_cancer",
            "stage_group",
            "stage_group",
            "medication",
            "medication",
            "medication",
            "surgery",
            "surgery",
            "surgery",
            "radiotherapy",
            "radiotherapy",
            "radiotherapy",
            "karnofsky",
            "ecog",
        ]
    )
    primary = ClinicalFact.objects.get(case=fhir_case, kind="primary_cancer")
    assert primary.detail["histology"] == "Malignant Neoplasm (Morphology)"
    assert primary.source_ref == "Condition/4dee068c-5ffe-4977-8677-4ff9b518e763"
    stages = ClinicalFact.objects.filter(case=fhir_case, kind="stage_group")
    assert {(s.detail["type"], s.value_text) for s in stages} == {
        ("clinical", "IIIA"),
        ("pathological", "IIIA"),
    }
    markers = {(b.name, b.method, b.status) for b in Biomarker.objects.filter(case=fhir_case)}
    assert markers == {
        ("HER2", "IHC", "positive"),
        ("HER2", "ISH", "positive"),
        ("ER", "IHC", "positive"),
    }
    variant = Variant.objects.get(case=fhir_case)
    assert (variant.gene, variant.chromosome, variant.position) == ("STK11", "chr19", 1171707)
    # The three paclitaxel statements are one line of therapy on the timeline.
    line = TimelineEvent.objects.get(case=fhir_case, kind=TimelineEvent.Kind.SYSTEMIC_THERAPY)
    assert (line.regimen, line.line_number, str(line.date), str(line.end_date)) == (
        "Paclitaxel",
        1,
        "2017-07-28",
        "2017-09-08",
    )
    assert "Source: patient_data.json · MedicationStatement/6556b6b3" in line.detail
    radiotherapy = TimelineEvent.objects.filter(case=fhir_case, kind="radiotherapy")
    assert radiotherapy.count() == 3
    assert all(TimelineSource.objects.filter(event=e).exists() for e in radiotherapy)
    assert any("appears more than once" in w["message"] for w in record.warnings)
    assert any("FHIR allows one value" in w["message"] for w in record.warnings)


def test_the_collection_bundle_imports_completely(db: None) -> None:
    import datetime as dt

    from tests.factories import CaseFactory, PatientFactory

    patient = PatientFactory.create(birth_date=dt.date(1987, 1, 1))
    case = CaseFactory.create(patient=patient, diagnosis_date=dt.date(2018, 3, 1))
    record = run_import(case, (FIXTURES / "eom_patient_1.json").read_bytes(), "eom.json")
    assert record.status == ClinicalImport.Status.IMPORTED, record.problems
    tnm = ClinicalFact.objects.filter(case=case, kind="tnm_category").order_by("value_text")
    assert [t.value_text for t in tnm] == ["cM0", "cN3", "cT3"]
    line = TimelineEvent.objects.get(case=case, kind="systemic_therapy")
    assert line.regimen == "Abemaciclib + Alpelisib"
    response = TimelineEvent.objects.get(case=case, kind="response")
    assert response.response == "PR"
    assert Biomarker.objects.filter(case=case).count() == 6
    inputs = clinical_model_inputs(case)
    assert inputs["extra_clinical"]["ecog"] == 3
    assert inputs["extra_clinical"]["stage_group"] == "IV"


def test_objects_where_lists_belong_are_read_with_a_note() -> None:
    document = json.loads((FIXTURES / "patient_data.json").read_text())
    for index in (7, 11):  # the bundle carries this variant twice; change both copies
        variant = document["entry"][index]["resource"]
        variant["interpretation"] = variant["interpretation"][0]
    contents, log = parse_bundle(json.dumps(document).encode(), limits=Limits(), context=CONTEXT)
    assert len(contents.variants) == 1
    assert any("interpretation should be a list" in w.message for w in log.warnings)


def test_reimporting_a_bundle_duplicates_nothing(fhir_case: Case) -> None:
    data = (FIXTURES / "patient_data.json").read_bytes()
    run_import(fhir_case, data, "a.json")
    counts = (
        ClinicalFact.objects.count(),
        TimelineEvent.objects.count(),
        Biomarker.objects.count(),
    )
    again = run_import(fhir_case, data, "b.json")
    assert again.status == ClinicalImport.Status.IMPORTED
    assert again.summary["facts"] == {"new": 0, "already_present": 15}
    assert (
        ClinicalFact.objects.count(),
        TimelineEvent.objects.count(),
        Biomarker.objects.count(),
    ) == counts


def test_a_bundle_for_another_patient_is_refused(cast: object) -> None:
    case = cast.case  # type: ignore[attr-defined]
    record = run_import(case, (FIXTURES / "patient_data.json").read_bytes(), "other.json")
    assert record.status == ClinicalImport.Status.FAILED
    assert record.problems[0]["where"] == "Patient/1e208b6b-77f1-4808-a32b-9f9caf1ec334"
    assert (
        not ClinicalFact.objects.exists()
        and not TimelineEvent.objects.filter(source__isnull=False).exists()
    )


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'<?xml version="1.0"?><Bundle xmlns="http://hl7.org/fhir"/>', "file: is XML"),
        (b'{"resourceType": "Patient", "id": "x"}', "file: resourceType is “Patient”"),
        (b'{"resourceType": "Bundle", "type": "history", "entry": []}', "Bundle.type: “history”"),
        (b'{"resourceType": "Bundle", "type": ["collection"]}', "Bundle.type: “['collection']”"),
        (b"[" * 100_000 + b"]" * 100_000, "file: is not a JSON object"),
        (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "nested too deeply"),
        (
            b'{"resourceType": "Bundle", "type": "collection", "x": ' + b"9" * 5000 + b"}",
            "a number has 5000 digits",
        ),
        (b'{"resourceType": "Bundle", "type": "collection", "x": 1e999}', "too large"),
        (
            b'{"resourceType": "Bundle", "resourceType": "Bundle"}',
            "the key “resourceType” appears twice",
        ),
        (b'{"resourceType": "Bundle", "type": "collection", "x": NaN}', "NaN is not allowed"),
        (b'{"resourceType": "Bundle",', "is not valid JSON (line 1"),
    ],
)
def test_hostile_json_is_refused_with_a_message(data: bytes, expected: str) -> None:
    problems = _problems(data)
    assert expected in problems[0]


def test_deep_but_parseable_nesting_is_refused_after_parsing() -> None:
    deep: dict[str, Any] = {"resourceType": "Bundle", "type": "collection", "x": {}}
    node = deep["x"]
    for _ in range(60):
        node["y"] = {}
        node = node["y"]
    assert "nested more than 48 levels" in _problems(json.dumps(deep).encode())[0]


def test_wrong_resource_types_and_invalid_resources_name_the_entry() -> None:
    problems = _problems(
        _bundle(
            PATIENT,
            {"resourceType": "Sandwich", "id": "s1"},
            {"resourceType": "Observation", "id": "o1", "status": "final"},
        )
    )
    assert (
        problems[0] == "entry 2 (Sandwich/s1): resourceType “Sandwich” is not a FHIR R4 resource."
    )
    assert problems[1].startswith(
        "entry 3 (Observation/o1): is not a valid FHIR Observation (code:"
    )


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"effectiveDateTime": "2017-13-45"},
            "(effectiveDateTime: “2017-13-45” is not a valid FHIR dateTime).",
        ),
        ({"component": [{"valueString": "x"}]}, "(component[0].code: required but missing)."),
        ({"valueQuantity": {"value": "abc"}}, "(valueQuantity.value: “abc” is not a valid FHIR"),
        ({"subject": "Patient/p1"}, "(subject: expected an object with elements, found the text"),
        ({"focus": [{"reference": 3}]}, "(focus[0].reference: Input should be a valid string)."),
        # A second value[x] is set aside with a warning, but it is validated all the same.
        (
            {"valueCodeableConcept": {"text": "x"}, "valueQuantity": {"value": "1,5"}},
            "(valueQuantity.value: “1,5” is not a valid FHIR decimal).",
        ),
    ],
)
def test_validation_errors_name_the_field_in_words(fields: dict[str, Any], expected: str) -> None:
    observation = _observation("o1", "2160-0", effectiveDateTime="2020-01-01") | fields
    (problem,) = _problems(_bundle(PATIENT, observation))
    assert problem.startswith("entry 2 (Observation/o1): is not a valid FHIR Observation (")
    assert expected in problem


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        (
            _of_patient(
                "MedicationStatement",
                "m1",
                status="completed",
                medication={"concept": {"text": "Tamoxifen"}},
                effectiveDateTime="2020-01-01",
            ),
            "(medication: FHIR R4 has no such element here).",
        ),
        (
            _of_patient(
                "Procedure",
                "x1",
                status="completed",
                code={"text": "Mastectomy"},
                occurrenceDateTime="2020-01-01",
            ),
            "(occurrenceDateTime: FHIR R4 has no such element here).",
        ),
    ],
)
def test_r5_shaped_resources_are_refused_as_not_r4(resource: dict[str, Any], expected: str) -> None:
    (problem,) = _problems(_bundle(PATIENT, resource))
    assert problem.endswith(expected)


def test_references_to_missing_resources_are_refused() -> None:
    statement = _medication_by_reference("MedicationStatement", "m1", "Medication/absent")
    observation = _observation(
        "o1",
        "89247-1",
        subject={"reference": "urn:uuid:nobody"},
        valueInteger=1,
        effectiveDateTime="2020-01-01",
    )
    problems = _problems(_bundle(PATIENT, statement, observation))
    assert problems == [
        "entry 2 (MedicationStatement/m1): its medicationReference Medication/absent is not in "
        "the bundle.",
        "entry 3 (Observation/o1): its subject urn:uuid:nobody is not in the bundle.",
    ]


def test_labs_in_a_bundle_are_converted_and_medication_references_resolved() -> None:
    rxnorm = "http://www.nlm.nih.gov/research/umls/rxnorm"
    carboplatin = {
        "system": rxnorm,
        "code": "1",
        "display": "Carboplatin 10 MG/ML Injectable Solution",
    }
    medication = {"resourceType": "Medication", "id": "med1", "code": {"coding": [carboplatin]}}
    administration = _medication_by_reference("MedicationAdministration", "a1", "urn:uuid:med1")
    ucum = "http://unitsofmeasure.org"
    creatinine = _observation(
        "c1",
        "2160-0",
        effectiveDateTime="2020-01-15",
        valueQuantity={"value": 1.1, "unit": "mg/dL", "system": ucum, "code": "mg/dL"},
    )
    contents, _ = parse_bundle(
        _bundle(PATIENT, medication, administration, creatinine), limits=Limits(), context=CONTEXT
    )
    assert contents.facts[0].value_text == "Carboplatin"
    assert contents.labs[0].value == pytest.approx(97.24, rel=1e-3)
    assert contents.skipped == {"Medication": 1}


def test_a_case_exports_as_a_valid_fhir_bundle_that_imports_again(fhir_case: Case) -> None:
    from fhir.resources.R4B.bundle import Bundle

    from oncology_ui.clinical.exports import fhir_export_request
    from oncology_ui.core.jobs import job_run

    run_import(fhir_case, (FIXTURES / "patient_data.json").read_bytes(), "patient_data.json")
    LabResult.objects.create(
        case=fhir_case,
        source_key="k",
        name="Creatinine",
        analyte_key="creatinine",
        loinc="2160-0",
        category="cmp",
        collected_at="2017-08-01T00:00:00Z",
        value_text="1.0",
        unit_original="mg/dL",
        value=88.4,
        unit="umol/L",
        ref_low=45,
        ref_high=90,
    )
    bundle = case_bundle(fhir_case)
    Bundle.model_validate(bundle)
    types = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert types.count("MedicationStatement") == 3 and types.count("Procedure") == 6
    job = fhir_export_request(case=fhir_case, user=None)
    job_run(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    from django.conf import settings

    exported = (settings.MEDIA_ROOT / export_path(job)).read_bytes()
    contents, _ = parse_bundle(exported, limits=Limits(), context=CONTEXT)
    assert {v.gene for v in contents.variants} == {"STK11"}
    assert contents.labs[0].value == pytest.approx(88.4)
    assert {b.name for b in contents.biomarkers} == {"HER2", "ER"}


@pytest.mark.django_db(transaction=True)
def test_the_management_command_imports_and_reports(
    fhir_case: Case, tmp_path: Any, settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from django.core.management import CommandError, call_command

    settings.JOBS_BACKEND = "inprocess"
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"date,test,value,unit\n2024-03-01,Potassium,45,mmol/L\n")
    call_command("clinical_import", str(FIXTURES / "patient_data.json"), case=fhir_case.pk)
    out = capsys.readouterr().out
    assert "patient_data.json: import" in out and "facts 15 new" in out
    with pytest.raises(CommandError, match="1 file"):
        call_command("clinical_import", str(bad), case=fhir_case.pk)
    assert "line 2: Potassium 45 mmol/L" in capsys.readouterr().err
    assert ClinicalFact.objects.filter(case=fhir_case).count() == 15


def test_requests_regions_studied_and_wild_type_genes(fhir_case: Case) -> None:
    request = _of_patient(
        "MedicationRequest",
        "r1",
        status="completed",
        intent="order",
        authoredOn="2018-03-01",
        medicationCodeableConcept={"text": "Tamoxifen 20 MG Oral Tablet"},
    )
    region = _observation(
        "g1",
        "53041-0",
        effectiveDateTime="2018-02-01",
        component=[_gene_studied("HGNC:1100", display="BRCA1"), _gene_studied("HGNC:3236")],
    )
    record = run_import(fhir_case, _bundle(PATIENT, request, region), "more.json")
    assert record.status == ClinicalImport.Status.IMPORTED, record.problems
    line = TimelineEvent.objects.get(case=fhir_case, kind="systemic_therapy")
    assert (line.regimen, str(line.date)) == ("Tamoxifen", "2018-03-01")
    inputs = clinical_model_inputs(fhir_case)
    assert inputs["molecular"]["mutations"] == {"BRCA1": 0.0, "EGFR": 0.0}


def test_an_unexpected_error_fails_the_import_instead_of_leaving_it_waiting(
    cast: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from oncology_ui.clinical import facts

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(facts, "labs_write", broken)
    record = run_import(cast.case, b"date,test,value,unit\n2024-03-01,Sodium,140,mmol/L\n", "x.csv")
    assert record.status == ClinicalImport.Status.FAILED
    assert "internal error" in record.problems[0]["message"]
    assert record.job is not None and record.job.status == Job.Status.FAILED
