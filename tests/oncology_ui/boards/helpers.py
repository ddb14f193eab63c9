"""Stored predictions for tests: what the analysis app writes after a model run."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from django.utils import timezone

from oncology_ui.analysis.models import AnalysisRun, Prediction
from oncology_ui.patients.models import Case

#: The TCGA model's 10-year grid, in months.
TCGA_GRID = [float(t) for t in range(0, 121, 6)]
#: Per month; an exponential curve, so the conditional curve is known in closed form.
TCGA_HAZARD = 0.01


def survival_rows(one_year: float) -> list[dict[str, Any]]:
    return [
        {
            "years": 1,
            "survival": one_year,
            "lower": one_year - 0.08,
            "upper": min(1.0, one_year + 0.06),
        },
        {"years": 3, "survival": one_year * 0.7, "lower": one_year * 0.6, "upper": one_year * 0.8},
        {"years": 5, "survival": one_year * 0.5, "lower": one_year * 0.4, "upper": one_year * 0.62},
    ]


def prediction_create(case: Case, *, one_year: float = 0.82, **fields: Any) -> Prediction:
    run = AnalysisRun.objects.create(
        case=case,
        inputs_snapshot={"case_id": str(case.pk)},
        inputs_hash="0" * 64,
        adapter_version="1",
    )
    times = [float(m) for m in range(0, 61, 3)]
    survival = [max(0.05, 1 - (1 - one_year) * t / 12) ** 0.9 if t else 1.0 for t in times]
    defaults: dict[str, Any] = {
        "status": Prediction.Status.OK,
        "model_name": "oncofusion",
        "model_version": "1.4.0",
        "weights_sha256": "ab12" * 16,
        "model_card": "oncofusion.md",
        "trained_modalities": ["clinical", "expression"],
        "curve": {
            "times_months": times,
            "survival": survival,
            "lower": [max(0.0, s - 0.1) for s in survival],
            "upper": [min(1.0, s + 0.08) for s in survival],
        },
        "median_months": 41.0,
        "survival_at": survival_rows(one_year),
        "risk_score": 0.4,
        "inputs_used": ["clinical", "expression"],
        "inputs_missing": ["labs", "slide", "imaging"],
        "explanation": {
            "modality_shapley": [
                {"modality": "clinical", "shapley": 0.21},
                {"modality": "expression", "shapley": -0.08},
            ],
            "hallmarks": [
                {
                    "hallmark": "HALLMARK_E2F_TARGETS",
                    "attribution": 0.12,
                    "score": 1.1,
                    "genes_measured": 180,
                },
                {
                    "hallmark": "HALLMARK_HYPOXIA",
                    "attribution": -0.05,
                    "score": 0.2,
                    "genes_measured": 190,
                },
            ],
        },
    }
    defaults.update(fields)
    return Prediction.objects.create(run=run, case=case, **defaults)


def exponential_survival(hazard: float) -> list[float]:
    """S(t) = exp(-hazard * t) on :data:`TCGA_GRID`."""
    return [math.exp(-hazard * t) for t in TCGA_GRID]


def tcga_prediction_create(case: Case, **fields: Any) -> Prediction:
    """A TCGA-model prediction whose curve is exponential with :data:`TCGA_HAZARD`.

    Its interval is the curves for twice and half that hazard.
    """
    defaults: dict[str, Any] = {
        "model_name": "oncoboard-tcga-pancancer",
        "curve": {
            "times_months": TCGA_GRID,
            "survival": exponential_survival(TCGA_HAZARD),
            "lower": exponential_survival(2 * TCGA_HAZARD),
            "upper": exponential_survival(TCGA_HAZARD / 2),
        },
    }
    defaults.update(fields)
    return prediction_create(case, **defaults)


def diagnosed_years_ago(case: Case, years: float) -> dt.date:
    """Move the case's diagnosis date ``years`` before today; returns the new date."""
    day = timezone.localdate() - dt.timedelta(days=round(years * 365.25))
    case.diagnosis_date = day
    case.save(update_fields=["diagnosis_date"])
    return day
