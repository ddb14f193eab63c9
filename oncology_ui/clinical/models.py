"""Imported clinical, lab and molecular facts, each tied to the file and row it came from.

Every fact row carries ``source_import`` (the file), ``source_ref`` (the row, line or FHIR
``Type/id``) and ``source_key``, a stable identifier unique per case: importing the same file or
resource again finds the existing row instead of adding a second one.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from oncology_ui.core.ingest import IngestRecord
from oncology_ui.core.querysets import CaseScopedQuerySet
from oncology_ui.patients.models import Case, TimelineEvent


class ClinicalImport(IngestRecord):
    """One uploaded file and what became of it: the report a person reads and downloads."""

    class Kind(models.TextChoices):
        LAB_CSV = "lab_csv", "Lab results (CSV)"
        VARIANT_CSV = "variant_csv", "Variants and biomarkers (CSV)"
        VCF = "vcf", "Somatic variants (VCF)"
        MAF = "maf", "Somatic variants (MAF)"
        FHIR = "fhir", "FHIR R4 bundle (JSON)"
        EXPRESSION = "expression", "Gene expression (CSV/TSV)"

    class Status(models.TextChoices):
        RECEIVED = IngestRecord.RECEIVED, "Received"
        IMPORTED = "imported", "Imported"
        FAILED = "failed", "Failed"

    status_url_name = "clinical-import-detail"
    html_id_prefix = "import"
    status_link_text = "report"
    problems_listed = 0  # the failure line names the first; the report lists them all

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="clinical_imports")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    original_name = models.CharField(max_length=200, help_text="As uploaded; shown, never used")
    stored_name = models.CharField(max_length=200, help_text="Server-generated, under MEDIA_ROOT")
    sha256 = models.CharField(max_length=64)
    size = models.BigIntegerField()
    summary = models.JSONField(default=dict, blank=True)
    problem_count = models.PositiveIntegerField(default=0)
    warnings = models.JSONField(default=list, blank=True)
    #: What the uploader said about the file (expression: unit and scale).
    options = models.JSONField(default=dict, blank=True)

    objects = CaseScopedQuerySet["ClinicalImport"].as_manager()

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.original_name} ({self.status})"

    @property
    def kind_label(self) -> str:
        return self.get_kind_display()

    @property
    def outcome_summary(self) -> str:
        """New and already-present counts per part, e.g. ``labs: 3 new, 1 already there; ``."""
        if self.status != self.Status.IMPORTED:
            return ""
        parts = []
        for part, counts in self.summary.items():
            if not isinstance(counts, dict) or counts.get("new") is None:
                continue
            present = counts.get("already_present")
            parts.append(
                f"{part}: {counts['new']} new" + (f", {present} already there" if present else "")
            )
        return "".join(f"{part}; " for part in parts).strip()

    @property
    def failure_message(self) -> str:
        if self.status != self.Status.FAILED:
            return ""
        count = self.problem_count
        text = f"Nothing was imported: {count} problem{'' if count == 1 else 's'}."
        first = self.problems[0] if self.problems else None
        return f"{text} {first['where']}: {first['message']}" if first else text


class SourcedFact(models.Model):
    """Where a fact came from; the pair (case, source_key) is unique."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    source_import = models.ForeignKey(
        ClinicalImport, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source_ref = models.CharField(max_length=200, blank=True)
    source_key = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True

    @property
    def source_label(self) -> str:
        if self.source_import is None and self.source_key.startswith("note:"):
            # Read from a clinical document and accepted: the ref names the document and who.
            return self.source_ref
        name = self.source_import.original_name if self.source_import else "entered by hand"
        return f"{name} · {self.source_ref}" if self.source_ref else name


