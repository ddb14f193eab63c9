"""Ranking the therapy options of a case, and recording a clinician's accept or reject.

The ranking runs synchronously: matching, safety and ordering take milliseconds on the
in-memory knowledge base (``elapsed_ms`` is stored on every row; see docs/therapies/README.md).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from inference.schema import TreatmentScenario
from inference.therapy import types as t
from inference.therapy.matching import match
from inference.therapy.ranking import benefit_classes, rank
from inference.therapy.safety import safety_verdict
from inference.therapy.whatif import WhatIfOption, what_if
from oncology_ui.analysis.adapters import case_inputs_from_snapshot, case_snapshot, snapshot_hash
from oncology_ui.analysis.services import prediction_latest
from oncology_ui.core.logsafe import log_failure
from oncology_ui.patients.models import Case
from oncology_ui.therapies.kb import kb_active, kb_content
from oncology_ui.therapies.models import TherapyDecision, TherapyRanking
from oncology_ui.therapies.state import patient_state

logger = logging.getLogger(__name__)

#: Bumped whenever the structure of ``TherapyRanking.result`` changes (2: options carry
#: ``investigational``, safety checks ``threshold``, evidence items a short ``label``; readers
#: treat their absence in version 1 rows as false or empty).
RESULT_VERSION = "2"
CAVEAT = (
    "Curves are associations learned from observational data (METABRIC), not causal effects "
    "of the treatment; they estimate groups of similar patients, not this patient."
)


class RankingUnavailable(Exception):
    """No knowledge base is loaded: the page says so instead of ranking."""


def _survival_at(scenario: TreatmentScenario, years: int) -> float | None:
    for row in scenario.survival_at:
        if row.years == years:
            return float(row.survival) if row.survival is not None else None
    return None


def _curve(scenario: TreatmentScenario) -> dict[str, list[float]]:
    curve = scenario.curve
    return {
        name: [float(v) for v in getattr(curve, name)]
        for name in ("times_months", "survival", "lower", "upper")
    }


def benefits_estimate(
    kb: t.KnowledgeBase, options: tuple[t.TherapyOption, ...], snapshot: dict[str, Any]
) -> tuple[dict[str, t.Benefit], dict[str, Any]]:
    """The what-if model's curve for each option it was trained for; a reason for every other.

    Returns the benefit per option key and the model's name, version, caveat and baseline.
    """
    benefits: dict[str, t.Benefit] = {}
    wanted: dict[str, tuple[str, ...]] = {}
    for option in options:
        classes, reason = benefit_classes(option, kb)
        if classes:
            wanted[option.key] = classes
        else:
            benefits[option.key] = t.Benefit(estimable=False, reason=reason)
    model: dict[str, Any] = {"name": "", "version": "", "caveat": CAVEAT, "baseline": None}
    if not wanted:
        return benefits, model
    try:
        report = what_if(
            case_inputs_from_snapshot(snapshot),
            [WhatIfOption(key=key, therapy_classes=classes) for key, classes in wanted.items()],
        )
    except Exception as exc:
        # The model failing must not take the ranking down: say so per option.
        log_failure(logger, exc, "what-if")  # its message can quote the case's inputs
        for key, classes in wanted.items():
            benefits[key] = t.Benefit(
                estimable=False,
                reason=f"The what-if model failed ({type(exc).__name__}): not estimable now.",
                classes=classes,
            )
        return benefits, model
    baseline = report.baseline
    base_5y = _survival_at(baseline, 5) if baseline is not None else None
    model.update(
        {
            "name": str(report.model_name),
            "version": str(report.model_version),
            "caveat": str(report.caveat or CAVEAT),
            "baseline": {"curve": _curve(baseline), "survival_5y": base_5y} if baseline else None,
        }
    )
    results = {result.key: result for result in report.results}
    for key, classes in wanted.items():
        result = results.get(key)
        if result is None:
            benefits[key] = t.Benefit(False, "The what-if model returned nothing for it.", classes)
            continue
        scenario = result.scenario if result.estimable else None
        option_5y = _survival_at(scenario, 5) if scenario is not None else None
        reason = str(result.reason or "")
        if result.estimable and result.overlap_supported is False:
            reason = reason or (
                "Not supported by the data: few patients like this one received it "
                "in the training cohort (poor propensity overlap)."
            )
        benefits[key] = t.Benefit(
            estimable=bool(result.estimable),
            reason=reason or "Estimated by the survival model.",
            classes=classes,
            curve=_curve(scenario) if scenario is not None else None,
            median_months=getattr(scenario, "median_months", None),
            survival_at=tuple(asdict(row) for row in getattr(scenario, "survival_at", ()) or ()),
            propensity=result.propensity,
            overlap_supported=result.overlap_supported,
            delta_5y=(option_5y - base_5y)
            if option_5y is not None and base_5y is not None
            else None,
        )
    return benefits, model


def _json(value: Any) -> Any:
    """Dataclasses, dates and tuples as plain JSON (what the row stores is what is shown)."""
    return json.loads(json.dumps(value, default=str))


@transaction.atomic
def ranking_compute(*, case: Case, user: User | None) -> TherapyRanking:
    """Rank the options of a case against the active knowledge base and store what was shown.

    1. Snapshot the case as the analysis does (same inputs to the what-if model).
    2. Build the patient state, match, gate, estimate benefit, rank.
    3. Store the whole result with the KB and model versions, linked to the latest prediction.

    Raises:
        RankingUnavailable: no knowledge base is loaded.
    """
    kb_row = kb_active()
    if kb_row is None:
        raise RankingUnavailable(
            "No therapy knowledge base is loaded: run “manage.py load_therapy_kb”."
        )
    started = time.perf_counter()
    kb = kb_content(kb_row)
    today = timezone.localdate()
    snapshot = case_snapshot(case)
    report = patient_state(case, kb, snapshot=snapshot, today=today)
    options, flags, unknowns = match(kb, report.state)
    safety = {option.key: safety_verdict(option, report.state, kb) for option in options}
    benefits, model = benefits_estimate(kb, options, snapshot)
    ranked = rank(options, safety, benefits)
    prediction = prediction_latest(case)
    model_version = f"{model['name']} {model['version']}".strip() or (
        f"{prediction.model_name} {prediction.model_version}" if prediction else ""
    )
    result = t.RankingResult(
        kb_version=kb.version,
        planned_line=report.state.planned_line,
        options=ranked,
        resistance_flags=flags,
        unknowns=unknowns,
        inputs_used=report.used,
        inputs_missing=report.missing,
        model={k: v for k, v in model.items() if k != "baseline"},
    )
    payload = _json(asdict(result))
    payload.update(
        {
            "result_version": RESULT_VERSION,
            "computed_at": timezone.now().isoformat(timespec="seconds"),
            "kb_files": dict(kb.file_versions),
            "oncotree_code": case.oncotree_code,
            "stage_group": case.stage_group,
            "baseline": _json(model.get("baseline")),
            "prediction_id": prediction.pk if prediction else None,
            "max_lab_age_days": kb.max_lab_age_days,
        }
    )
    elapsed = int((time.perf_counter() - started) * 1000)
    ranking = TherapyRanking.objects.create(
        case=case,
        kb=kb_row,
        kb_version=kb.version,
        model_version=model_version[:120],
        prediction=prediction,
        result=payload,
        inputs_hash=snapshot_hash(snapshot),
        elapsed_ms=elapsed,
        created_by=user,
    )
    logger.info("therapy ranking %s for case %s in %d ms", ranking.pk, case.pk, elapsed)
    return ranking


def ranking_option(ranking: TherapyRanking, key: str) -> dict[str, Any] | None:
    return next((o for o in ranking.result.get("options", []) if o["option"]["key"] == key), None)


def decision_record(
    *, ranking: TherapyRanking, option_key: str, verdict: str, reason: str, user: User
) -> TherapyDecision:
    """Store a clinician's accept or reject of one option of a ranking, with the reason.

    Raises:
        ValidationError: the option is not in this ranking, or the verdict or reason is missing.
    """
    option = ranking_option(ranking, option_key)
    if option is None:
        raise ValidationError({"option": "This option is not part of the ranking shown."})
    decision = TherapyDecision(
        ranking=ranking,
        case=ranking.case,
        option_key=option_key,
        option_label=option["option"]["label"][:300],
        option_rank=option["rank"],
        verdict=verdict,
        reason=reason.strip(),
        decided_by=user,
    )
    decision.full_clean()
    decision.save()
    return decision
