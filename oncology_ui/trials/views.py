"""Trial matching pages: the case's matches, coordinator search, trial page, work list, import."""

from __future__ import annotations

import csv
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from oncology_ui.core.audit import access_denied, audit_case, audit_patients, audit_record
from oncology_ui.core.decorators import passive
from oncology_ui.core.http import AuthedRequest, case_section_page, page_or_partial
from oncology_ui.core.jobs import JobError
from oncology_ui.core.models import AccessLog
from oncology_ui.patients.access import case_for_user
from oncology_ui.patients.models import Case
from oncology_ui.patients.sections import section_response
from oncology_ui.trials import imports, selectors, services
from oncology_ui.trials.criterion_tags import attach_trial_tags
from oncology_ui.trials.forms import (
    CorpusUploadForm,
    ReferralForm,
    SavedSearchForm,
    TrialSearchForm,
    WorkListAddForm,
    WorkListFilterForm,
    WorkListMoveForm,
)
from oncology_ui.trials.models import (
    ReverseMatchRun,
    SavedSearch,
    Trial,
    TrialCorpusImport,
    WorkListEntry,
)
from oncology_ui.trials.sections import trials_section
from oncology_ui.trials.status import status_is_open

A = AccessLog.Action


def _section_response(request: AuthedRequest, case: Case) -> HttpResponse:
    return section_response(request, case, "trials", trials_section)


def _audit_entry(request: AuthedRequest, action: str, entry: WorkListEntry) -> None:
    audit_case(
        request=request,
        action=action,
        category="trial-worklist",
        case=entry.case,
        object_ref=f"worklist:{entry.pk}",
    )


@login_required
@require_POST
def match_request(request: AuthedRequest, case_id: int) -> HttpResponse:
    """Find trials for a case (or re-run): a background job stores the ranking."""
    case = case_for_user(request, case_id, permission="trials.add_trialmatchresult")
    result = services.trial_match_request(case=case, user=request.user)
    audit_case(
        request=request,
        action=A.CREATE,
        category="trials",
        case=case,
        object_ref=f"trialmatch:{result.pk}",
    )
    if request.htmx:
        return _section_response(request, case)
    messages.info(request, "Trial matching started; the trials section updates when it is ready.")
    return redirect(reverse("patients-case", args=[case.pk]) + "#section-trials")


@login_required
@require_GET
def case_matches(request: AuthedRequest, case_id: int) -> HttpResponse:
    """The case's stored matches, filtered; the list partial for htmx, else a full page."""
    case = case_for_user(request, case_id, permission="trials.view_trialmatchresult")
    audit_case(request=request, action=A.VIEW, category="trials", case=case)
    return case_section_page(
        request,
        case,
        "trials/case_matches.html",
        "trials/trials_section.html#trial-match-list",
        trials_section(request, case),
    )


@login_required
@require_POST
def referral_create(request: AuthedRequest, case_id: int) -> HttpResponse:
    """Refer the case to the trial coordinator for one of its matched trials."""
    case = case_for_user(request, case_id, permission="trials.add_referral")
    form = ReferralForm(request.POST)
    trial = (
        Trial.objects.filter(nct_id=form.cleaned_data["nct_id"]).first()
        if form.is_valid()
        else None
    )
    if trial is None:
        messages.error(request, "Choose a trial from the list to refer the patient to.")
    elif not status_is_open(trial.status) and not form.cleaned_data["confirm_not_recruiting"]:
        # A referral to a trial that takes no patients is likely a slip: ask first, as a
        # plain form step that works without JavaScript.
        context = {"case": case, "patient": case.patient, "trial": trial, "form": form}
        return page_or_partial(
            request,
            "trials/referral_confirm.html",
            "trials/referral_confirm.html#referral-confirm",
            context,
        )
    else:
        referral = services.referral_create(
            case=case, trial=trial, note=form.cleaned_data["note"], user=request.user
        )
        audit_case(
            request=request,
            action=A.CREATE,
            category="trial-referral",
            case=case,
            object_ref=f"referral:{referral.pk}",
        )
        messages.success(request, f"Referred to the trial coordinator for {trial.nct_id}.")
    if request.htmx:
        return _section_response(request, case)
    return redirect(reverse("patients-case", args=[case.pk]) + "#section-trials")


def _search_from(request: AuthedRequest) -> tuple[TrialSearchForm, selectors.TrialSearch]:
    form = TrialSearchForm(request.GET or None)
    if form.is_bound and form.is_valid():
        return form, selectors.TrialSearch(
            **{k: str(v).strip() for k, v in form.cleaned_data.items()}
        )
    return form, selectors.TrialSearch()


