"""The cohort builder: one form per cohort (prefixes ``a`` and ``b``), read from a GET query."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from oncology_ui.cohorts.selectors import STAGES, CohortFilter

_ANY = [("", "Any")]


class CohortForm(forms.Form):
    """Who is in one cohort. Every list offers only values found among the user's patients."""

    enabled = forms.BooleanField(
        required=False, label="Compare with this second cohort", label_suffix=""
    )
    cancer_type = forms.ChoiceField(required=False, label="Cancer type")
    stage = forms.ChoiceField(required=False, choices=_ANY + list(STAGES), label="Stage group")
    biomarker = forms.ChoiceField(required=False, label="Biomarker")
    biomarker_status = forms.ChoiceField(required=False, label="Biomarker status")
    therapy_line = forms.IntegerField(
        required=False, min_value=1, max_value=10, label="Received therapy line"
    )
    diagnosed_from = forms.DateField(
        required=False, label="Diagnosed from", widget=forms.DateInput(attrs={"type": "date"})
    )
    diagnosed_to = forms.DateField(
        required=False, label="Diagnosed to", widget=forms.DateInput(attrs={"type": "date"})
    )
    team = forms.ChoiceField(required=False, label="Care team")

    def __init__(
        self, *args: Any, choices: dict[str, list[tuple[str, str]]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        for name, key in (
            ("cancer_type", "cancer_types"),
            ("biomarker", "biomarkers"),
            ("biomarker_status", "statuses"),
        ):
            self.fields[name].choices = _ANY + choices[key]  # type: ignore[attr-defined]
        self.fields["team"].choices = [("", "All my teams"), *choices["teams"]]  # type: ignore[attr-defined]
        if self.prefix != "b":
            del self.fields["enabled"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("diagnosed_from"), data.get("diagnosed_to")
        if start and end and start > end:
            raise ValidationError("“Diagnosed from” is after “diagnosed to”.")
        if data.get("biomarker_status") and not data.get("biomarker"):
            self.add_error("biomarker", "Choose the biomarker whose status you select.")
        return data

    @property
    def wanted(self) -> bool:
        """Cohort A always; cohort B when its box is ticked."""
        return "enabled" not in self.fields or bool(self.cleaned_data.get("enabled"))

    def cohort(self) -> CohortFilter:
        data = self.cleaned_data
        return CohortFilter(
            cancer_type=data.get("cancer_type") or "",
            stage=data.get("stage") or "",
            biomarker=data.get("biomarker") or "",
            biomarker_status=data.get("biomarker_status") or "",
            therapy_line=data.get("therapy_line"),
            diagnosed_from=data.get("diagnosed_from"),
            diagnosed_to=data.get("diagnosed_to"),
            team=int(data["team"]) if data.get("team") else None,
        )
