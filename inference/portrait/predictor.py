"""The portrait model served: a case's clinical portrait -> :class:`SurvivalPrediction`.

The prediction is the same schema object the pan-cancer predictor returns, so the page, the PDF
and the conditional-survival reading treat both alike; it adds the clinical fields used and
missing, the curve's time zero and the test-split validation of the case's cancer type.

The curve's baseline is the one :meth:`PortraitModel.baseline` picks for the case: a cohort of its
type (the type's reference cohort unless that cohort hardly enrolled the case's stage group),
restricted to that cohort's patients at the case's stage group where there were enough of them.
The time zero, time-zero label and endpoint the page states are that cohort's (``validation`` keys
``baseline_cohort``, ``baseline_stage_group``, ``time_zero``, ``time_zero_label``, ``endpoint``);
the other validation facts are the type's.

"Why" attributions are exact for this model: each observed field's attribution is the change in
predicted survival at the type's main horizon when that field is masked (as if the record did not
hold it), which is how the model treats a missing field.
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from inference.portrait.model import (
    COMMERCIAL_PATH,
    COMMERCIAL_SHA256,
    SHIPPED_PATH,
    SHIPPED_SHA256,
    PortraitModel,
    cohort_of,
    model_from_checkpoint,
)
from inference.portrait.routing import route
from inference.portrait.vocabulary import (
    FEATURE_NAMES,
    ClinicalPortrait,
    encode,
    flat_values,
    portrait_from_flat,
)
from inference.schema import (
    Explanation,
    FeatureAttribution,
    ModelInfo,
    SurvivalCurve,
    SurvivalPrediction,
)
from inference.survival.curves import curve_summary, survival_at_months

FloatArray = npt.NDArray[np.float64]

NAME = "oncoboard-portrait"
COMMERCIAL_NAME = "oncoboard-portrait-commercial"
CARD = "inference/weights/portrait/portrait.md"
COVARIATES_PATH = SHIPPED_PATH.with_name("covariates.json")
BAND_LEVEL = 0.9
#: Fields that group others: ``advanced_stage`` is derived from ``stage_group`` when both exist,
#: so it is not listed as missing where the stage group is known.
_DERIVED = {"advanced_stage": "stage_group"}


class PortraitPredictor:
    """A loaded portrait checkpoint with what the page needs around it.

    Args:
        model: the checkpoint's model.
        name: model name shown on the page.
        weights_sha256: digest of the checkpoint file (pinned).
        covariates: cancer type -> fields its cohorts recorded.
    """

    def __init__(
        self,
        model: PortraitModel,
        *,
        name: str,
        weights_sha256: str,
        covariates: dict[str, list[str]],
    ) -> None:
        self.model = model
        self.grid = np.asarray(model.bundle.grid_months, dtype=np.float64)
        self.covariates = covariates
        self.covered = frozenset(model.bundle.reference_cohort)
        self.info = ModelInfo(
            name=name,
            # The checkpoint has no release number of its own; its digest identifies it.
            version=weights_sha256[:12],
            weights_sha256=weights_sha256,
            trained_modalities=("clinical", "labs"),
            untrained_modalities=(),
            feature_names={"portrait": FEATURE_NAMES},
            treatments=(),
            model_card=CARD,
        )

    # -- numbers -------------------------------------------------------------------------------

    def _last_event_index(self, baseline: str) -> int:
        """Grid index of the last event among a baseline's training rows (its curve's end).

        Args:
            baseline: a baseline key (a cohort, or a stage stratum of one).
        """
        hazard = np.asarray(self.model.bundle.baselines[baseline])
        rises = np.nonzero(np.diff(hazard) > 0)[0]
        return int(rises[-1] + 1) if len(rises) else len(hazard) - 1

    def _horizon(self, cancer_type: str) -> float:
        facts = self.model.bundle.validation.get(cancer_type) or {}
        return float(facts.get("horizon_months") or 36.0)

    def _attributions(
        self, portrait: ClinicalPortrait, cancer_type: str, months: float
    ) -> tuple[FeatureAttribution, ...]:
        flat = flat_values(portrait)
        observed = _observed(flat)
        masked = [portrait]
        for name in observed:
            # Masking stage group masks the advanced-stage flag derived from it as well.
            drop = {name, "advanced_stage"} if name == "stage_group" else {name}
            masked.append(_without(portrait, drop))
        # Each variant on the baseline it would get: without its stage group a case is drawn on
        # the type's reference cohort, and that is part of what knowing the stage changes.
        curves = self.model.predict(masked, [self.model.baseline(p) for p in masked])
        full = survival_at_months(self.grid, curves[0], months) or 0.0
        out = []
        for name, curve in zip(observed, curves[1:], strict=True):
            delta = full - (survival_at_months(self.grid, curve, months) or 0.0)
            out.append(
                FeatureAttribution(
                    modality="portrait",
                    feature=name,
                    value=float(flat[name] or 0.0),
                    attribution=float(delta),
                    direction="lowers risk" if delta > 0 else "raises risk",
                )
            )
        out.sort(key=lambda item: -abs(item.attribution))
        return tuple(out)

    # -- serving -------------------------------------------------------------------------------

    def predict(self, case_id: str, portrait: ClinicalPortrait) -> SurvivalPrediction:
        """Predict survival for a routed case.

        Args:
            case_id: echoed.
            portrait: the case; its ``cancer_type`` is the case's OncoTree code.

        Returns:
            The prediction, or an abstention (blank or uncovered type) with its reason.
        """
        where = route(portrait.cancer_type, self.covered)
        if where.cancer_type is None:
            return self.abstention(case_id, where.reason)
        cancer_type = where.cancer_type
        routed = replace(portrait, cancer_type=cancer_type)
        baseline = self.model.baseline(routed)
        cohort = cohort_of(baseline)
        mean, lower, upper = self.model.survival_band(
            [routed], level=BAND_LEVEL, cohorts=[baseline]
        )
        # The curve stops at its baseline cohort's last event: beyond it the baseline is flat
        # because nobody was followed longer, not because nobody died (no extrapolation).
        end = self._last_event_index(baseline) + 1
        grid = self.grid[:end]
        mean, lower, upper = mean[:, :end], lower[:, :end], upper[:, :end]
        curve = mean[0]
        flat = flat_values(routed)
        used = _observed(flat)
        recorded = self.covariates.get(cancer_type, [])
        missing = tuple(
            n
            for n in recorded
            if flat[n] is None and not (n in _DERIVED and flat[_DERIVED[n]] is not None)
        )
        horizon = self._horizon(cancer_type)
        last = float(grid[-1])
        if horizon > last:
            # A curve that stops before the type's main horizon is explained at its last whole
            # year (so "2-year survival" means 24 months), never on its flat, unobserved tail.
            horizon = 12.0 * math.floor(last / 12.0) if last >= 12.0 else last
        risk = float(self.model.risk(encode([routed]), [cancer_type])[0])
        validation = dict(self.model.bundle.validation.get(cancer_type) or {})
        validation["cancer_type"] = cancer_type
        validation["recorded_covariates"] = list(recorded)
        # Time zero and endpoint are the baseline cohort's: the curve counts from its clock.
        validation["baseline_cohort"] = cohort
        validation["baseline_stage_group"] = (
            routed.staging.stage_group if baseline != cohort else None
        )
        cohort_facts = self.model.bundle.cohort_facts.get(cohort, {})
        for key in ("time_zero", "time_zero_label", "endpoint"):
            if key in cohort_facts:
                validation[key] = cohort_facts[key]
        return SurvivalPrediction(
            case_id=case_id,
            status="ok",
            abstention_reasons=(),
            **curve_summary(grid, curve, lower[0], upper[0]),
            time_interval=self.model.time_interval(cancer_type, risk, baseline),
            inputs_used=tuple(
                sorted({"labs" if n.endswith(_LAB_SUFFIXES) else "clinical" for n in used})
            ),
            inputs_missing=(),
            inputs_ignored=(),
            model=self.info,
            explanation=Explanation(
                reference_years=max(1, round(horizon / 12.0)),
                baseline_survival=float(survival_at_months(self.grid, curve, horizon) or 0.0),
                modality_shapley=(),
                feature_attributions=self._attributions(routed, cancer_type, horizon),
                hallmarks=(),
                tile_attention=(),
                similar_patients=None,
            ),
            covariates_used=used,
            covariates_missing=missing,
            time_zero=str(validation.get("time_zero") or "") or None,
            validation=validation,
        )

    def abstention(self, case_id: str, reason: str) -> SurvivalPrediction:
        """An abstained prediction (no curve is shown), with the reason a person reads."""
        flat_grid = tuple(float(t) for t in self.grid[:2])
        nothing = tuple(1.0 for _ in flat_grid)
        return SurvivalPrediction(
            case_id=case_id,
            status="abstained",
            abstention_reasons=(reason,),
            curve=SurvivalCurve(flat_grid, nothing, nothing, nothing),
            median_months=None,
            survival_at=(),
            risk_score=0.0,
            time_interval=None,
            inputs_used=(),
            inputs_missing=(),
            inputs_ignored=(),
            model=self.info,
            explanation=None,
        )


_LAB_SUFFIXES = ("_g_l", "_u_l", "_1e9_l", "_umol_l", "_mmol_l", "_ug_l")


def _observed(flat: dict[str, float | None]) -> tuple[str, ...]:
    """Observed fields, model order; the advanced-stage flag only where no stage group is known
    (it is derived from the stage group otherwise, not a second fact)."""
    return tuple(
        n
        for n in FEATURE_NAMES
        if flat[n] is not None and not (n in _DERIVED and flat[_DERIVED[n]] is not None)
    )


def _without(portrait: ClinicalPortrait, names: set[str]) -> ClinicalPortrait:
    """The portrait with the named fields missing."""
    flat = {k: v for k, v in flat_values(portrait).items() if k not in names}
    return portrait_from_flat(flat, portrait.cancer_type)


_LOCK = threading.Lock()
_CACHE: dict[bool, PortraitPredictor] = {}


def load_covariates(path: Path = COVARIATES_PATH) -> dict[str, list[str]]:
    """Cancer type -> recorded fields (``python -m inference.training.portrait_covariates``)."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return {str(k): [str(n) for n in v] for k, v in data.items()}


def load_portrait_predictor(*, commercial_only: bool = False) -> PortraitPredictor:
    """The shipped portrait predictor, cached per process (hash checked before loading).

    Args:
        commercial_only: the checkpoint trained without non-commercial data.
    """
    with _LOCK:
        if commercial_only not in _CACHE:
            path, digest, name = (
                (COMMERCIAL_PATH, COMMERCIAL_SHA256, COMMERCIAL_NAME)
                if commercial_only
                else (SHIPPED_PATH, SHIPPED_SHA256, NAME)
            )
            _CACHE[commercial_only] = PortraitPredictor(
                model_from_checkpoint(path, expected_sha256=digest),
                name=name,
                weights_sha256=digest,
                covariates=load_covariates(),
            )
        return _CACHE[commercial_only]
