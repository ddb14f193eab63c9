from __future__ import annotations

from django import forms

from oncology_ui.therapies.models import TherapyDecision


class DecisionForm(forms.Form):
    """Accept or reject one option of a ranking; a reason is always required for the record."""

    option = forms.CharField(max_length=300, widget=forms.HiddenInput)
    verdict = forms.ChoiceField(choices=TherapyDecision.Verdict.choices, widget=forms.RadioSelect)
    reason = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why, in a sentence: it goes into the board record.",
    )

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if len(reason) < 3:
            raise forms.ValidationError("Give the reason in a few words.")
        return reason
