"""factory_boy factories for imaging rows that tests need without running an ingest."""

from __future__ import annotations

import datetime as dt

import factory

from oncology_ui.imaging.models import ImagingStudy, ImagingUpload, RecistAssessment
from tests.factories import CaseFactory


class ImagingUploadFactory(factory.django.DjangoModelFactory[ImagingUpload]):
    class Meta:
        model = ImagingUpload

    case = factory.SubFactory(CaseFactory)
    status = ImagingUpload.Status.STORED
    label = "study.zip"
    incoming_key = factory.Faker("hexify", text="^" * 32)


class ImagingStudyFactory(factory.django.DjangoModelFactory[ImagingStudy]):
    class Meta:
        model = ImagingStudy

    case = factory.SubFactory(CaseFactory)
    upload = factory.SubFactory(ImagingUploadFactory, case=factory.SelfAttribute("..case"))
    study_uid = factory.Sequence(lambda n: f"2.25.{1000 + n}")
    study_date = dt.date(2024, 3, 1)


class RecistAssessmentFactory(factory.django.DjangoModelFactory[RecistAssessment]):
    """A baseline time point with two targets (30 + 20 mm) and one non-target."""

    class Meta:
        model = RecistAssessment

    case = factory.SubFactory(CaseFactory)
    date = dt.date(2024, 3, 1)
    lesions = factory.LazyFunction(
        lambda: [
            {"lesion_id": "T1", "kind": "target", "diameter_mm": 30.0, "organ": "liver"},
            {"lesion_id": "T2", "kind": "target", "diameter_mm": 20.0, "organ": "lung"},
            {"lesion_id": "N1", "kind": "non_target", "status": "present", "organ": "bone"},
        ]
    )
    sum_of_diameters_mm = 50.0
