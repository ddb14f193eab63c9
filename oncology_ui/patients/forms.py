"""Forms for the clinical record; model ``clean()`` holds the clinical rules."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import User

from oncology_ui.core.models import Team
from oncology_ui.patients.models import Case, Patient, TimelineEvent


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class PatientForm(forms.ModelForm):
    teams = forms.ModelMultipleChoiceField(
        queryset=Team.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text="The patient is visible to members of these teams only.",
    )

    class Meta:
        model = Patient
        fields = [
            "site",
            "mrn",
            "family_name",
            "given_name",
            "birth_date",
            "sex",
            "teams",
            "vital_status",
            "date_of_death",
            "last_contact_date",
        ]
        widgets = {
            "birth_date": DateInput(),
            "date_of_death": DateInput(),
            "last_contact_date": DateInput(),
        }

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only the user's own teams: nobody can file a patient where they could not see it.
        self.fields["teams"].queryset = Team.objects.filter(members=user)  # type: ignore[attr-defined]


class CaseForm(forms.ModelForm):
    class Meta:
        model = Case
        fields = [
            "primary_diagnosis",
            "oncotree_code",
            "icd10_code",
            "histology",
            "diagnosis_date",
            "clinical_t",
            "clinical_n",
            "clinical_m",
            "pathological_t",
            "pathological_n",
            "pathological_m",
            "stage_group",
            "ajcc_edition",
            "ecog",
            "ecog_date",
            "grade",
            "nodes_positive",
            "tumour_size_mm",
            "menopausal_status",
            "board_date",
            "progression_date",
            "notes",
        ]
        widgets = {
            "diagnosis_date": DateInput(),
            "ecog_date": DateInput(),
            "board_date": DateInput(),
            "progression_date": DateInput(),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "oncotree_code": "For example IDC, LUAD, COADREAD, SKCM.",
            "icd10_code": "ICD-10-CM, for example C50.911 or C34.1.",
        }


class TimelineEventForm(forms.ModelForm):
    class Meta:
        model = TimelineEvent
        fields = [
            "kind",
            "date",
            "end_date",
            "title",
            "line_number",
            "regimen",
            "stop_reason",
            "response",
            "detail",
        ]
        widgets = {
            "date": DateInput(),
            "end_date": DateInput(),
            "detail": forms.Textarea(attrs={"rows": 2}),
        }


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=Case.Status.choices)


class PatientSearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, label="Name or MRN")
    diagnosis = forms.CharField(required=False, max_length=100, label="Diagnosis or code")
    status = forms.ChoiceField(
        required=False, choices=[("", "Any status"), *Case.Status.choices], label="Case status"
    )
    team = forms.ModelChoiceField(
        required=False, queryset=Team.objects.none(), empty_label="Any team"
    )
    board_from = forms.DateField(required=False, widget=DateInput(), label="Board from")
    board_to = forms.DateField(required=False, widget=DateInput(), label="Board to")

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.filter(members=user)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("board_from"), data.get("board_to")
        if start and end and end < start:
            self.add_error("board_to", "“Board to” is before “Board from”.")
        return data
