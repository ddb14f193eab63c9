"""Requesting a generative profile or an in-silico experiment for a case, and running each as a
background job (the row is the state; the job function is safe to run twice)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction

from inference.generative.profile import InSilicoChange
from oncology_ui.core.jobs import JobError, ProgressCallback, job_enqueue
from oncology_ui.core.models import Job
from oncology_ui.generative.compute import experiment_compute, json_safe, profile_compute
from oncology_ui.generative.inputs import case_needs, case_observation
from oncology_ui.generative.models import GenerativeProfile, InSilicoExperiment, Status
from oncology_ui.patients.models import Case

if TYPE_CHECKING:
    from inference.generative.model import GenerativeModel
    from inference.predictor import SurvivalPredictor

logger = logging.getLogger(__name__)

PROFILE_JOB = "generative_profile"
EXPERIMENT_JOB = "insilico_experiment"


@transaction.atomic
def generative_profile_request(*, case: Case, user: User) -> GenerativeProfile:
    """Snapshot what the record holds and queue the generative profile of the case."""
    profile = GenerativeProfile.objects.create(
        case=case, requested_by=user, observation=case_observation(case)
    )
    profile.job = job_enqueue(
        kind=PROFILE_JOB, target=profile, user=user, message="Generative profile queued"
    )
    profile.save(update_fields=["job"])
    return profile


@transaction.atomic
def insilico_experiment_request(
    *, case: Case, user: User, change: InSilicoChange
) -> InSilicoExperiment:
    """Queue one in-silico experiment on what the record holds now."""
    experiment = InSilicoExperiment.objects.create(
        case=case,
        requested_by=user,
        observation=case_observation(case),
        change={
            "modality": change.modality,
            "feature": change.feature,
            "value": change.value,
            "description": change.description,
        },
    )
    experiment.job = job_enqueue(
        kind=EXPERIMENT_JOB, target=experiment, user=user, message="In-silico experiment queued"
    )
    experiment.save(update_fields=["job"])
    return experiment


def _models() -> tuple[GenerativeModel, SurvivalPredictor | None]:
    """The shipped generative model and the survival model that scores its samples.

    Without the generative model nothing can be computed (a job error a person can act on);
    without the survival model the profile is still computed, without prognosis.
    """
    import torch

    import inference
    from inference.generative.model import load_generative

    torch.set_num_threads(settings.GENERATIVE_TORCH_THREADS)
    try:
        generative = load_generative()
    except Exception as exc:
        logger.error("generative model unavailable: %s", type(exc).__name__)
        raise JobError(
            "The generative model is unavailable (its weights could not be verified or "
            "loaded). Other features are unaffected; tell your administrator."
        ) from exc
    try:
        predictor: SurvivalPredictor | None = inference.load_model()
    except Exception as exc:
        logger.error("survival model unavailable: %s", type(exc).__name__)
        predictor = None
    return generative, predictor


def _untrained(exc: Exception) -> str:
    """The model's own reason, as a sentence for the page."""
    text = str(exc)
    return (text[:1].upper() + text[1:]).rstrip(".")[:480] + "."


def generative_profile_run(job: Job, progress: ProgressCallback) -> dict[str, object]:
    """Compute the profile of the row's snapshot; a finished row is left as it is."""
    from inference.generative.model import UntrainedTypeError

    profile = GenerativeProfile.objects.select_related("case").get(pk=job.target_id)
    if profile.status != Status.PENDING:
        return {"profile": profile.pk}
    progress(5, "Loading the generative model")
    generative, predictor = _models()
    progress(20, "Imputing what the record lacks")
    try:
        fields: dict[str, Any] = profile_compute(
            generative,
            predictor,
            profile.observation,
            case_needs(profile.case),
            n_samples=settings.GENERATIVE_SAMPLES,
            seed=settings.GENERATIVE_SEED,
            draws=settings.GENERATIVE_NEXT_TEST_DRAWS,
            prognosis_samples=settings.GENERATIVE_PROGNOSIS_SAMPLES,
        )
    except UntrainedTypeError as exc:
        profile.status, profile.refusal = Status.REFUSED, _untrained(exc)
        profile.model_version, profile.weights_sha256 = (
            generative.version,
            generative.weights_sha256,
        )
        profile.save()
        return {"profile": profile.pk, "refused": True}
    progress(95, "Saving the profile")
    for name, value in fields.items():
        setattr(profile, name, value)
    profile.status = Status.OK
    profile.save()
    return {"profile": profile.pk}


def insilico_experiment_run(job: Job, progress: ProgressCallback) -> dict[str, object]:
    """Run the row's experiment; an untrained type or unknown change is stored as a refusal."""
    from oncology_ui.generative.compute import change_of

    experiment = InSilicoExperiment.objects.get(pk=job.target_id)
    if experiment.status != Status.PENDING:
        return {"experiment": experiment.pk}
    progress(5, "Loading the generative model")
    generative, predictor = _models()
    experiment.model_version = generative.version
    experiment.weights_sha256 = generative.weights_sha256
    experiment.seed = settings.GENERATIVE_SEED
    experiment.n_samples = settings.GENERATIVE_SAMPLES
    progress(20, "Running the experiment")
    try:
        result = experiment_compute(
            generative,
            predictor,
            experiment.observation,
            change_of(experiment.change),
            n_samples=settings.GENERATIVE_SAMPLES,
            seed=settings.GENERATIVE_SEED,
            prognosis_samples=settings.GENERATIVE_PROGNOSIS_SAMPLES,
        )
    except ValueError as exc:  # UntrainedTypeError is one; so is an unknown gene or programme
        experiment.status, experiment.refusal = Status.REFUSED, _untrained(exc)
        experiment.save()
        return {"experiment": experiment.pk, "refused": True}
    experiment.result = json_safe(result)
    experiment.status = Status.OK
    experiment.save()
    return {"experiment": experiment.pk}
