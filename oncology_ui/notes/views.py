"""Documents: add one, read it with its proposed facts, and review them (accept, edit, reject).

Every action works as a plain form post (redirect back to the document) and as an htmx post
that swaps just the fact's row, or the whole queue for "accept all".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from oncology_ui.core.audit import audit_case
from oncology_ui.core.decorators import passive
from oncology_ui.core.forms import add_validation_error
from oncology_ui.core.http import AuthedRequest
from oncology_ui.core.ingest import content_length, ingest_received_response, ingest_status_response
from oncology_ui.core.models import AccessLog
from oncology_ui.notes import review, services
from oncology_ui.notes.forms import DocumentForm, ProposalEditForm
from oncology_ui.notes.models import ClinicalDocument, ProposedFact
from oncology_ui.patients.access import case_for_user

A = AccessLog.Action
PAGE = "notes/document_detail.html"


def _document_for_user(
    request: HttpRequest, document_id: int, *, permission: str = "notes.view_clinicaldocument"
) -> ClinicalDocument:
    """The document if its case is in the user's teams and the role allows; else 404 + audit."""
    return ClinicalDocument.objects.select_related("case__patient", "job").visible_or_denied(
        request, document_id, permission=permission, category="document", kind="document"
    )


def _proposal_for_user(request: HttpRequest, proposal_id: int) -> ProposedFact:
    return ProposedFact.objects.select_related(
        "document__case__patient", "case__patient"
    ).visible_or_denied(
        request,
        proposal_id,
        permission="notes.change_proposedfact",
        category="document-fact",
        kind="proposal",
    )


def _audit_document(
    request: AuthedRequest, action: str, category: str, document: ClinicalDocument
) -> None:
    audit_case(
        request=request,
        action=action,
        category=category,
        case=document.case,
        object_ref=f"document:{document.pk}",
    )


def _queue_context(request: AuthedRequest, document: ClinicalDocument) -> dict[str, Any]:
    proposals = list(document.proposals.all().select_related("reviewed_by"))
    for proposal in proposals:
        proposal.document = document  # the text is read once, not once per fact
    return {
        "document": document,
        "record": document,
        "case": document.case,
        "patient": document.case.patient,
        "proposals": proposals,
        "waiting": sum(1 for p in proposals if p.status == ProposedFact.Status.PROPOSED),
        "can_review": request.user.has_perm("notes.change_proposedfact"),
    }


@login_required
@require_http_methods(["GET", "POST"])
def document_create(request: AuthedRequest, case_id: int) -> HttpResponse:
    """Paste or upload a document; it is checked, stored and read in the background."""
    case = case_for_user(request, case_id, permission="notes.add_clinicaldocument")
    limit = services.max_upload_bytes()
    context: dict[str, Any] = {
        "case": case,
        "patient": case.patient,
        "limit_mb": limit // 1_048_576,
    }
    if request.method == "POST" and content_length(request) > limit + 1_048_576:
        # Refused before the body is read, so an oversized upload is never buffered.
        return render(
            request,
            "notes/document_form.html",
            {**context, "form": DocumentForm(), "too_large": True},
            status=413,
        )
    form = DocumentForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        upload = data["file"]
        try:
            document = services.document_receive(
                case=case,
                user=request.user,
                kind=data["kind"] or "",
                title=data["title"] or "",
                author=data["author"] or "",
                document_date=data["document_date"],
                text=data["text"] or "",
                upload=upload,
                name=(upload.name or "upload") if upload else "",
                size=(upload.size or 0) if upload else 0,
            )
        except ValidationError as exc:
            add_validation_error(form, exc)
        else:
            return ingest_received_response(
                request,
                document,
                patient_id=case.patient_id,
                category="document",
                object_ref=f"document:{document.pk}",
                message="Document stored; its facts are being read for your review.",
            )
    return render(
        request,
        "notes/document_form.html",
        {**context, "form": form},
        status=400 if form.errors else 200,
    )


@passive
@login_required
@require_GET
def document_detail(request: AuthedRequest, document_id: int) -> HttpResponse:
    """The document's text and its review queue; as an htmx poll, its reading status."""
    document = _document_for_user(request, document_id)
    _audit_document(request, A.VIEW, "document", document)
    return ingest_status_response(
        request, document, page=PAGE, context=_queue_context(request, document)
    )


