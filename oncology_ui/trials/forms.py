"""Forms of the trials pages: filters, search, referral, work-list moves, upload."""

from __future__ import annotations

import re

from django import forms

from oncology_ui.trials.models import WorkListEntry
from oncology_ui.trials.selectors import MATCH_STATUS_CHOICES, PHASE_CHOICES, STATUS_CHOICES
from oncology_ui.trials.serialize import INTERVENTION_TYPES

_NCT = re.compile(r"^NCT\d{8}$")


class MatchFilterForm(forms.Form):
    status = forms.ChoiceField(
        required=False,
        choices=MATCH_STATUS_CHOICES,
        help_text="Closed and unknown-status trials only when asked for; they are marked.",
    )
    phase = forms.ChoiceField(required=False, choices=PHASE_CHOICES)
    intervention_type = forms.ChoiceField(
        label="Intervention",
        required=False,
        choices=[("", "Any intervention"), *((t, t.capitalize()) for t in INTERVENTION_TYPES)],
    )
    biomarker_only = forms.BooleanField(label="Biomarker-driven only", required=False)


class TrialSearchForm(forms.Form):
    text = forms.CharField(label="Search", required=False, max_length=300)
    condition = forms.CharField(required=False, max_length=100)
    phase = forms.ChoiceField(required=False, choices=PHASE_CHOICES)
    status = forms.ChoiceField(required=False, choices=STATUS_CHOICES)
    biomarker = forms.CharField(
        required=False, max_length=20, help_text="Gene or marker, e.g. EGFR, HER2, MSI"
    )


class SavedSearchForm(forms.Form):
    name = forms.CharField(max_length=100)


class NctForm(forms.Form):
    nct_id = forms.CharField(max_length=11)

    def clean_nct_id(self) -> str:
        value = str(self.cleaned_data["nct_id"]).strip().upper()
        if not _NCT.match(value):
            raise forms.ValidationError("An NCT id is NCT followed by eight digits.")
        return value


class ReferralForm(NctForm):
    # Set by the confirmation step for a trial that is not recruiting.
    confirm_not_recruiting = forms.BooleanField(required=False)
    note = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What the coordinator should know (optional).",
    )


class WorkListAddForm(forms.Form):
    case_id = forms.IntegerField(min_value=1)


class WorkListMoveForm(forms.Form):
    status = forms.ChoiceField(choices=WorkListEntry.Status.choices)
    reason = forms.CharField(
        required=False, max_length=500, help_text="Required when the patient is not eligible."
    )

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if (
            data.get("status") == WorkListEntry.Status.NOT_ELIGIBLE
            and not str(data.get("reason") or "").strip()
        ):
            self.add_error("reason", "Give the reason the patient is not eligible.")
        return data


class WorkListFilterForm(forms.Form):
    status = forms.ChoiceField(
        label="Work-list status",
        required=False,
        choices=[("", "Any status"), *WorkListEntry.Status.choices],
    )
    nct_id = forms.CharField(label="NCT id", required=False, max_length=11)


class CorpusUploadForm(forms.Form):
    file = forms.FileField(
        help_text="ClinicalTrials.gov API v2 JSON (one study or a page of studies), legacy XML, "
        "or JSON lines; gzip is fine. The whole file is read first; if it cannot be read the "
        "corpus stays as it is."
    )
