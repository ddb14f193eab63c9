from __future__ import annotations

from django import forms

from oncology_ui.modelregistry.models import RegisteredModel


class StateChangeRequestForm(forms.Form):
    to_state = forms.ChoiceField(label="Move to", choices=RegisteredModel.State.choices)
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text="The approver and the history read it: evidence, scope, who asked.",
    )


class ApproveForm(forms.Form):
    """The e-signature of an approval: password, second-factor code, optional note."""

    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="Re-enter your password to approve.",
    )
    otp_token = forms.CharField(required=False, max_length=32)
    note = forms.CharField(required=False, max_length=2000)


class RejectForm(forms.Form):
    note = forms.CharField(max_length=2000, help_text="Why the change is declined.")


class RollbackForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        help_text="Why the change is undone (a second person approves the rollback).",
    )