class LabResult(SourcedFact):
    """One lab value, converted to the catalogue's unit with the original kept beside it."""

    class Flag(models.TextChoices):
        NORMAL = "", "Within range"
        LOW = "L", "Low"
        HIGH = "H", "High"

    analyte_key = models.CharField(max_length=40, blank=True, db_index=True)
    loinc = models.CharField(max_length=10, blank=True)
    name = models.CharField(max_length=200)
    category = models.CharField(max_length=20)
    collected_at = models.DateTimeField()
    value_text = models.CharField("value as reported", max_length=60)
    unit_original = models.CharField("unit as reported", max_length=40, blank=True)
    comparator = models.CharField(max_length=2, blank=True)
    value = models.FloatField(null=True, blank=True)
    unit = models.CharField(max_length=40, blank=True)
    ref_low = models.FloatField(null=True, blank=True)
    ref_high = models.FloatField(null=True, blank=True)
    ref_source = models.CharField(max_length=20, blank=True)
    flag = models.CharField(max_length=1, choices=Flag.choices, blank=True)
    formula = models.CharField(max_length=300, blank=True, help_text="For derived values")
    inputs = models.JSONField(default=dict, blank=True)
    comment = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-collected_at", "name"]
        constraints = [
            models.UniqueConstraint(fields=["case", "source_key"], name="labresult_source_once")
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.value_text} {self.unit_original}"

    @property
    def is_derived(self) -> bool:
        return bool(self.formula)

    @property
    def unit_display(self) -> str:
        from oncology_ui.clinical.parsers.units import display_unit

        return display_unit(self.unit)


class Variant(SourcedFact):
    """A somatic mutation, copy-number change or fusion."""

    class Kind(models.TextChoices):
        MUTATION = "mutation", "Mutation"
        COPY_NUMBER = "copy_number", "Copy number"
        FUSION = "fusion", "Fusion"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    gene = models.CharField(max_length=40, blank=True, db_index=True)
    gene_as_reported = models.CharField(max_length=40, blank=True)
    protein_short = models.CharField("protein change (1-letter)", max_length=100, blank=True)
    protein_long = models.CharField("protein change (3-letter)", max_length=200, blank=True)
    hgvs_c = models.CharField("cDNA change", max_length=100, blank=True)
    transcript = models.CharField(max_length=40, blank=True)
    chromosome = models.CharField(max_length=5, blank=True)
    position = models.BigIntegerField(null=True, blank=True)
    ref = models.CharField(max_length=200, blank=True)
    alt = models.CharField(max_length=200, blank=True)
    vaf = models.FloatField("variant allele fraction", null=True, blank=True)
    depth = models.PositiveIntegerField(null=True, blank=True)
    consequence = models.CharField(max_length=80, blank=True)
    origin = models.CharField(max_length=10, default="somatic")
    sample = models.CharField(max_length=80, blank=True)
    copy_number_level = models.SmallIntegerField(null=True, blank=True)
    copy_number = models.FloatField(null=True, blank=True)
    partner_gene = models.CharField(max_length=40, blank=True)
    reported_on = models.DateField(null=True, blank=True)
    best_level = models.CharField(max_length=1, blank=True, help_text="Best CIViC level (A-E)")

    class Meta:
        ordering = ["best_level", "gene", "id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "source_key"], name="variant_source_once")
        ]

    def __str__(self) -> str:
        return f"{self.gene} {self.label}"

    @property
    def label(self) -> str:
        if self.kind == self.Kind.FUSION:
            return f"{self.partner_gene}::{self.gene} fusion" if self.partner_gene else "fusion"
        if self.kind == self.Kind.COPY_NUMBER:
            words = {2: "amplification", 1: "gain", 0: "neutral", -1: "loss", -2: "deep deletion"}
            text = words.get(self.copy_number_level or 0, "copy-number change")
            return f"{text} ({self.copy_number:g} copies)" if self.copy_number is not None else text
        return self.protein_short or self.hgvs_c or f"{self.chromosome}:{self.position}"


