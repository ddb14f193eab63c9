"""The slide ingest job: a thin entry point that calls :func:`services.slide_ingest`."""

from __future__ import annotations

from oncology_ui.core.jobs import ProgressCallback
from oncology_ui.core.models import Job
from oncology_ui.pathology import services
from oncology_ui.pathology.models import Slide


def slide_ingest_job(job: Job, progress: ProgressCallback) -> dict[str, object] | None:
    slide = Slide.objects.filter(pk=job.target_id).first()
    if slide is None:
        return {"skipped": "slide removed"}
    return services.slide_ingest(slide=slide, progress=progress)
