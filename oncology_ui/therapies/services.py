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

from inference.therapy import types as t
from inference.therapy.matching import match
from inference.therapy.ranking import benefit_classes, rank
from inference.therapy.rct_whatif import benefit_for_option, load_shipped, predict_arms
from inference.therapy.safety import safety_verdict
from oncology_ui.analysis.adapters import case_snapshot, snapshot_hash
from oncology_ui.analysis.services import prediction_latest
from oncology_ui.core.logsafe import log_failure
from oncology_ui.patients.models import Case
from oncology_ui.therapies.kb import kb_active, kb_content
from oncology_ui.therapies.models import TherapyDecision, TherapyRanking
from oncology_ui.therapies.state import patient_state

logger = logging.getLogger(__name__)

#: Bumped whenever the structure of ``TherapyRanking.result`` changes (2: options carry
#: ``investigational``, safety checks ``threshold``, evidence items a short ``label``; readers
#: treat their absence in version 1 rows as false or empty; 3: benefits come from randomised
#: trials and carry ``trial``, ``agreement``, ``control_curve`` and ``difference``).
RESULT_VERSION = "3"
CAVEAT = (
    "Curves are the arms of the randomised trial named with each option, for patients with this "
    "case's record values; the model's average effect agreed with the trial on held-out trial "
    "patients. They show what that trial's regimens did for similar patients, not today's "
    "regimen for this patient, and individual differences in benefit are not validated."
)
RCT_MODEL_NAME = "oncoboard-rct-whatif"


class RankingUnavailable(Exception):
    """No knowledge base is loaded: the page says so instead of ranking."""


def benefits_estimate(
    kb: t.KnowledgeBase, options: tuple[t.TherapyOption, ...], snapshot: dict[str, Any]
) -> tuple[dict[str, t.Benefit], dict[str, Any]]:
    """Trial-validated what-if curves for each option whose class a randomised trial checked.

    An option gets curves only when every drug maps to one treatment class and a randomised
    contrast of that class in the case's cancer type validated (``inference.therapy.rct_whatif``);
    every other option gets the reason. The covariates are the record's portrait fields.

    Returns the benefit per option key and the model's name, version and caveat.
    """
    benefits: dict[str, t.Benefit] = {}
    model: dict[str, Any] = {"name": "", "version": "", "caveat": CAVEAT, "baseline": None}
    cancer_type = str((snapshot.get("clinical") or {}).get("cancer_type") or "")
    fields = (snapshot.get("portrait") or {}).get("values") or {}
    try:
        shipped = load_shipped()
        contrasts = predict_arms(cancer_type, fields, shipped) if cancer_type else []
    except Exception as exc:
        # The what-if failing must not take the ranking down: say so per option.
        log_failure(logger, exc, "what-if")  # its message can quote the case's inputs
        for option in options:
            benefits[option.key] = t.Benefit(
                estimable=False,
                reason=f"The what-if model failed ({type(exc).__name__}): not estimable now.",
            )
        return benefits, model
    for option in options:
        classes, reason = benefit_classes(option, kb)
        if not classes:
            benefits[option.key] = t.Benefit(estimable=False, reason=reason)
            continue
        # Named only when consulted: a ranking no trial could speak to keeps the prognosis model.
        model.update({"name": RCT_MODEL_NAME, "version": shipped.sha256[:12]})
        benefits[option.key] = benefit_for_option(
            cancer_type or "this cancer type", classes, fields, shipped, contrasts
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
