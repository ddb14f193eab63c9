"""The generative section of the case report: what we know and what we don't, the hallmark
profile (measured or imputed), the next best tests and the last in-silico experiment, from the
stored rows only."""

from __future__ import annotations

from typing import Any

from oncology_ui.clinical.models import ExpressionProfile
from oncology_ui.generative.models import GenerativeProfile, InSilicoExperiment, Status
from oncology_ui.generative.sections import (
    IMPUTATION_CAVEAT,
    NON_COMMERCIAL,
    experiment_view,
    hallmark_profile_of,
    modality_rows,
)
from oncology_ui.patients.models import Case
from oncology_ui.reports.data import OptionalSection
from oncology_ui.reports.hallmarks import profile_report

TITLE = "Generative model: what we know and what we don't (research use only)"


def _percent(value: Any) -> str:
    return "n/a" if value is None else f"{100 * float(value):.0f}%"


def _profile_lines(profile: GenerativeProfile, case: Case) -> list[str]:
    validation = profile.validation or {}
    lines = [
        f"Model {profile.model_version} (weights sha256 {profile.weights_sha256[:16]}…), "
        f"{profile.n_samples} samples, seed {profile.seed}, computed "
        f"{profile.created_at:%Y-%m-%d %H:%M} UTC. Trained on {validation.get('training_rows')} "
        f"TCGA cases; 80% intervals calibrated on {validation.get('inner_validation_rows')} "
        "held-out training cases. " + NON_COMMERCIAL,
    ]
    lines += [
        f"{row['label']}: {row['state']} ({row['measured']} measured, {row['imputed']} imputed)."
        for row in modality_rows(profile)
    ]
    if profile.imputed:
        lines.append(IMPUTATION_CAVEAT)
    if ExpressionProfile.objects.filter(case=case).exists():
        lines.append("Hallmark profile: measured expression (see the hallmark section).")
    elif profile.hallmarks:
        report = profile_report(hallmark_profile_of(profile.hallmarks), "")
        lines.append("Hallmark profile: IMPUTED. " + " ".join(report.lines[1:2]))
        lines += [
            f"  {row.label}: {row.score}; percentile {row.percentile}"
            for row in report.capabilities
            if row.score != "—"
        ]
    prognosis = profile.prognosis
    if prognosis and prognosis["imputed"].get("modalities"):
        imputed, masked = prognosis["imputed"], prognosis["masked"]
        lines.append(
            f"3-year survival with {imputed['words']} imputed: "
            f"{_percent(imputed['survival_3y'])} ({_percent(imputed['lower_3y'])}–"
            f"{_percent(imputed['upper_3y'])}); masked: {_percent(masked['survival_3y'])} "
            f"({_percent(masked['lower_3y'])}–{_percent(masked['upper_3y'])}); "
            f"{prognosis['survival_model']}."
        )
    tests = (profile.next_tests or {}).get("tests") or []
    if tests:
        lines.append("Next best tests (by expected change of the 3-year estimate):")
        lines += [f"  {t['rank']}. {t['reasoning']}" for t in tests[:6]]
    return lines


def _experiment_lines(experiment: InSilicoExperiment) -> list[str]:
    description = experiment.change.get("description", "")
    if experiment.status == Status.REFUSED:
        return [f"In-silico experiment “{description}” refused: {experiment.refusal}"]
    result = experiment.result or {}
    view = experiment_view(experiment)
    lines = [
        f"In-silico experiment, {experiment.created_at:%Y-%m-%d} (hypothesis for research — not "
        f"a prediction): if this tumour {description}. {result.get('label', '')}"
    ]
    lines += [
        f"  {s['label']}: {s['mean']:+.2f} z (80% interval {s['lower']:+.2f} to {s['upper']:+.2f})"
        for s in view["shifts"][:5]
    ]
    shift = view["prognosis"]
    if shift:
        lines.append(
            f"  3-year survival shift {shift['mean']} points (80% interval {shift['lower']} to "
            f"{shift['upper']}; {shift['before']} → {shift['after']}), {shift['model']}."
        )
    return lines


def generative_report_section(case: Case, deidentified: bool) -> OptionalSection:
    """The report's generative section, or why it is not available."""
    profile = GenerativeProfile.objects.filter(case=case).exclude(status=Status.PENDING).first()
    if profile is None:
        return OptionalSection(
            title=TITLE,
            unavailable="Not available: no generative profile has been run for this case "
            "(Generative model section, “Run generative profile”).",
        )
    if profile.status == Status.REFUSED:
        lines = [f"The generative model cannot profile this case: {profile.refusal}"]
    else:
        lines = _profile_lines(profile, case)
    experiment = InSilicoExperiment.objects.filter(case=case).exclude(status=Status.PENDING).first()
    if experiment is not None:
        lines += _experiment_lines(experiment)
    return OptionalSection(title=TITLE, lines=tuple(lines))