class VariantEvidence(models.Model):
    """CIViC evidence or an oncoref row that matched a variant at import."""

    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="evidence")
    source = models.CharField(max_length=10)
    match = models.CharField(max_length=10)
    level = models.CharField(max_length=40)
    evidence_id = models.CharField(max_length=60)
    variant_name = models.CharField(max_length=200)
    disease = models.CharField(max_length=200, blank=True)
    drugs = models.CharField(max_length=300, blank=True)
    evidence_type = models.CharField(max_length=20, blank=True)
    direction = models.CharField(max_length=20, blank=True)
    significance = models.CharField(max_length=400, blank=True)
    citation = models.CharField(max_length=60, blank=True)
    url = models.URLField(max_length=200, blank=True)

    class Meta:
        ordering = ["source", "level", "id"]

    def __str__(self) -> str:
        return f"{self.source} {self.level} {self.variant_name}"


class Biomarker(SourcedFact):
    """ER, PR, HER2, PD-L1, MSI, MMR or TMB, with its score and status."""

    name = models.CharField(max_length=10, db_index=True)
    method = models.CharField(max_length=10, blank=True)
    value_text = models.CharField(max_length=60, blank=True)
    value_number = models.FloatField(null=True, blank=True)
    unit = models.CharField(max_length=20, blank=True)
    status = models.CharField(max_length=20, blank=True)
    status_rule = models.CharField(max_length=200, blank=True)
    measured_on = models.DateField(null=True, blank=True)
    loinc = models.CharField(max_length=10, blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name", "-measured_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "source_key"], name="biomarker_source_once")
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.method} {self.value_text} {self.status}"


class ClinicalFact(SourcedFact):
    """Conditions, stage, performance status, medications, procedures from a FHIR bundle."""

    kind = models.CharField(max_length=30, db_index=True)
    display = models.CharField(max_length=200)
    code_system = models.CharField(max_length=100, blank=True)
    code = models.CharField(max_length=40, blank=True)
    value_text = models.CharField(max_length=200, blank=True)
    value_number = models.FloatField(null=True, blank=True)
    date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["date", "id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "source_key"], name="clinicalfact_source_once")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.display}"


class TimelineSource(models.Model):
    """Which file and resources a timeline event that an import created came from."""

    event = models.OneToOneField(TimelineEvent, on_delete=models.CASCADE, related_name="source")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    source_import = models.ForeignKey(
        ClinicalImport, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source_key = models.CharField(max_length=200)
    source_refs = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "source_key"], name="timelinesource_once")
        ]

    def __str__(self) -> str:
        return f"{self.source_key} -> event {self.event_id}"


class ExpressionProfile(models.Model):
    """One tumour's gene expression as imported: what was uploaded and its normalised z-scores.

    ``values`` holds gene -> z-score against ``reference_label`` for the genes that reference
    lists (see :mod:`inference.expression.normalise`); the case page's hallmark profile is
    computed from it.
    """

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="expression_profiles")
    source_import = models.OneToOneField(
        ClinicalImport, on_delete=models.CASCADE, related_name="expression_profile"
    )
    unit = models.CharField(max_length=10)
    scale = models.CharField(max_length=12)
    cohort = models.CharField(max_length=20, help_text="Reference cohort key, e.g. brca")
    reference_label = models.CharField(max_length=40)
    basis = models.CharField(max_length=10, help_text="zscore or log2tpm reference table")
    method = models.CharField(max_length=400)
    approximate = models.BooleanField(default=False)
    genes_in_file = models.PositiveIntegerField()
    genes_matched = models.PositiveIntegerField()
    genes_unmatched = models.PositiveIntegerField()
    unmatched_examples = models.JSONField(default=list, blank=True)
    clipped = models.PositiveIntegerField(default=0)
    values = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CaseScopedQuerySet["ExpressionProfile"].as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.unit} expression, {self.genes_matched} genes ({self.reference_label})"

    @property
    def source_name(self) -> str:
        return self.source_import.original_name
