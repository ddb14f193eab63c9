"""Data for the prognosis section of the case page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from oncology_ui.analysis.models import AnalysisRun, Prediction
from oncology_ui.analysis.portrait_inputs import NOT_SUPPLIED
from oncology_ui.analysis.readable import (
    inputs_not_used,
    percentage_points,
    portrait_label,
    validation_text,
    why_factors,
)
from oncology_ui.analysis.selectors import prediction_stale_parts, prognosis_from_today
from oncology_ui.patients.models import Case

MODALITY_LABELS = {
    "clinical": "Clinical facts",
    "labs": "Labs",
    "mutations": "Mutations",
    "copy_number": "Copy number",
    "expression": "Gene expression",
    "slide": "Pathology slides",
    "imaging": "Radiology",
}

_W, _H, _PAD = 560.0, 240.0, 36.0


def survival_chart(curve: dict[str, list[float]]) -> dict[str, Any]:
    """SVG coordinates for S(t) with its band, drawn on the server (no chart script).

    A curve shorter than two years (a conditional curve near the model's horizon) gets ticks
    every six months, so its axis is never a lone "0 y".
    """
    times = curve["times_months"]
    horizon = max(times[-1], 1.0)

    def x(t: float) -> float:
        return round(_PAD + (t / horizon) * (_W - 2 * _PAD), 1)

    def y(s: float) -> float:
        return round(_H - _PAD - max(0.0, min(1.0, s)) * (_H - 2 * _PAD), 1)

    line = " ".join(f"{x(t)},{y(s)}" for t, s in zip(times, curve["survival"], strict=True))
    upper = [f"{x(t)},{y(s)}" for t, s in zip(times, curve["upper"], strict=True)]
    lower = [f"{x(t)},{y(s)}" for t, s in zip(times, curve["lower"], strict=True)]
    band = " ".join(upper + lower[::-1])
    if horizon >= 24:
        years = [{"x": x(12.0 * k), "label": f"{k} y"} for k in range(0, int(horizon // 12) + 1)]
    else:
        years = [{"x": x(6.0 * k), "label": f"{6 * k} mo"} for k in range(0, int(horizon // 6) + 1)]
    ticks = [{"y": y(p / 100), "label": f"{p}%"} for p in (0, 25, 50, 75, 100)]
    return {
        "width": _W,
        "height": _H,
        "line": line,
        "band": band,
        "years": years,
        "ticks": ticks,
        "left": _PAD,
        "right": _W - _PAD,
        "bottom": _H - _PAD,
        "top": _PAD,
    }


def _bar(label: str, value: float, scale: float) -> dict[str, Any]:
    """A diverging bar on a 200-wide axis centred at 100 (SVG: the CSP allows no inline style).

    ``value`` and ``scale`` are the numbers as printed, so a bar's length matches its label.
    """
    half = round(100 * abs(value) / scale, 1) if scale else 0.0
    return {"label": label, "value": value, "x": 100 - half if value < 0 else 100, "w": half}


def contribution_bars(shapley: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Modality Shapley values as bars, in percentage points as printed; zeros left out."""
    shown = [
        (MODALITY_LABELS.get(m["modality"], m["modality"]), percentage_points(m["shapley"]))
        for m in shapley
    ]
    shown = [(label, points) for label, points in shown if points != 0.0]
    scale = max((abs(points) for _, points in shown), default=0.0)
    return [_bar(label, points, scale) for label, points in sorted(shown, key=lambda i: -abs(i[1]))]


def _landmarks(prediction: Prediction) -> dict[int, float | None]:
    return {row["years"]: row["survival"] for row in prediction.survival_at}


def prediction_changes(new: Prediction, old: Prediction) -> list[str]:
    """What changed between two predictions of the same case, in words."""
    changes: list[str] = []
    if (new.model_name, new.model_version) != (old.model_name, old.model_version):
        changes.append(
            f"Model changed: {old.model_name} {old.model_version} → "
            f"{new.model_name} {new.model_version}."
        )
    if new.run.inputs_hash != old.run.inputs_hash:
        added = sorted(set(new.inputs_used) - set(old.inputs_used))
        removed = sorted(set(old.inputs_used) - set(new.inputs_used))
        detail = []
        if added:
            detail.append("now uses " + ", ".join(MODALITY_LABELS.get(m, m) for m in added))
        if removed:
            detail.append("no longer has " + ", ".join(MODALITY_LABELS.get(m, m) for m in removed))
        changes.append("Inputs changed" + (f" ({'; '.join(detail)})." if detail else "."))
    new_marks, old_marks = _landmarks(new), _landmarks(old)
    for years in sorted(new_marks):
        before, after = old_marks.get(years), new_marks.get(years)
        if before is not None and after is not None and abs(after - before) >= 0.01:
            changes.append(f"{years}-year survival {before:.0%} → {after:.0%}.")
    if new.status != old.status:
        changes.append(f"Status changed: {old.get_status_display()} → {new.get_status_display()}.")
    return changes or ["No change: same inputs and model give the same prediction."]


def portrait_inputs_view(prediction: Prediction, snapshot: dict[str, Any]) -> dict[str, Any]:
    """The clinical fields of a portrait prediction in words, with their sources.

    Returns:
        ``used``: ``{"label", "source", "stale"}`` per field that entered the model;
        ``missing``: fields the cancer type's cohorts recorded that the case lacks;
        ``record_only``: facts the record holds that this model does not read.
    """
    portrait = snapshot.get("portrait") or {}
    values = portrait.get("values") or {}
    sources = portrait.get("sources") or {}
    stale = set(portrait.get("stale") or [])
    record_only = list(portrait.get("record_only") or [])
    for part, words in (("slides", "pathology slides"), ("imaging", "radiology measurements")):
        if snapshot.get(part):
            record_only.append(f"{words} (this model has no image input)")
    return {
        "used": [
            {
                "label": portrait_label(name, values.get(name)),
                "source": sources.get(name, ""),
                "stale": name in stale,
            }
            for name in prediction.covariates_used or []
        ],
        "missing": [
            portrait_label(name, None)
            for name in prediction.covariates_missing or []
            if name not in NOT_SUPPLIED
            # The advanced-stage flag is the stage group's coarse form: one missing fact, not two.
            and not (name == "advanced_stage" and "stage_group" in prediction.covariates_missing)
        ],
        "record_only": record_only,
    }


def prognosis_section(request: HttpRequest, case: Case) -> dict[str, Any]:
    predictions = list(Prediction.objects.filter(case=case).select_related("run")[:2])
    latest = predictions[0] if predictions else None
    previous = predictions[1] if len(predictions) > 1 else None
    pending = (
        AnalysisRun.objects.filter(case=case, prediction__isnull=True, job__isnull=False)
        .select_related("job")
        .first()
    )
    context: dict[str, Any] = {
        "prediction": latest,
        "analysis_job": pending.job if pending and pending.job else None,
        "can_analyse": request.user.has_perm("analysis.add_analysisrun"),
        "modality_labels": MODALITY_LABELS,
    }
    if latest is not None:
        explanation = latest.explanation or {}
        snapshot = latest.run.inputs_snapshot or {}
        from_today = prognosis_from_today(latest, case=case, today=timezone.localdate())
        context.update(
            {
                "from_today": from_today,
                "chart": survival_chart(from_today.curve) if from_today.curve else None,
                "landmarks": from_today.landmarks,
                "stale_parts": prediction_stale_parts(latest, case=case),
                "contributions": contribution_bars(explanation.get("modality_shapley") or []),
                "why": why_factors(
                    explanation, lab_units=(snapshot.get("provenance") or {}).get("lab_units")
                ),
                "used_labels": [MODALITY_LABELS.get(m, m) for m in latest.inputs_used],
                "missing_labels": [MODALITY_LABELS.get(m, m) for m in latest.inputs_missing],
                "not_used": inputs_not_used(
                    latest.inputs_ignored or [], snapshot, used=latest.inputs_used or []
                ),
                "molecular_missing": "mutations" not in latest.inputs_used
                and "expression" not in latest.inputs_used,
                "similar": explanation.get("similar_patients"),
                "reference_years": explanation.get("reference_years"),
                "changes": prediction_changes(latest, previous) if previous else None,
                "portrait": portrait_inputs_view(latest, snapshot)
                if latest.covariates_used
                else None,
                "validation": latest.validation or {},
                "validation_text": validation_text(latest.validation),
                "previous": previous,
            }
        )
    return context
