"""The case page's generative section: what we know and what we don't, the hallmark profile
(measured, or imputed with its interval), the next best tests, prognosis under imputation and the
in-silico experiment form with its last result."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from inference.generative.profile import HYPOTHESIS, RESEARCH_USE
from inference.hallmarks.profile import (
    CapabilityScore,
    HallmarkProfile,
    ProgrammeScore,
    set_label,
)
from oncology_ui.clinical.models import ExpressionProfile
from oncology_ui.generative.compute import MODALITY_LABELS
from oncology_ui.generative.forms import ExperimentForm
from oncology_ui.generative.inputs import case_observation
from oncology_ui.generative.models import GenerativeProfile, InSilicoExperiment, Status
from oncology_ui.patients.models import Case

NON_COMMERCIAL = (
    "The generative model's weights were trained on TCGA tables distributed for non-commercial "
    "academic use (PORPOISE): research use only, not for commercial use."
)

#: What the held-out validation in the model card says about imputed values, in words.
IMPUTATION_CAVEAT = (
    "Held-out validation (TCGA, fold 0; see the model card): the 80% intervals cover about 80% "
    "of true values, but imputed expression and hallmark scores correlate only weakly with the "
    "measured ones (worse than a ridge-regression baseline), so an imputed value says little "
    "about this tumour beyond the spread of similar tumours in its cohort."
)


def hallmark_profile_of(data: dict[str, Any]) -> HallmarkProfile:
    """The stored (JSON) imputed profile as the dataclass the hallmark templates render."""
    capabilities = tuple(
        CapabilityScore(
            programme=ProgrammeScore(**c["programme"]),
            kind=c["kind"],
            gene_sets=tuple((str(n), int(d)) for n, d in c["gene_sets"]),
            related_sets=tuple(c["related_sets"]),
            rationale=c["rationale"],
            sources=tuple(c["sources"]),
        )
        for c in data["capabilities"]
    )
    return HallmarkProfile(
        **{
            **{k: v for k, v in data.items() if k not in ("gene_sets", "capabilities")},
            "gene_sets": tuple(ProgrammeScore(**s) for s in data["gene_sets"]),
            "capabilities": capabilities,
        }
    )


def modality_rows(profile: GenerativeProfile) -> list[dict[str, Any]]:
    """One row per modality: measured, imputed, partly measured, or never learnt for the type."""
    counts = profile.feature_counts or {}
    unavailable = set(counts.get("unavailable") or [])
    rows = []
    for modality, label in MODALITY_LABELS.items():
        count = counts.get(modality) or {}
        measured, imputed = count.get("measured", 0), count.get("imputed", 0)
        if modality == "clinical":
            observation = profile.observation
            given = [k for k in ("age", "is_female") if observation.get(k) is not None]
            measured, imputed = len(given), 2 - len(given)
        if modality in unavailable:
            state = "not modelled for this cancer type"
        elif measured and imputed:
            state = "partly measured, rest imputed"
        elif measured:
            state = "measured"
        else:
            state = "imputed"
        rows.append({"label": label, "state": state, "measured": measured, "imputed": imputed})
    return rows


def points(value: float | None) -> str:
    """A probability difference in percentage points, one decimal (``"+0.4"``)."""
    return "n/a" if value is None else f"{round(100 * value, 1) + 0.0:+.1f}"


def next_test_rows(next_tests: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The ranking as shown: changes in points with one decimal (most are below one point)."""
    return [
        {
            **test,
            "change": f"{100 * test['expected_change']:.1f}",
            "range": "–".join(f"{100 * v:.0f}%" for v in test["post_test_range"]),
        }
        for test in (next_tests or {}).get("tests") or []
    ]


def experiment_view(experiment: InSilicoExperiment) -> dict[str, Any]:
    """The experiment's hallmark shifts under readable names, and the prognosis shift."""
    result = experiment.result or {}
    shift = result.get("prognosis_shift")
    return {
        "shifts": [{**s, "label": set_label(s["name"])} for s in (result.get("shifts") or [])[:10]],
        "prognosis": {
            "mean": points(shift["mean"]),
            "lower": points(shift["lower"]),
            "upper": points(shift["upper"]),
            "before": f"{100 * shift['before']:.0f}%",
            "after": f"{100 * shift['after']:.0f}%",
            "model": shift["survival_model"],
        }
        if shift
        else None,
    }


def learnt_genes_of(profile: GenerativeProfile | None) -> list[str] | None:
    """The mutations the model learnt for the case's type, from its last computed profile."""
    if profile is None or profile.status != Status.OK:
        return None
    return list((profile.feature_counts or {}).get("mutation_genes") or []) or None


def generative_section(request: HttpRequest, case: Case, **extra: Any) -> dict[str, Any]:
    """Section loader: the latest profile and experiment of the case, and their pending jobs."""
    profile = GenerativeProfile.objects.filter(case=case).select_related("job").first()
    experiment = InSilicoExperiment.objects.filter(case=case).select_related("job").first()
    shown = (
        GenerativeProfile.objects.filter(case=case).exclude(status=Status.PENDING).first()
        if profile is not None and profile.status == Status.PENDING
        else profile
    )
    context: dict[str, Any] = {
        "gen_profile": shown,
        "gen_profile_job": profile.job if profile and profile.status == Status.PENDING else None,
        "gen_experiment": experiment,
        "gen_experiment_job": (
            experiment.job if experiment and experiment.status == Status.PENDING else None
        ),
        "can_profile": request.user.has_perm("generative.add_generativeprofile"),
        "can_experiment": request.user.has_perm("generative.add_insilicoexperiment"),
        "expression_measured": ExpressionProfile.objects.filter(case=case).exists(),
        "research_use": RESEARCH_USE,
        "non_commercial": NON_COMMERCIAL,
        "imputation_caveat": IMPUTATION_CAVEAT,
        "hypothesis": HYPOTHESIS,
    }
    if experiment is not None and experiment.status == Status.OK:
        context["gen_experiment_view"] = experiment_view(experiment)
    if shown is not None and shown.status == Status.OK:
        context["gen_modalities"] = modality_rows(shown)
        context["gen_next_tests"] = next_test_rows(shown.next_tests)
        context["hallmarks"] = (
            {"profile": hallmark_profile_of(shown.hallmarks), "upload": None}
            if shown.hallmarks
            else None
        )
    # A type the model was not trained on: the refusal says so, and no experiment is offered.
    if context["can_experiment"] and not (shown is not None and shown.status == Status.REFUSED):
        context["experiment_form"] = extra.get("experiment_form") or ExperimentForm(
            observation=case_observation(case), learnt=learnt_genes_of(shown)
        )
    return context