@login_required
@permission_required("trials.view_trial", raise_exception=True)
@require_GET
def trial_search(request: AuthedRequest) -> HttpResponse:
    """Search the corpus by text, condition, phase, status and biomarker."""
    form, search = _search_from(request)
    trials, how = selectors.trial_search(search) if not search.empty else ([], "")
    audit_record(request=request, action=A.VIEW, category="trial-search", object_ref="trials")
    context: dict[str, Any] = {
        "form": form,
        "search": search,
        "trials": trials,
        "how": how,
        "corpus_size": Trial.objects.count(),
        "saved": SavedSearch.objects.filter(owner=request.user),
        "save_form": SavedSearchForm(),
        "query": request.GET.urlencode(),
    }
    return page_or_partial(
        request, "trials/search.html", "trials/search.html#trial-results", context
    )


@login_required
@permission_required("trials.add_savedsearch", raise_exception=True)
@require_POST
def saved_search_create(request: AuthedRequest) -> HttpResponse:
    form = SavedSearchForm(request.POST)
    search_form = TrialSearchForm(request.POST)
    if form.is_valid() and search_form.is_valid():
        params = selectors.TrialSearch(
            **{k: str(v).strip() for k, v in search_form.cleaned_data.items()}
        ).params()
        saved = services.saved_search_create(
            user=request.user, name=form.cleaned_data["name"], params=params
        )
        audit_record(
            request=request,
            action=A.CREATE,
            category="trial-search",
            object_ref=f"saved:{saved.pk}",
        )
        messages.success(request, f"Search “{saved.name}” saved.")
    else:
        messages.error(request, "Give the search a name (up to 100 characters).")
    return redirect("trials-search")


@login_required
@require_POST
def saved_search_delete(request: AuthedRequest, search_id: int) -> HttpResponse:
    if not services.saved_search_delete(owner=request.user, search_id=search_id):
        raise access_denied(request, category="trial-search", object_ref=f"saved:{search_id}")
    audit_record(
        request=request, action=A.DELETE, category="trial-search", object_ref=f"saved:{search_id}"
    )
    messages.info(request, "Saved search removed.")
    return redirect("trials-search")


def _trial(nct_id: str) -> Trial:
    return get_object_or_404(Trial, nct_id=nct_id.strip().upper())


def _ranking_context(request: AuthedRequest, trial: Trial) -> dict[str, Any]:
    run = (
        ReverseMatchRun.objects.filter(trial=trial, requested_by=request.user)
        .select_related("job")
        .first()
    )
    view = selectors.reverse_match_view(run, request.user)
    for item in view["ranked"]:
        audit_case(
            request=request,
            action=A.VIEW,
            category="trial-screening",
            case=item["case"],
            object_ref=f"trial:{trial.nct_id}",
        )
    on_list = set(WorkListEntry.objects.filter(trial=trial).values_list("case_id", flat=True))
    return {"trial": trial, "run": run, "ranking": view, "on_list": on_list}


@login_required
@permission_required("trials.view_trial", raise_exception=True)
@require_GET
def trial_detail(request: AuthedRequest, nct_id: str) -> HttpResponse:
    """A trial with its parsed criteria and, for coordinators, the ranked patients."""
    trial = _trial(nct_id)
    audit_record(
        request=request, action=A.VIEW, category="trial", object_ref=f"trial:{trial.nct_id}"
    )
    criteria = selectors.trial_criteria_view(trial)
    tagger = attach_trial_tags(trial, [c for rows in criteria.values() for c in rows])
    context: dict[str, Any] = {"trial": trial, "criteria": criteria, "tagger": tagger}
    if request.user.has_perm("trials.match_patients"):
        context.update(_ranking_context(request, trial))
    return render(request, "trials/trial_detail.html", context)


@login_required
@permission_required("trials.match_patients", raise_exception=True)
@require_POST
def reverse_match_request(request: AuthedRequest, nct_id: str) -> HttpResponse:
    trial = _trial(nct_id)
    run = services.trial_reverse_match_request(trial=trial, user=request.user)
    audit_record(
        request=request, action=A.CREATE, category="trial-screening", object_ref=f"reverse:{run.pk}"
    )
    if request.htmx:
        return render(
            request, "trials/trial_detail.html#reverse-ranking", _ranking_context(request, trial)
        )
    messages.info(request, "Ranking your teams' patients; the list appears when it is ready.")
    return redirect("trials-detail", nct_id=trial.nct_id)


@passive
@login_required
@permission_required("trials.match_patients", raise_exception=True)
@require_GET
def reverse_ranking(request: AuthedRequest, nct_id: str) -> HttpResponse:
    """The ranking partial (refreshed when its job finishes)."""
    trial = _trial(nct_id)
    context = _ranking_context(request, trial)
    if request.htmx:
        return render(request, "trials/trial_detail.html#reverse-ranking", context)
    return redirect("trials-detail", nct_id=trial.nct_id)