def _proposal_row(
    request: AuthedRequest, proposal: ProposedFact, *, error: str = "", form: Any = None
) -> HttpResponse:
    """The fact's row of the review queue, as htmx swaps it in; 400 with an error or bad form."""
    context = {
        "p": proposal,
        "document": proposal.document,
        "can_review": True,
        "error": error,
        "edit_form": form,
    }
    failed = bool(error) or bool(form is not None and form.errors)
    return render(request, f"{PAGE}#proposal", context, status=400 if failed else 200)


def _reviewed(request: AuthedRequest, proposal: ProposedFact, error: str = "") -> HttpResponse:
    """After an action on one fact: its row (htmx) or the document page (plain form)."""
    if request.htmx:
        return _proposal_row(request, proposal, error=error)
    if error:
        messages.error(request, error)
    return redirect("notes-document", document_id=proposal.document_id)


def _audit_review(request: AuthedRequest, proposal: ProposedFact, what: str) -> None:
    audit_case(
        request=request,
        action=A.UPDATE,
        category=f"document-fact-{what}",
        case=proposal.case,
        object_ref=f"proposal:{proposal.pk}",
    )


def _review_as_read(
    request: AuthedRequest,
    proposal_id: int,
    *,
    action: Callable[..., ProposedFact],
    what: str,
    done: str = "",
) -> HttpResponse:
    """Accept or reject one fact as read; ``done`` (with ``{label}``) is the plain-form message."""
    proposal = _proposal_for_user(request, proposal_id)
    try:
        proposal = action(proposal=proposal, user=request.user)
    except ValidationError as exc:
        return _reviewed(request, proposal, " ".join(exc.messages))
    _audit_review(request, proposal, what)
    if done and not request.htmx:
        messages.success(request, done.format(label=proposal.label))
    return _reviewed(request, proposal)


@login_required
@require_POST
def proposal_accept(request: AuthedRequest, proposal_id: int) -> HttpResponse:
    return _review_as_read(
        request,
        proposal_id,
        action=review.proposal_accept,
        what="accept",
        done="Accepted: {label}.",
    )


@login_required
@require_POST
def proposal_reject(request: AuthedRequest, proposal_id: int) -> HttpResponse:
    return _review_as_read(request, proposal_id, action=review.proposal_reject, what="reject")


@login_required
@require_http_methods(["GET", "POST"])
def proposal_edit(request: AuthedRequest, proposal_id: int) -> HttpResponse:
    """Correct a fact's values or flags, then accept it."""
    proposal = _proposal_for_user(request, proposal_id)
    form = ProposalEditForm(request.POST or None, proposal=proposal)
    if request.method == "POST" and form.is_valid():
        try:
            proposal = review.proposal_accept(
                proposal=proposal, user=request.user, edits=form.edits(), flags=form.flags()
            )
        except ValidationError as exc:
            add_validation_error(form, exc)
        else:
            _audit_review(request, proposal, "edit-accept")
            if not request.htmx:
                messages.success(request, f"Accepted as edited: {proposal.label}.")
            return _reviewed(request, proposal)
    if request.htmx:
        return _proposal_row(request, proposal, form=form)
    return render(
        request,
        "notes/proposal_edit.html",
        {"p": proposal, "form": form, "case": proposal.case, "patient": proposal.case.patient},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def document_accept_all(request: AuthedRequest, document_id: int) -> HttpResponse:
    """Accept every fact of the document that can be accepted as read; say why others wait."""
    document = _document_for_user(request, document_id, permission="notes.change_proposedfact")
    result = review.document_accept_all(document=document, user=request.user)
    _audit_document(request, A.UPDATE, "document-fact-accept-all", document)
    summary = f"{result.accepted} accepted; {len(result.left)} left for you to review."
    if request.htmx:
        context = {**_queue_context(request, document), "bulk_summary": summary}
        return render(request, f"{PAGE}#review-queue", context)
    messages.info(request, summary)
    return redirect("notes-document", document_id=document.pk)
