from __future__ import annotations

from django import forms

from oncology_ui.core.models import AccessLog


class AuditFilterForm(forms.Form):
    username = forms.CharField(required=False, max_length=150)
    patient_id = forms.IntegerField(required=False, min_value=1, label="Patient id")
    action = forms.ChoiceField(
        required=False, choices=[("", "Any action"), *AccessLog.Action.choices]
    )
    outcome = forms.ChoiceField(
        required=False, choices=[("", "Any outcome"), *AccessLog.Outcome.choices]
    )
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    order = forms.ChoiceField(
        required=False,
        choices=[
            ("-id", "Newest first"),
            ("id", "Oldest first"),
            ("username", "User"),
            ("patient_id_snapshot", "Patient"),
            ("action", "Action"),
            ("category", "Category"),
            ("outcome", "Outcome"),
            ("source_ip", "Source"),
        ],
    )


class BreakGlassForm(forms.Form):
    site = forms.CharField(max_length=60, initial="main", help_text="Hospital issuing the MRN")
    mrn = forms.CharField(label="MRN", max_length=40)
    reason = forms.CharField(
        min_length=15,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why you need this patient's record now (an administrator reviews it).",
    )


class BreakGlassReviewForm(forms.Form):
    note = forms.CharField(required=False, max_length=300, label="Review note")
