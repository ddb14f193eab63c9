"""The slide ingest job: a thin entry point that calls :func:`services.slide_ingest`.

A slide imported from the PACS is retrieved first (:func:`pacs.slide_pacs_retrieve`), then
ingested like an upload; the retrieve is audited with its outcome.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError

from oncology_ui.core.jobs import PermanentJobError, ProgressCallback
from oncology_ui.core.models import AccessLog, Job
from oncology_ui.imaging.pacs import PacsError
from oncology_ui.pathology import pacs, services
from oncology_ui.pathology.models import Slide


def slide_ingest_job(job: Job, progress: ProgressCallback) -> dict[str, object] | None:
    slide = Slide.objects.select_related("case__patient", "created_by").filter(pk=job.target_id)
    found = slide.first()
    if found is None:
        return {"skipped": "slide removed"}
    if found.pacs_series_uid and not found.original_path and found.is_pending:
        try:
            pacs.slide_pacs_retrieve(slide=found, progress=progress)
        except (PacsError, ValidationError) as exc:
            text = str(exc) if isinstance(exc, PacsError) else " ".join(exc.messages)
            services.slide_fail(slide=found, message=text)
            refused = "another Patient ID" in text
            pacs.audit_pacs_retrieve(
                found, AccessLog.Outcome.DENIED if refused else AccessLog.Outcome.FAILURE
            )
            raise PermanentJobError(text) from exc
        pacs.audit_pacs_retrieve(found, AccessLog.Outcome.SUCCESS)

        def ingest_progress(percent: int, message: str) -> None:
            progress(5 + percent * 95 // 100, message)

        return services.slide_ingest(slide=found, progress=ingest_progress)
    return services.slide_ingest(slide=found, progress=progress)
