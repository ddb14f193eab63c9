"""Helpers for the notes tests: store a document through the real service and read it now."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

from django.contrib.auth.models import User
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from oncology_ui.core.jobs import job_run
from oncology_ui.notes import services
from oncology_ui.notes.models import ClinicalDocument, ProposedFact
from oncology_ui.patients.models import Case

NOTE = (
    Path(__file__).resolve().parents[2] / "fixtures" / "notes" / "oncology_clinic_note.txt"
).read_text()


def read_note(
    case: Case, text: str = NOTE, *, user: User | None = None, on: dt.date = dt.date(2025, 1, 10)
) -> ClinicalDocument:
    """Store ``text`` as a clinic note of ``case`` and run its reading job now."""
    document = services.document_receive(
        case=case,
        user=user,
        kind=ClinicalDocument.Kind.CLINICAL_NOTE,
        title="Oncology clinic",
        author="Dr A. Example",
        document_date=on,
        text=text,
    )
    assert document.job is not None
    job_run(document.job.pk)
    document.refresh_from_db()
    return document


def proposal(document: ClinicalDocument, kind: str, evidence: str) -> ProposedFact:
    found = [p for p in document.proposals.filter(kind=kind) if p.evidence == evidence]
    assert len(found) == 1, [(p.kind, p.evidence) for p in document.proposals.all()]
    return found[0]


def pdf_bytes(lines: list[str]) -> bytes:
    """A real PDF; with no lines it has a drawing and no text layer, like a scan."""
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4)
    if lines:
        y = 800
        for line in lines:
            page.drawString(50, y, line)
            y -= 16
    else:
        page.rect(50, 50, 400, 600, fill=1)
    page.showPage()
    page.save()
    return buffer.getvalue()
