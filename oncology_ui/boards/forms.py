"""Forms for meetings, the agenda, decisions, signatures and outcomes."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import User

from oncology_ui.boards.models import AgendaItem, Board, Decision, Meeting, OutcomeRecord
from oncology_ui.patients.models import Case, TimelineEvent


class _PersonField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.get_full_name() or obj.get_username()


class _PersonChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.get_full_name() or obj.get_username()


class MeetingForm(forms.Form):
    board = forms.ModelChoiceField(queryset=Board.objects.none())
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    title = forms.CharField(max_length=200, required=False)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["board"].queryset = Board.objects.visible_to(user)  # type: ignore[attr-defined]


class AttendeesForm(forms.Form):
    attendees = _PersonField(
        queryset=User.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, meeting: Meeting, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["attendees"].queryset = meeting.board.team.members.order_by("last_name")  # type: ignore[attr-defined]
        self.fields["attendees"].initial = list(meeting.attendees.values_list("pk", flat=True))


class AgendaItemForm(forms.Form):
    case = forms.ModelChoiceField(queryset=Case.objects.none())
    presenter = _PersonChoice(queryset=User.objects.none(), required=False)

    def __init__(self, *args: Any, meeting: Meeting, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["case"].queryset = (  # type: ignore[attr-defined]
            Case.objects.visible_to(user)
            .filter(patient__teams=meeting.board.team)
            .exclude(agenda_items__meeting=meeting)
            .select_related("patient")
        )
        self.fields["case"].label_from_instance = (  # type: ignore[attr-defined]
            lambda case: f"{case.patient.display_name} — {case.primary_diagnosis}"
        )
        self.fields["presenter"].queryset = meeting.board.team.members.all()  # type: ignore[attr-defined]


class ChecklistForm(forms.ModelForm):
    class Meta:
        model = AgendaItem
        fields = ["pathology_reviewed", "imaging_reviewed", "molecular_in", "analysis_run"]


class DecisionForm(forms.Form):
    # Prefixed: the case page also carries the timeline form, whose field ids would clash.
    prefix = "decision"
    therapy = forms.CharField(
        max_length=300,
        required=False,
        help_text="Choose from the ranked options or type the therapy.",
        widget=forms.TextInput(attrs={"list": "therapy-options"}),
    )
    trial_referral = forms.CharField(
        max_length=300,
        required=False,
        widget=forms.TextInput(attrs={"list": "trial-options"}),
    )
    further_tests = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    follow_up = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    discussion_notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    agreeing = _PersonField(
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Attendees in agreement",
    )
    is_discordant = forms.BooleanField(
        required=False, label="The board's choice differs from the model's top option"
    )
    discordance_reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(
        self,
        *args: Any,
        case: Case,
        meeting: Meeting | None,
        instance: Decision | None = None,
        **kwargs: Any,
    ) -> None:
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                name: getattr(instance, name) for name in Decision.RECOMMENDATION_FIELDS
            } | {"agreeing": list(instance.agreeing.values_list("pk", flat=True))}
        super().__init__(*args, **kwargs)
        people = meeting.attendees.all() if meeting else User.objects.none()
        self.fields["agreeing"].queryset = people  # type: ignore[attr-defined]


class SignForm(forms.Form):
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="Re-enter your password to sign.",
    )
    otp_token = forms.CharField(required=False, max_length=32)


class OutcomeForm(forms.Form):
    prefix = "outcome"
    kind = forms.ChoiceField(choices=OutcomeRecord.Kind.choices)
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    response = forms.ChoiceField(
        choices=[("", "—"), *TimelineEvent.Response.choices], required=False
    )
    toxicity_grade = forms.IntegerField(min_value=1, max_value=5, required=False)
    detail = forms.CharField(max_length=500, required=False)