@login_required
@permission_required("trials.add_worklistentry", raise_exception=True)
@require_POST
def worklist_add(request: AuthedRequest, nct_id: str) -> HttpResponse:
    trial = _trial(nct_id)
    form = WorkListAddForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a patient to flag.")
        return redirect("trials-detail", nct_id=trial.nct_id)
    case = case_for_user(request, form.cleaned_data["case_id"])
    entry, created = services.worklist_add(case=case, trial=trial, user=request.user)
    _audit_entry(request, A.CREATE, entry)
    messages.success(
        request,
        "Flagged on the work list." if created else "Already on the work list for this trial.",
    )
    return redirect("trials-detail", nct_id=trial.nct_id)


def _worklist_filtered(
    request: AuthedRequest,
) -> tuple[WorkListFilterForm, QuerySet[WorkListEntry]]:
    """The filter form from the query string, and the user's work list narrowed by it."""
    form = WorkListFilterForm(request.GET or None)
    status = nct_id = ""
    if form.is_bound and form.is_valid():
        status, nct_id = form.cleaned_data["status"], form.cleaned_data["nct_id"]
    return form, selectors.worklist_for_user(request.user, status=status, nct_id=nct_id)


@login_required
@permission_required("trials.view_worklistentry", raise_exception=True)
@require_GET
def worklist(request: AuthedRequest) -> HttpResponse:
    """The coordinator's work list across the user's teams."""
    form, matching = _worklist_filtered(request)
    entries = list(matching[:200])
    for entry in entries:
        _audit_entry(request, A.VIEW, entry)
    return render(
        request,
        "trials/worklist.html",
        {
            "form": form,
            "entries": entries,
            "move_form": WorkListMoveForm(),
            "statuses": WorkListEntry.Status,
            "query": request.GET.urlencode(),
        },
    )


def _entry_for_user(request: AuthedRequest, entry_id: int) -> WorkListEntry:
    return WorkListEntry.objects.select_related("trial", "case__patient").visible_or_denied(
        request,
        entry_id,
        permission="trials.change_worklistentry",
        category="trial-worklist",
        kind="worklist",
    )


@login_required
@require_POST
def worklist_move(request: AuthedRequest, entry_id: int) -> HttpResponse:
    """Move a work-list entry to another status (validated; reason required for not eligible)."""
    entry = _entry_for_user(request, entry_id)
    form = WorkListMoveForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
    else:
        try:
            services.worklist_move(
                entry=entry,
                status=form.cleaned_data["status"],
                reason=form.cleaned_data["reason"],
                user=request.user,
            )
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            _audit_entry(request, A.UPDATE, entry)
            messages.success(request, "Status updated.")
    return redirect("trials-worklist")


@login_required
@permission_required("trials.export_worklist", raise_exception=True)
@require_GET
def worklist_export(request: AuthedRequest) -> HttpResponse:
    """The work list as CSV; cells that a spreadsheet would run as formulas are neutralised."""
    _, entries = _worklist_filtered(request)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="trial-worklist.csv"'
    # A downloaded file must never run as a page of this site.
    response["Content-Security-Policy"] = "sandbox"
    writer = csv.writer(response)
    for row in selectors.worklist_csv_rows(entries):
        writer.writerow(row)
    audit_patients(
        request=request,
        action=A.EXPORT,
        category="trial-worklist",
        patient_ids=sorted(entry.case.patient_id for entry in entries),
        object_ref="worklist.csv",
    )
    return response


@login_required
@permission_required("trials.add_trialcorpusimport", raise_exception=True)
@require_http_methods(["GET", "POST"])
def corpus_import(request: AuthedRequest) -> HttpResponse:
    """Administrators upload ClinicalTrials.gov records; the import runs as a job."""
    form = CorpusUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            record = imports.trial_corpus_upload(
                upload=form.cleaned_data["file"], user=request.user
            )
        except JobError as exc:
            form.add_error("file", str(exc))
        else:
            audit_record(
                request=request,
                action=A.CREATE,
                category="trial-import",
                object_ref=f"trialimport:{record.pk}",
            )
            return redirect("trials-import-detail", import_id=record.pk)
    return render(
        request,
        "trials/import.html",
        {
            "form": form,
            "recent": TrialCorpusImport.objects.select_related("job")[:20],
            "corpus_size": Trial.objects.count(),
            "with_vectors": Trial.objects.filter(embedding__isnull=False).count(),
        },
    )


@login_required
@permission_required("trials.view_trialcorpusimport", raise_exception=True)
@require_GET
def corpus_import_detail(request: AuthedRequest, import_id: int) -> HttpResponse:
    record = TrialCorpusImport.objects.select_related("job").filter(pk=import_id).first()
    if record is None:
        raise Http404("No such import")
    audit_record(
        request=request,
        action=A.VIEW,
        category="trial-import",
        object_ref=f"trialimport:{record.pk}",
    )
    return render(request, "trials/import_detail.html", {"record": record})
