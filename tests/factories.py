"""factory_boy factories for the clinical record, teams and users."""

from __future__ import annotations

import datetime as dt
from typing import Any

import factory
from django.contrib.auth.models import Group, User

from oncology_ui.core.models import Team
from oncology_ui.patients.models import Case, Patient, TimelineEvent

PASSWORD = "correct horse battery staple"


class TeamFactory(factory.django.DjangoModelFactory[Team]):
    class Meta:
        model = Team
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Team {n}")


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Alex"
    last_name = factory.Sequence(lambda n: f"Clinician{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.org")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def role(obj: User, create: bool, extracted: str | None, **kwargs: Any) -> None:  # noqa: N805
        if create and extracted:
            obj.groups.add(Group.objects.get(name=extracted))

    @factory.post_generation
    def teams(obj: User, create: bool, extracted: list[Team] | None, **kwargs: Any) -> None:  # noqa: N805
        if create and extracted:
            for team in extracted:
                team.members.add(obj)
        if create:
            obj.save()


class PatientFactory(factory.django.DjangoModelFactory[Patient]):
    class Meta:
        model = Patient
        skip_postgeneration_save = True

    site = "main"
    mrn = factory.Sequence(lambda n: f"ZZCANARY-MRN-{n:05d}")
    given_name = factory.Sequence(lambda n: f"ZZCANARY-GIVEN-{n}")
    family_name = factory.Sequence(lambda n: f"ZZCANARY-FAMILY-{n}")
    birth_date = dt.date(1961, 4, 12)
    sex = Patient.Sex.FEMALE

    @factory.post_generation
    def teams(self, create: bool, extracted: list[Team] | None, **kwargs: Any) -> None:
        if create and extracted:
            self.teams.set(extracted)


class CaseFactory(factory.django.DjangoModelFactory[Case]):
    class Meta:
        model = Case

    patient = factory.SubFactory(PatientFactory)
    primary_diagnosis = "Invasive ductal carcinoma of the breast"
    oncotree_code = "IDC"
    icd10_code = "C50.911"
    histology = "Invasive ductal carcinoma, grade 2"
    diagnosis_date = dt.date(2024, 2, 1)
    clinical_t = "cT2"
    clinical_n = "cN1"
    clinical_m = "cM0"
    stage_group = "IIB"


class TimelineEventFactory(factory.django.DjangoModelFactory[TimelineEvent]):
    class Meta:
        model = TimelineEvent

    case = factory.SubFactory(CaseFactory)
    kind = TimelineEvent.Kind.SURGERY
    date = dt.date(2024, 3, 1)
    title = "Lumpectomy"


def totp_device_enrol(user: User) -> Any:
    """A confirmed authenticator-app device for ``user`` (django-otp's TOTP)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def totp_code(device: Any, steps_ahead: int = 0) -> str:
    """What the authenticator app shows, ``steps_ahead`` 30-s steps from now.

    The server accepts one step either side of its clock plus the drift it learnt from the last
    accepted code, and each step once. So the code is taken on the server's drifted clock (read
    fresh from the database: a code typed across a step boundary shifts the drift), and never at
    or before the last step used.
    """
    import time

    from django_otp.oath import TOTP

    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    if device.last_t is not None and totp.t() <= device.last_t:
        totp.time += (device.last_t + 1 - totp.t()) * device.step
    return f"{totp.token():0{device.digits}d}"
