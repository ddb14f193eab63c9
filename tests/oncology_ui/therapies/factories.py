"""factory_boy factories for the clinical facts a therapy ranking reads."""

from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone

from oncology_ui.clinical.models import Biomarker, ClinicalFact, LabResult, Variant

# Catalogue units, names and upper reference limits of the labs the safety gate reads.
LABS = {
    "neutrophils": ("Neutrophils (absolute)", "10*9/L", 7.5),
    "platelets": ("Platelets", "10*9/L", 400.0),
    "hemoglobin": ("Haemoglobin", "g/L", 160.0),
    "crcl_cg": ("Creatinine clearance (Cockcroft-Gault)", "mL/min", None),
    "bilirubin": ("Bilirubin (total)", "umol/L", 21.0),
    "ast": ("Aspartate aminotransferase", "U/L", 40.0),
    "alt": ("Alanine aminotransferase", "U/L", 40.0),
}
FINE = {
    "neutrophils": 4.0,
    "platelets": 250.0,
    "hemoglobin": 130.0,
    "crcl_cg": 90.0,
    "bilirubin": 10.0,
    "ast": 25.0,
    "alt": 25.0,
}


class VariantFactory(factory.django.DjangoModelFactory[Variant]):
    class Meta:
        model = Variant

    kind = Variant.Kind.MUTATION
    gene = "EGFR"
    gene_as_reported = factory.SelfAttribute("gene")
    protein_short = "p.L858R"
    source_key = factory.Sequence(lambda n: f"test-variant-{n}")
    source_ref = "test row"


class BiomarkerFactory(factory.django.DjangoModelFactory[Biomarker]):
    class Meta:
        model = Biomarker

    name = "ER"
    method = "IHC"
    status = "positive"
    measured_on = dt.date(2026, 1, 5)
    source_key = factory.Sequence(lambda n: f"test-biomarker-{n}")


class LabResultFactory(factory.django.DjangoModelFactory[LabResult]):
    class Meta:
        model = LabResult

    analyte_key = "neutrophils"
    name = factory.LazyAttribute(lambda o: LABS[o.analyte_key][0])
    unit = factory.LazyAttribute(lambda o: LABS[o.analyte_key][1])
    ref_high = factory.LazyAttribute(lambda o: LABS[o.analyte_key][2])
    category = "cbc"
    value = 4.0
    value_text = factory.LazyAttribute(lambda o: f"{o.value:g}")
    collected_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=2))
    source_key = factory.Sequence(lambda n: f"test-lab-{n}")


class ClinicalFactFactory(factory.django.DjangoModelFactory[ClinicalFact]):
    class Meta:
        model = ClinicalFact

    kind = "comorbidity"
    display = "Essential hypertension"
    date = dt.date(2020, 1, 1)
    source_key = factory.Sequence(lambda n: f"test-fact-{n}")


def fine_labs(case: object, *, days_ago: int = 2, **overrides: float) -> None:
    """A complete, recent safety panel (values within every limit unless overridden)."""
    when = timezone.now() - dt.timedelta(days=days_ago)
    for key, value in {**FINE, **overrides}.items():
        LabResultFactory.create(case=case, analyte_key=key, value=value, collected_at=when)
