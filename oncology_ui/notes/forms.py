"""The document form and the reviewer's edit form of a proposed fact."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from oncology_ui.notes.models import ClinicalDocument, ProposedFact


class DocumentForm(forms.Form):
    """Type, title, author and date may stay blank for a FHIR file that carries them."""

    kind = forms.ChoiceField(
        label="Type",
        required=False,
        choices=[("", "— (from the FHIR file)"), *ClinicalDocument.Kind.choices],
    )
    title = forms.CharField(label="Title", max_length=200, required=False)
    author = forms.CharField(
        label="Author", max_length=200, help_text="Who wrote it", required=False
    )
    document_date = forms.DateField(
        label="Date of the document",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    text = forms.CharField(
        label="Text",
        required=False,
        widget=forms.Textarea(attrs={"rows": 14}),
        help_text="Paste the note or report, or upload it below.",
    )
    file = forms.FileField(
        label="Or a file",
        required=False,
        help_text="Plain text (.txt), a PDF with a text layer, or a FHIR DocumentReference or "
        "DiagnosticReport (JSON). Scanned PDFs are not read.",
    )

    def clean_document_date(self) -> Any:
        day = self.cleaned_data["document_date"]
        if day is not None and day > timezone.localdate():
            raise forms.ValidationError("The date cannot be in the future.")
        return day

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not (data.get("text") or "").strip() and not data.get("file"):
            raise forms.ValidationError("Paste the text or choose a file.")
        if not data.get("file"):
            # Pasted text carries no metadata of its own.
            for field in ("kind", "title", "author", "document_date"):
                if field in data and not data.get(field):
                    self.add_error(field, "This field is required.")
        return data


class ProposalEditForm(forms.Form):
    """One text field per value of the proposal, and its four ConText flags."""

    negated = forms.BooleanField(label="Negated", required=False)
    historical = forms.BooleanField(label="Historical", required=False)
    hypothetical = forms.BooleanField(label="Hypothetical", required=False)
    family = forms.BooleanField(label="Family member", required=False)

    def __init__(self, *args: Any, proposal: ProposedFact, **kwargs: Any) -> None:
        initial = {name: getattr(proposal, name) for name in ProposedFact.FLAG_NAMES}
        for key, value in proposal.value.items():
            initial[f"value_{key}"] = "" if value is None else str(value)
        kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        self.value_keys = list(proposal.value)
        for key in self.value_keys:
            self.fields[f"value_{key}"] = forms.CharField(
                label=key.replace("_", " ").capitalize(), required=False, max_length=200
            )
        # Values first, then the flags.
        self.order_fields([f"value_{key}" for key in self.value_keys])

    def edits(self) -> dict[str, str]:
        return {key: self.cleaned_data.get(f"value_{key}") or "" for key in self.value_keys}

    def flags(self) -> dict[str, bool]:
        return {name: bool(self.cleaned_data.get(name)) for name in ProposedFact.FLAG_NAMES}
