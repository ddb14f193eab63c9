"""What every row written from an accepted proposal shares: its source and its key."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User

from oncology_ui.clinical.models import ClinicalFact
from oncology_ui.notes.models import ClinicalDocument, ProposedFact


def provenance(document: ClinicalDocument, user: User) -> str:
    return f"from {document.citation}, accepted by {user.get_username()}"[:200]


def proposal_key(proposal: ProposedFact) -> str:
    """Unique per case (the rows' constraint), so one proposal never becomes two rows."""
    return f"note:{proposal.document_id}:{proposal.pk}"


def clinical_fact(
    proposal: ProposedFact, user: User, *, kind: str, display: str, **fields: Any
) -> ClinicalFact:
    document = proposal.document
    row = ClinicalFact(
        case=proposal.case,
        source_ref=provenance(document, user),
        source_key=proposal_key(proposal),
        kind=kind,
        display=display[:200],
        date=fields.pop("date", document.document_date),
        detail={
            "document": document.pk,
            "span": [proposal.start, proposal.end],
            **fields.pop("detail", {}),
        },
        **fields,
    )
    row.full_clean()
    row.save()
    return row
