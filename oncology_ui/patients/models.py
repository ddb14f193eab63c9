"""The clinical record: patients, their cancer cases, and a dated timeline per case."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from oncology_ui.core.models import Team
from oncology_ui.core.querysets import TeamScopedQuerySet
from oncology_ui.patients.vocabularies import icd10_is_neoplasm, icd10_lookup, oncotree_lookup


class PatientQuerySet(TeamScopedQuerySet["Patient"]):
    members_lookup = "teams__members"


class Patient(models.Model):
    class Sex(models.TextChoices):
        FEMALE = "female", "Female"
        MALE = "male", "Male"
        OTHER = "other", "Other"
        UNKNOWN = "unknown", "Unknown"

    class VitalStatus(models.TextChoices):
        ALIVE = "alive", "Alive"
        DECEASED = "deceased", "Deceased"
        UNKNOWN = "unknown", "Unknown"

    site = models.CharField(
        max_length=60, default="main", help_text="Hospital or site issuing the MRN"
    )
    mrn = models.CharField("MRN", max_length=40)
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    birth_date = models.DateField()
    sex = models.CharField(max_length=10, choices=Sex.choices)
    teams = models.ManyToManyField(Team, related_name="patients")
    is_demo = models.BooleanField(
        default=False, help_text="Built from public research records for demonstration"
    )
    demo_source = models.CharField(max_length=200, blank=True)
    # Outcomes are first-class: they feed evaluation and retraining later.
    vital_status = models.CharField(
        max_length=10, choices=VitalStatus.choices, default=VitalStatus.ALIVE
    )
    date_of_death = models.DateField(null=True, blank=True)
    last_contact_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PatientQuerySet.as_manager()

    class Meta:
        ordering = ["family_name", "given_name"]
        constraints = [
            models.UniqueConstraint(fields=["site", "mrn"], name="patient_mrn_unique_per_site"),
        ]

    def __str__(self) -> str:
        return f"{self.family_name}, {self.given_name}"

    @property
    def display_name(self) -> str:
        return f"{self.family_name.upper()}, {self.given_name}"

    def age_on(self, day: date) -> int:
        years = day.year - self.birth_date.year
        return years - ((day.month, day.day) < (self.birth_date.month, self.birth_date.day))

    @property
    def age(self) -> int:
        end = self.date_of_death or timezone.localdate()
        return self.age_on(end)

    def clean(self) -> None:
        today = timezone.localdate()
        errors: dict[str, str] = {}
        if self.birth_date and self.birth_date > today:
            errors["birth_date"] = "Date of birth cannot be in the future."
        if self.birth_date and self.birth_date.year < 1900:
            errors["birth_date"] = "Date of birth before 1900 is almost certainly a typing error."
        if self.date_of_death:
            if self.date_of_death > today:
                errors["date_of_death"] = "Date of death cannot be in the future."
            elif self.birth_date and self.date_of_death < self.birth_date:
                errors["date_of_death"] = "Date of death cannot be before the date of birth."
            if self.vital_status != self.VitalStatus.DECEASED:
                errors["vital_status"] = (
                    "A date of death is recorded: set vital status to deceased."
                )
        elif self.vital_status == self.VitalStatus.DECEASED:
            errors["date_of_death"] = "Enter the date of death for a deceased patient."
        if self.last_contact_date:
            if self.last_contact_date > today:
                errors["last_contact_date"] = "Last contact cannot be in the future."
            elif self.birth_date and self.last_contact_date < self.birth_date:
                errors["last_contact_date"] = "Last contact cannot be before the date of birth."
        if errors:
            raise ValidationError(errors)


class CaseQuerySet(TeamScopedQuerySet["Case"]):
    members_lookup = "patient__teams__members"


class Case(models.Model):
    """One primary cancer of a patient, as brought to the tumor board."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        READY = "ready", "Ready for board"
        DISCUSSED = "discussed", "Discussed"
        CLOSED = "closed", "Closed"

    # Allowed status moves; anything else is refused with a message.
    TRANSITIONS: dict[str, tuple[str, ...]] = {
        Status.DRAFT: (Status.READY, Status.CLOSED),
        Status.READY: (Status.DRAFT, Status.DISCUSSED, Status.CLOSED),
        Status.DISCUSSED: (Status.READY, Status.CLOSED),
        Status.CLOSED: (Status.DRAFT,),
    }

    class Ecog(models.IntegerChoices):
        FULLY_ACTIVE = 0, "0 – Fully active"
        RESTRICTED = 1, "1 – Restricted in strenuous activity"
        AMBULATORY = 2, "2 – Ambulatory, unable to work"
        LIMITED = 3, "3 – Limited self-care"
        DISABLED = 4, "4 – Completely disabled"

    class Grade(models.IntegerChoices):
        G1 = 1, "G1 – Well differentiated (low grade)"
        G2 = 2, "G2 – Moderately differentiated"
        G3 = 3, "G3 – Poorly differentiated (high grade)"
        G4 = 4, "G4 – Undifferentiated"

    class Menopause(models.TextChoices):
        PRE = "pre", "Premenopausal"
        POST = "post", "Postmenopausal"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="cases")
    primary_diagnosis = models.CharField(max_length=200)
    oncotree_code = models.CharField("OncoTree code", max_length=20)
    icd10_code = models.CharField("ICD-10-CM code", max_length=10)
    histology = models.CharField(max_length=200, blank=True)
    diagnosis_date = models.DateField()
    clinical_t = models.CharField("cT", max_length=10, blank=True)
    clinical_n = models.CharField("cN", max_length=10, blank=True)
    clinical_m = models.CharField("cM", max_length=10, blank=True)
    pathological_t = models.CharField("pT", max_length=10, blank=True)
    pathological_n = models.CharField("pN", max_length=10, blank=True)
    pathological_m = models.CharField("pM", max_length=10, blank=True)
    stage_group = models.CharField("AJCC stage group", max_length=10, blank=True)
    ajcc_edition = models.PositiveSmallIntegerField("AJCC edition", default=8)
    ecog = models.PositiveSmallIntegerField("ECOG", choices=Ecog.choices, null=True, blank=True)
    ecog_date = models.DateField("ECOG assessed on", null=True, blank=True)
    # Pathology of the primary tumour: prognostic inputs that TNM alone does not carry.
    grade = models.PositiveSmallIntegerField(
        "Histologic grade", choices=Grade.choices, null=True, blank=True
    )
    nodes_positive = models.PositiveSmallIntegerField(
        "Positive lymph nodes",
        null=True,
        blank=True,
        validators=[MaxValueValidator(100)],
        help_text="Number of regional lymph nodes with tumour (pathology report).",
    )
    tumour_size_mm = models.PositiveSmallIntegerField(
        "Tumour size (mm)",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(500)],
        help_text="Greatest dimension of the primary tumour.",
    )
    menopausal_status = models.CharField(
        "Menopausal status", max_length=4, choices=Menopause.choices, blank=True
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    board_date = models.DateField("Tumor board date", null=True, blank=True)
    # Outcomes of this cancer.
    progression_date = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CaseQuerySet.as_manager()

    class Meta:
        ordering = ["-diagnosis_date", "-id"]
        permissions = [("export_case", "Can export a case's data")]

    def __str__(self) -> str:
        return f"{self.primary_diagnosis} ({self.diagnosis_date:%Y-%m-%d})"

    @property
    def oncotree_name(self) -> str:
        node = oncotree_lookup(self.oncotree_code)
        return node.name if node else ""

    @property
    def icd10_description(self) -> str:
        return icd10_lookup(self.icd10_code) or ""

    @property
    def age_at_diagnosis(self) -> int:
        return self.patient.age_on(self.diagnosis_date)

    @property
    def tnm(self) -> str:
        clinical = " ".join(
            part for part in (self.clinical_t, self.clinical_n, self.clinical_m) if part
        )
        pathological = " ".join(
            part for part in (self.pathological_t, self.pathological_n, self.pathological_m) if part
        )
        return " · ".join(part for part in (clinical, pathological) if part)

    def can_move_to(self, status: str) -> bool:
        return status in self.TRANSITIONS.get(self.status, ())

    def clean(self) -> None:
        today = timezone.localdate()
        errors: dict[str, str] = {}
        if self.oncotree_code:
            self.oncotree_code = self.oncotree_code.strip().upper()
            if oncotree_lookup(self.oncotree_code) is None:
                errors["oncotree_code"] = (
                    f"“{self.oncotree_code}” is not an OncoTree code. Search by name, for example "
                    "“breast” gives IDC (Breast Invasive Ductal Carcinoma)."
                )
        if self.icd10_code:
            from oncology_ui.patients.vocabularies import icd10_normalise

            self.icd10_code = icd10_normalise(self.icd10_code)
            if icd10_lookup(self.icd10_code) is None:
                errors["icd10_code"] = f"“{self.icd10_code}” is not a valid ICD-10-CM code."
            elif not icd10_is_neoplasm(self.icd10_code):
                errors["icd10_code"] = (
                    f"“{self.icd10_code}” is not a neoplasm code (ICD-10-CM chapter II, C00–D49)."
                )
        if self.diagnosis_date:
            if self.diagnosis_date > today:
                errors["diagnosis_date"] = "Date of diagnosis cannot be in the future."
            patient = self.patient if self.patient_id else None
            if patient and self.diagnosis_date < patient.birth_date:
                errors["diagnosis_date"] = "Date of diagnosis cannot be before the date of birth."
        if self.ecog_date and self.ecog_date > today:
            errors["ecog_date"] = "ECOG assessment date cannot be in the future."
        if self.ecog is not None and self.ecog_date is None:
            errors["ecog_date"] = "Enter when the ECOG performance status was assessed."
        if self.menopausal_status and self.patient_id and self.patient.sex == "male":
            errors["menopausal_status"] = "Menopausal status applies to female patients only."
        if self.progression_date:
            if self.progression_date > today:
                errors["progression_date"] = "Date of progression cannot be in the future."
            elif self.diagnosis_date and self.progression_date < self.diagnosis_date:
                errors["progression_date"] = "Progression cannot be before the diagnosis."
        if errors:
            raise ValidationError(errors)


class TimelineEvent(models.Model):
    """A dated event in the history of a case."""

    class Kind(models.TextChoices):
        DIAGNOSIS = "diagnosis", "Diagnosis"
        SURGERY = "surgery", "Surgery"
        RADIOTHERAPY = "radiotherapy", "Radiotherapy"
        SYSTEMIC_THERAPY = "systemic_therapy", "Systemic therapy line"
        IMAGING = "imaging", "Imaging"
        PATHOLOGY = "pathology", "Pathology"
        LAB_PANEL = "lab_panel", "Lab panel"
        RESPONSE = "response", "Response assessment"
        PROGRESSION = "progression", "Progression"
        DEATH = "death", "Death"
        LAST_FOLLOW_UP = "last_follow_up", "Last follow-up"

    class StopReason(models.TextChoices):
        COMPLETED = "completed", "Completed as planned"
        PROGRESSION = "progression", "Progression"
        TOXICITY = "toxicity", "Toxicity"
        PATIENT_CHOICE = "patient_choice", "Patient choice"
        DEATH = "death", "Death"
        OTHER = "other", "Other"

    class Response(models.TextChoices):
        CR = "CR", "Complete response"
        PR = "PR", "Partial response"
        SD = "SD", "Stable disease"
        PD = "PD", "Progressive disease"
        NE = "NE", "Not evaluable"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    date = models.DateField("Date")
    end_date = models.DateField(null=True, blank=True)
    title = models.CharField(max_length=200, blank=True)
    detail = models.TextField(blank=True)
    line_number = models.PositiveSmallIntegerField("Line of therapy", null=True, blank=True)
    regimen = models.CharField(max_length=200, blank=True)
    stop_reason = models.CharField(max_length=20, choices=StopReason.choices, blank=True)
    response = models.CharField(max_length=2, choices=Response.choices, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("date")),
                name="timeline_event_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.date:%Y-%m-%d}"

    @property
    def label(self) -> str:
        if self.kind == self.Kind.SYSTEMIC_THERAPY and self.regimen:
            line = f"Line {self.line_number}: " if self.line_number else ""
            return f"{line}{self.regimen}"
        return self.title or self.get_kind_display()

    def clean(self) -> None:
        today = timezone.localdate()
        errors: dict[str, str] = {}
        if self.date and self.date > today:
            errors["date"] = (
                "Timeline events are things that happened: the date cannot be in the future."
            )
        if self.end_date and self.date and self.end_date < self.date:
            errors["end_date"] = "The end date cannot be before the start date."
        if self.end_date and self.end_date > today:
            errors["end_date"] = "The end date cannot be in the future; leave it empty if ongoing."
        case = self.case if self.case_id else None
        if case and self.date and self.date < case.patient.birth_date:
            errors["date"] = "The event cannot be before the patient's date of birth."
        if self.kind == self.Kind.SYSTEMIC_THERAPY and not self.regimen:
            errors["regimen"] = "Name the regimen of this therapy line (for example FOLFOX)."
        if self.kind == self.Kind.RESPONSE and not self.response:
            errors["response"] = "Choose the response category."
        if self.stop_reason and not self.end_date:
            errors["end_date"] = "A stop reason needs a stop date."
        if errors:
            raise ValidationError(errors)
