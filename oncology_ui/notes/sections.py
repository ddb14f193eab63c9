"""The documents section of the case page: the case's documents and how many facts wait."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Count, Q
from django.http import HttpRequest
from django.urls import reverse

from oncology_ui.notes.models import ClinicalDocument, ProposedFact
from oncology_ui.patients.models import Case


def documents_section(request: HttpRequest, case: Case) -> dict[str, Any]:
    documents = list(
        ClinicalDocument.objects.filter(case=case)
        .select_related("job")
        .annotate(
            waiting=Count("proposals", filter=Q(proposals__status=ProposedFact.Status.PROPOSED))
        )
        .defer("text")[:20]
    )
    return {
        "documents": documents,
        "proposals_waiting": proposals_waiting_count(case),
        "can_add_document": request.user.has_perm("notes.add_clinicaldocument"),
        "can_review": request.user.has_perm("notes.change_proposedfact"),
    }


def proposals_waiting_count(case: Case) -> int:
    """Proposed facts of the case that nobody has reviewed yet (the summary's reminder)."""
    return ProposedFact.objects.filter(case=case, status=ProposedFact.Status.PROPOSED).count()


@dataclass(frozen=True)
class DocumentEntry:
    """A document as a timeline entry: the attributes the timeline partial reads of an event."""

    date: date
    label: str
    detail: str
    url: str
    kind: str = "document"
    end_date: None = None
    response: str = ""
    stop_reason: str = ""

    def get_kind_display(self) -> str:
        return "Document"


def timeline_documents(case: Case) -> list[DocumentEntry]:
    """The case's documents, dated, for the timeline (their text is not read)."""
    return [
        DocumentEntry(
            date=d.document_date,
            label=f"{d.get_kind_display()}: {d.title}",
            detail=f"By {d.author}",
            url=reverse("notes-document", args=[d.pk]),
        )
        for d in ClinicalDocument.objects.filter(case=case).only(
            "id", "kind", "title", "author", "document_date", "case_id"
        )
    ]
