"""The trials section of the case page and the trials part of the case report."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from oncology_ui.patients.models import Case
from oncology_ui.trials.forms import MatchFilterForm
from oncology_ui.trials.imports import corpus_version
from oncology_ui.trials.models import Referral, TrialMatchResult
from oncology_ui.trials.selectors import MatchFilters, match_view


def match_filters(request: HttpRequest) -> tuple[MatchFilterForm, MatchFilters]:
    form = MatchFilterForm(request.GET or None)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        return form, MatchFilters(
            status=data["status"],
            phase=data["phase"],
            intervention_type=data["intervention_type"],
            biomarker_only=data["biomarker_only"],
        )
    return form, MatchFilters()


def trials_section(request: HttpRequest, case: Case) -> dict[str, Any]:
    """Cheap (at most four queries): the latest result with its job, the latest finished one if
    that is pending, the referrals already made and the corpus version; nothing is recomputed."""
    latest = TrialMatchResult.objects.filter(case=case).select_related("job").first()
    finished = latest
    if latest is not None and latest.matches is None:
        finished = (
            TrialMatchResult.objects.filter(case=case, matches__isnull=False)
            .select_related("job")
            .first()
        )
    pending_job = latest.job if latest is not None and latest.matches is None else None
    form, filters = match_filters(request)
    referred = (
        set(Referral.objects.filter(case=case).values_list("trial__nct_id", flat=True))
        if finished is not None
        else set()
    )
    current = corpus_version() if finished is not None else None
    return {
        "trial_corpus_changed": finished is not None
        and current is not None
        and finished.corpus_version != current,
        "trial_referred": referred,
        "trial_result": finished,
        "trial_job": pending_job,
        "trial_filters": form,
        "trial_filters_active": filters.active,
        "trial_view": match_view(finished, filters),
        "can_match_trials": request.user.has_perm("trials.add_trialmatchresult"),
        "can_view_trial_matches": request.user.has_perm("trials.view_trialmatchresult"),
        "can_refer": request.user.has_perm("trials.add_referral"),
    }
