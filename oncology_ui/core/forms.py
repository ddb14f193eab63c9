from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from oncology_ui.core.models import AccessLog


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Many files under one field name (Django's documented pattern); a list once cleaned."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if not data and self.required:
            raise ValidationError(self.error_messages["required"], code="required")
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data]
        return [single(data, initial)]


def add_validation_error(form: forms.BaseForm, exc: ValidationError) -> None:
    """Show a service's ``ValidationError`` on the form: on its field where the form has one."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


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


class ThrottledPasswordChangeForm(PasswordChangeForm):
    """Django's password change, with the old password checked through ``authenticate``.

    So a guess at the old password (from a session left open) is counted, locked out and
    audited exactly like a guess at the sign-in page.
    """

    def __init__(self, user: Any, *args: Any, request: HttpRequest, **kwargs: Any) -> None:
        self.request = request
        super().__init__(user, *args, **kwargs)

    def clean_old_password(self) -> str:
        old_password: str = self.cleaned_data["old_password"]
        checked = authenticate(
            self.request, username=self.user.get_username(), password=old_password
        )
        if checked is None or checked.pk != self.user.pk:
            raise forms.ValidationError(
                self.error_messages["password_incorrect"], code="password_incorrect"
            )
        return old_password


class SecondFactorForm(forms.Form):
    REFUSED = (
        "That code was not accepted. Codes work once; after several wrong ones, wait a minute."
    )

    code = forms.CharField(
        label="Code from your authenticator app, or a recovery code",
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True}),
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
