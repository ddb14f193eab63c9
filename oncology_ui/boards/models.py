"""Tumor boards, their meetings and agendas, the signed decision record and later outcomes.

A decision is an electronic record: once signed it is locked (services refuse to change it), and
a change is a new version that supersedes the old one, so what the board saw stays printable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils import timezone

from oncology_ui.core.models import Team
from oncology_ui.core.querysets import TeamScopedQuerySet
from oncology_ui.patients.models import Case

if TYPE_CHECKING:
    from oncology_ui.boards.preparation import CheckItem

SIGNATURE_MEANING = "Reviewed and approved as the board's recommendation"


class BoardQuerySet(TeamScopedQuerySet["Board"]):
    members_lookup = "team__members"


class Board(models.Model):
    """A standing tumor board of one site and specialty, run by one care team."""

    name = models.CharField(max_length=120)
    site = models.CharField(max_length=60, default="main")
    specialty = models.CharField(max_length=80)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="boards")

    objects = BoardQuerySet.as_manager()

    class Meta:
        ordering = ["site", "name"]
        permissions = [
            ("view_discordance", "Can review the discordance register"),
            ("view_outcomes", "Can see how the board's recommendations turned out"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.site})"


class MeetingQuerySet(TeamScopedQuerySet["Meeting"]):
    members_lookup = "board__team__members"


class Meeting(models.Model):
    board = models.ForeignKey(Board, on_delete=models.PROTECT, related_name="meetings")
    date = models.DateField()
    title = models.CharField(max_length=200, blank=True)
    attendees = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+", blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = MeetingQuerySet.as_manager()

    class Meta:
        ordering = ["-date", "-id"]

    def __str__(self) -> str:
        return f"{self.board.name} {self.date:%Y-%m-%d}"


class AgendaItem(models.Model):
    """One case on a meeting's agenda, with who presents it and whether it is prepared."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="items")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="agenda_items")
    order = models.PositiveSmallIntegerField(default=1)
    presenter = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    pathology_reviewed = models.BooleanField(default=False)
    imaging_reviewed = models.BooleanField(default=False)
    molecular_in = models.BooleanField("Molecular results in", default=False)
    analysis_run = models.BooleanField("Model analysis run", default=False)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "case"], name="agenda_case_once_per_meeting")
        ]

    def __str__(self) -> str:
        return f"Agenda item {self.order} of meeting {self.meeting_id}"

    CHECKLIST = ("pathology_reviewed", "imaging_reviewed", "molecular_in", "analysis_run")
    # Filled by ``preparation.agenda_preparation`` for a whole agenda at once.
    preparation_cache: list[CheckItem] | None = None

    @property
    def preparation(self) -> list[CheckItem]:
        """The checklist as the record shows it now (see ``boards/preparation.py``)."""
        if self.preparation_cache is None:
            from oncology_ui.boards.preparation import agenda_preparation

            agenda_preparation([self])
        assert self.preparation_cache is not None
        return self.preparation_cache

    @property
    def prepared(self) -> bool:
        return all(check.done for check in self.preparation)


class Decision(models.Model):
    """The board's recommendation for a case, with the model's view stored beside it."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SIGNED = "signed", "Signed"
        SUPERSEDED = "superseded", "Superseded"

    # What the board writes (the form edits these, the signature covers them, an amendment
    # carries them over); the rest is the record's state and the model's view.
    RECOMMENDATION_FIELDS = (
        "therapy",
        "trial_referral",
        "further_tests",
        "follow_up",
        "discussion_notes",
        "is_discordant",
        "discordance_reason",
    )

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="board_decisions")
    meeting = models.ForeignKey(
        Meeting, null=True, blank=True, on_delete=models.PROTECT, related_name="decisions"
    )
    version = models.PositiveSmallIntegerField(default=1)
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    therapy = models.CharField("Therapy recommended", max_length=300, blank=True)
    trial_referral = models.CharField(max_length=300, blank=True)
    further_tests = models.TextField(blank=True)
    follow_up = models.TextField(blank=True)
    discussion_notes = models.TextField(blank=True)
    agreeing = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="+", blank=True, verbose_name="In agreement"
    )
    # What the model said when the decision was recorded (never recomputed later).
    prediction = models.ForeignKey(
        "analysis.Prediction", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    model_top_option = models.CharField(max_length=300, blank=True)
    model_prognosis = models.JSONField(default=dict, blank=True)
    is_discordant = models.BooleanField(default=False)
    discordance_reason = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    signed_name = models.CharField(max_length=300, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    signature_meaning = models.CharField(max_length=200, blank=True)
    content_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["case", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["case", "version"], name="decision_version_unique")
        ]
        permissions = [("sign_decision", "Can sign a board decision")]

    def __str__(self) -> str:
        return f"Decision v{self.version} for case {self.case_id} ({self.status})"

    @property
    def is_locked(self) -> bool:
        return self.status != self.Status.DRAFT


class OutcomeRecord(models.Model):
    """An outcome reported after the board; most also go onto the case timeline."""

    class Kind(models.TextChoices):
        RESPONSE = "response", "Response assessment"
        PROGRESSION = "progression", "Progression"
        TOXICITY = "toxicity", "Toxicity"
        DEATH = "death", "Death"
        LAST_CONTACT = "last_follow_up", "Last contact"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="board_outcomes")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    date = models.DateField()
    response = models.CharField(max_length=2, blank=True)
    toxicity_grade = models.PositiveSmallIntegerField("CTCAE grade", null=True, blank=True)
    detail = models.CharField(max_length=500, blank=True)
    event = models.OneToOneField(
        "patients.TimelineEvent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-date", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.date:%Y-%m-%d}"
