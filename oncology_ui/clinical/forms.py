"""Upload, biomarker and filter forms of the clinical pages."""

from __future__ import annotations

from django import forms
from django.utils import timezone

from inference.expression.normalise import SCALE_LABELS, Scale, Unit
from oncology_ui.clinical.models import ClinicalImport, Variant
from oncology_ui.clinical.parsers.biomarkers import METHODS, NAMES


class ImportForm(forms.Form):
    kind = forms.ChoiceField(
        label="Kind of file",
        required=False,
        choices=[
            ("", "Detect from the content"),
            *(c for c in ClinicalImport.Kind.choices if c[0] != ClinicalImport.Kind.EXPRESSION),
        ],
    )
    file = forms.FileField(
        label="File",
        help_text="Lab CSV, variant CSV, VCF, MAF or a FHIR R4 bundle (JSON). Checked before it is "
        "stored; nothing is imported unless the whole file is valid.",
    )


class ExpressionImportForm(forms.Form):
    unit = forms.ChoiceField(
        label="Unit",
        choices=[(u.value, u.label) for u in Unit],
        help_text="TPM, FPKM and counts can be normalised only where a TPM reference ships "
        "(TCGA-BLCA, TCGA-COADREAD, TCGA-STAD); z-scores against the TCGA cohort for every "
        "covered cancer type.",
    )
    scale = forms.ChoiceField(
        label="Normalisation",
        choices=[(s.value, SCALE_LABELS[s]) for s in Scale],
        help_text="How the values were transformed before export.",
    )
    file = forms.FileField(
        label="File",
        help_text="CSV or TSV, one gene per row: a gene column (HGNC symbols) and a value column. "
        "Panels (for example 50 genes) are accepted. Nothing is imported unless the whole file "
        "is valid.",
    )


_BIOMARKERS = sorted(set(NAMES.values()))
_METHODS = [(value, value or "—") for value in sorted(set(METHODS.values()))]


class BiomarkerForm(forms.Form):
    name = forms.ChoiceField(label="Biomarker", choices=[(n, n) for n in _BIOMARKERS])
    method = forms.ChoiceField(label="Method", choices=_METHODS, required=False)
    value = forms.CharField(
        label="Score or value",
        required=False,
        max_length=60,
        help_text="HER2 IHC 0–3+, ER/PR %, PD-L1 TPS % or CPS, HER2/CEP17 ratio, TMB mut/Mb",
    )
    unit = forms.CharField(label="Unit", required=False, max_length=20)
    status = forms.ChoiceField(
        label="Status as reported",
        required=False,
        choices=[
            ("", "Derive from the score"),
            ("positive", "Positive"),
            ("negative", "Negative"),
            ("equivocal", "Equivocal"),
            ("high", "High (MSI-H / TMB-high)"),
            ("stable", "Stable (MSS)"),
            ("deficient", "Deficient (dMMR)"),
            ("proficient", "Proficient (pMMR)"),
        ],
    )
    measured_on = forms.DateField(
        label="Reported on",
        widget=forms.DateInput(attrs={"type": "date"}),
        initial=timezone.localdate,
    )


class MolecularFilterForm(forms.Form):
    gene = forms.CharField(label="Gene", required=False, max_length=40)
    kind = forms.ChoiceField(
        label="Kind", required=False, choices=[("", "All kinds"), *Variant.Kind.choices]
    )
    actionable = forms.BooleanField(label="With CIViC level only", required=False)
