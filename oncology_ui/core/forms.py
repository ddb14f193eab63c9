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
