"""The serving-side predictor: ensemble + calibration + abstention + explanations -> schema objects.

Everything a clinician sees comes from here; no tensor leaves this module.
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor

from inference.explain.gradients import integrated_gradients
from inference.explain.hallmarks import hallmark_lens
from inference.explain.neighbours import similar_patients
from inference.explain.shapley import exact_modality_shapley
from inference.models import load_members
from inference.models.batch import ModalityBatch
from inference.models.config import ModelConfig
from inference.models.multimodal import MultimodalSurvival
from inference.runtime import eval_mode, sha256_of
from inference.schema import (
    MODALITIES,
    CaseInputs,
    Explanation,
    FeatureAttribution,
    ModalityAttribution,
    ModelInfo,
    SurvivalPrediction,
    TileAttention,
    TimeInterval,
    TreatmentPlan,
    TreatmentScenario,
)
from inference.survival import conformal
from inference.survival.curves import CurveSummary, curve_summary
from inference.tabular.features import arrays_from_cases, batch_from_arrays
from inference.validation import PerTypeValidation, TypeValidation, load_per_type_validation

logger = logging.getLogger(__name__)

TOP_FEATURES = 12
MIN_KNOWN_FRACTION = 0.5
TABULAR = ("clinical", "labs", "mutations", "copy_number", "expression")


class SurvivalPredictor:
    """A loaded ensemble with its serving extras.

    Args:
        members: ensemble members (same config).
        meta: checkpoint dictionary without weights (name, version, config, extras).
        weights_sha256: digest of the checkpoint file.
        model_card: path of the model card, relative to the repository, for display.
        per_type: per-cancer-type validation of this checkpoint; with it each case's time
            interval uses its cancer type's widening and measured coverage (or is withheld),
            instead of the pooled ones.
    """

    def __init__(
        self,
        members: list[MultimodalSurvival],
        meta: dict[str, Any],
        weights_sha256: str,
        model_card: str = "",
        per_type: PerTypeValidation | None = None,
    ) -> None:
        self.members = members
        self.per_type = per_type
        for member in members:
            member.eval()
        self.config: ModelConfig = members[0].config
        self.meta = meta
        self.extras: dict[str, Any] = meta.get("extras", {})
        self.grid = np.asarray(self.config.time_edges, dtype=np.float64)
        trained = tuple(self.extras.get("trained_modalities", ()))
        configured = tuple(m for m in MODALITIES if self._configured(m))
        self.info = ModelInfo(
            name=str(meta.get("name", self.config.name)),
            version=str(meta.get("version", "")),
            weights_sha256=weights_sha256,
            trained_modalities=trained,
            untrained_modalities=tuple(m for m in configured if m not in trained),
            feature_names=self._feature_names(),
            treatments=self.config.treatments,
            model_card=model_card,
        )
        horizon = float(self.grid[-1])
        self.reference_months = 36.0 if horizon >= 36.0 else horizon
        calibration = self.extras.get("calibration")
        self.calibration = (
            conformal.ConformalCalibration(
                alpha=float(calibration["alpha"]),
                correction=float(calibration["correction"]),
                n_events=int(calibration["n_events"]),
            )
            if calibration
            else None
        )

    @classmethod
    def from_checkpoint(
        cls,
        path: Path,
        *,
        expected_sha256: str | None,
        model_card: str = "",
        per_type_path: Path | None = None,
        per_type_sha256: str | None = None,
    ) -> SurvivalPredictor:
        """Load a checkpoint (hash checked before unpickling, weights only).

        Args:
            path: local checkpoint file.
            expected_sha256: pinned digest; ``None`` only for site-trained checkpoints.
            model_card: model card path for display.
            per_type_path: its per-cancer-type validation file, if it has one.
            per_type_sha256: that file's pinned digest.

        Returns:
            The predictor.

        Raises:
            inference.runtime.CheckpointError: a file is missing or does not match its pin, or
                the per-type facts were measured with another checkpoint.
        """
        members, meta = load_members(path, expected_sha256=expected_sha256)
        digest = sha256_of(path)
        per_type = (
            load_per_type_validation(
                per_type_path, expected_sha256=per_type_sha256, checkpoint_sha256=digest
            )
            if per_type_path is not None
            else None
        )
        return cls(members, meta, digest, model_card, per_type)

    def _configured(self, modality: str) -> bool:
        if modality == "slide":
            return self.config.slide is not None
        if modality == "imaging":
            return self.config.imaging is not None
        if modality == "expression":
            return self.config.expression is not None
        return getattr(self.config, modality) is not None

    def _feature_names(self) -> dict[str, tuple[str, ...]]:
        names: dict[str, tuple[str, ...]] = {}
        for modality in ("clinical", "labs", "mutations", "copy_number"):
            spec = getattr(self.config, modality)
            if spec is not None:
                names[modality] = spec.names
        if self.config.expression is not None:
            names["expression"] = self.config.expression.features.names
        if self.config.imaging is not None:
            names["imaging_lesion"] = self.config.imaging.lesion.names
            names["imaging_study"] = self.config.imaging.study.names
        if self.config.cancer_types:
            names["cancer_type"] = self.config.cancer_types
        return names

    # -- core -------------------------------------------------------------------------------

    def _batch(
        self, case: CaseInputs, *, use_untrained: bool = False
    ) -> tuple[ModalityBatch, list[str]]:
        raw, ignored_per_case = arrays_from_cases(self.config, [case])
        batch = batch_from_arrays(self.config, raw)
        ignored = ignored_per_case[0]
        if not use_untrained:
            # A branch never trained on outcomes adds noise, not information: its input is kept
            # out of the prediction unless the caller opts in, and the case record says so.
            for modality in self.info.untrained_modalities:
                column = MODALITIES.index(modality)
                if bool(batch.present[0, column]):
                    ignored.append(f"{modality}: supplied but not used (not trained on outcomes)")
                    present = batch.present.clone()
                    present[:, column] = False
                    batch = batch.with_present(present)
        return batch, ignored

    def _curves(self, batch: ModalityBatch) -> tuple[Tensor, Tensor, Tensor | None]:
        """Member curves (E, B, G), first-member embedding (B, D), tile attention (mean)."""
        curves, attention = [], []
        embedding = None
        with eval_mode(*self.members):
            for i, member in enumerate(self.members):
                output = member(batch)
                curves.append(output.survival)
                if output.tile_attention is not None:
                    attention.append(output.tile_attention)
                if i == 0:
                    embedding = output.embedding
        assert embedding is not None
        tiles = torch.stack(attention).mean(0) if attention else None
        return torch.stack(curves), embedding, tiles

    def _summary(self, members: npt.NDArray[np.float64]) -> CurveSummary:
        """The ensemble's curve: the members' mean, banded by their range. ``members``: (E, G)."""
        return curve_summary(self.grid, members.mean(0), members.min(0), members.max(0))

    def _abstention(
        self, case: CaseInputs, batch: ModalityBatch, embedding: Tensor, used: tuple[str, ...]
    ) -> list[str]:
        reasons = []
        trained = set(self.info.trained_modalities)
        if not used:
            reasons.append("no usable input: none of the model's modalities was supplied")
        elif not trained & set(used):
            reasons.append(
                "only modalities without outcome training were supplied ("
                + ", ".join(used)
                + "); the model has no validated basis for this case"
            )
        known = total = 0
        for name in TABULAR:
            tabular = getattr(batch, name)
            if tabular is not None and name in used:
                known += int((~tabular.missing).sum())
                total += tabular.missing.numel()
        if (
            total
            and known / total < MIN_KNOWN_FRACTION
            and not {"mutations", "copy_number", "expression"} & set(used)
        ):
            reasons.append(f"too little is known: {known} of {total} measurements supplied")
        ood = self.extras.get("ood")
        if ood:
            limit = float(ood["feature_z_limit"])
            extreme = []
            # Per-feature limits only for clinical factors and labs: a rare mutation is many SDs
            # from its mean by construction, and genome-wide z-scores have heavy tails; those
            # profiles are judged as a whole by the embedding distance below.
            for name in ("clinical", "labs"):
                tabular = getattr(batch, name)
                if tabular is None or name not in used:
                    continue
                names = self.info.feature_names[name]
                for index in torch.nonzero(tabular.values[0].abs() > limit).flatten().tolist():
                    extreme.append(f"{name}:{names[index]}")
            if extreme:
                reasons.append(
                    "out of training range (more than "
                    f"{limit:g} SD from the training mean): " + ", ".join(extreme[:8])
                )
            centred = embedding[0].double() - ood["mean"].double()
            distance = float(torch.sqrt(centred @ ood["precision"].double() @ centred))
            if distance > float(ood["threshold"]) and used:
                reasons.append(
                    f"unusual combination of inputs: distance {distance:.1f} from the training "
                    f"patients exceeds the 99.5th percentile ({float(ood['threshold']):.1f})"
                )
        code = (case.clinical.cancer_type or "").strip() if case.clinical else ""
        if self.config.cancer_types and not code:
            # A blank type is not "a type we saw": the curve would be an average over the
            # training cancers, presented as this patient's.
            reasons.append(
                "cancer type not recorded: this model was trained on "
                + ", ".join(self.config.cancer_types)
                + " and needs the OncoTree code"
            )
        elif self.config.cancer_types and code not in self.config.cancer_types:
            reasons.append(
                f"cancer type {code} was not in the training cohorts ("
                + ", ".join(self.config.cancer_types)
                + ")"
            )
        return reasons

    def _type_validation(self, case: CaseInputs) -> TypeValidation | None:
        code = case.clinical.cancer_type if case.clinical else None
        return self.per_type.for_cancer_type(code) if self.per_type is not None else None

    def _interval(self, mean: npt.NDArray[np.float64], case: CaseInputs) -> TimeInterval | None:
        if self.calibration is None:
            return None
        calibration = self.calibration
        measured = self.extras.get("metrics", {}).get("conformal_coverage")
        if self.per_type is not None:
            facts = self._type_validation(case)
            # A type the per-type validation did not score (blank or unseen code) has no
            # measured coverage to state; an abstained type's interval undercovered on test.
            if facts is None or facts.correction_months is None:
                return None
            calibration = replace(calibration, correction=facts.correction_months)
            measured = facts.measured_coverage
        raw = conformal.model_intervals(self.grid, mean[None, :], calibration.alpha)
        low, high = conformal.apply(raw, calibration)[0]
        upper = float(high) if math.isfinite(high) and high <= self.grid[-1] else None
        return TimeInterval(
            lower_months=float(low),
            upper_months=upper,
            nominal_coverage=calibration.nominal,
            measured_coverage=float(measured) if measured is not None else None,
        )

    def interval_note(self, case: CaseInputs) -> str:
        """Why this case's time interval was widened or withheld ('' when it was neither).

        This concerns the interval only: the curve and the prediction's status are unaffected.
        """
        if self.per_type is None or self.calibration is None:
            return ""
        facts = self._type_validation(case)
        if facts is None:
            return (
                "No time-to-event interval: its coverage was measured per cancer type and "
                "this case's type was not among those scored."
            )
        if facts.status == "abstained":
            return f"No time-to-event interval for {facts.type_code.upper()}: {facts.reason}."
        if facts.status == "widened":
            return f"Time-to-event interval widened for {facts.type_code.upper()}: {facts.reason}."
        return ""

    def validation_for(self, case: CaseInputs) -> dict[str, Any] | None:
        """Test-split validation of this case's cancer type, for the page.

        Keys follow ``SurvivalPrediction.validation`` of the portrait predictor (``cancer_type``,
        ``cohorts``, ``test_n``, ``test_events``, ``harrell_c``, ``coxph_c``,
        ``calibration_slope`` at ``horizon_months``, ``conformal``), plus ``calibration`` (every
        landmark) and ``split``.

        Returns:
            The facts, or ``None`` when there is no per-type validation for this case.
        """
        facts = self._type_validation(case)
        if facts is None or self.per_type is None:
            return None
        record = facts.facts
        slopes = {float(c["months"]): c for c in record["calibration"]}
        horizon = 36.0 if 36.0 in slopes else max(slopes, default=None)
        return {
            "cancer_type": (case.clinical.cancer_type or "").strip() if case.clinical else "",
            "cohorts": [record["cohort"]],
            "split": self.per_type.split,
            "test_n": record["test_n"],
            "test_events": record["test_events"],
            "harrell_c": record["harrell_c"],
            "coxph_c": record["coxph_c"],
            "calibration_slope": slopes[horizon]["slope"] if horizon is not None else None,
            "horizon_months": horizon,
            "calibration": record["calibration"],
            "conformal": {
                "nominal": facts.nominal_coverage,
                "measured_test": facts.measured_coverage,
                "measured_test_pooled": record["conformal"]["measured_test_pooled"],
                "status": facts.status,
                "correction_months": facts.correction_months,
                "note": self.interval_note(case),
            },
            "endpoint": str(self.extras.get("outcome", "")),
            "non_commercial": "non-commercial" in str(self.extras.get("source", "")),
        }

    def _value_at_reference(self, batch: ModalityBatch) -> Tensor:
        """(B,) ensemble-mean S(reference time), differentiable."""
        k = int(np.searchsorted(self.grid, self.reference_months))
        values = []
        for member in self.members:
            values.append(member(batch).survival[:, k])
        return torch.stack(values).mean(0)

    def _explain(
        self,
        case: CaseInputs,
        batch: ModalityBatch,
        embedding: Tensor,
        tile_attention: Tensor | None,
    ) -> Explanation:
        present = torch.nonzero(batch.present[0]).flatten().tolist()

        def value_of_masks(masks: Tensor) -> Tensor:
            expanded = batch.repeat(masks.shape[0]).with_present(masks & batch.present[0])
            with eval_mode(*self.members):
                return self._value_at_reference(expanded)

        shapley = exact_modality_shapley(value_of_masks, present, len(MODALITIES))
        with eval_mode(*self.members, gradients=True):
            attributions = integrated_gradients(self._value_at_reference, batch, steps=16)
        features, by_gene = self._feature_attributions(case, batch, attributions)
        membership = self.extras.get("hallmarks", {})
        hallmarks = (
            hallmark_lens(membership, self._expression_z(batch), by_gene) if membership else ()
        )
        tiles = self._tile_attention(case, tile_attention)
        neighbours = self.extras.get("neighbours")
        similar = None
        if neighbours is not None:
            similar = similar_patients(
                embedding[0].double().numpy(),
                neighbours["embedding"].double().numpy(),
                neighbours["times"].double().numpy(),
                neighbours["events"].double().numpy(),
                self.grid,
            )
        return Explanation(
            reference_years=int(round(self.reference_months / 12.0)),
            baseline_survival=shapley.empty,
            modality_shapley=tuple(
                ModalityAttribution(modality=MODALITIES[i], shapley=v)
                for i, v in sorted(shapley.values.items(), key=lambda kv: -abs(kv[1]))
            ),
            feature_attributions=tuple(features[:TOP_FEATURES]),
            hallmarks=hallmarks,
            tile_attention=tuple(tiles),
            similar_patients=similar,
        )

    def _feature_attributions(
        self, case: CaseInputs, batch: ModalityBatch, attributions: dict[str, Tensor]
    ) -> tuple[list[FeatureAttribution], dict[str, float]]:
        """The strongest feature attributions, strongest first, and every gene's total.

        Only the strongest features become records; every gene's attribution feeds the
        hallmark lens.
        """
        features = []
        by_gene: dict[str, float] = {}
        for modality, values in attributions.items():
            if not bool(batch.present[0, MODALITIES.index(modality)]):
                continue
            names = self.info.feature_names[modality]
            scores = values.double().numpy()
            if modality in ("mutations", "copy_number", "expression"):
                for index in np.nonzero(scores)[0]:
                    name = names[index]
                    by_gene[name] = by_gene.get(name, 0.0) + float(scores[index])
            strongest = np.argsort(-np.abs(scores))[:TOP_FEATURES]
            raw = self._raw_values(case, modality)
            for index in strongest:
                value = float(scores[index])
                if value == 0.0:
                    continue
                features.append(
                    FeatureAttribution(
                        modality=modality,
                        feature=names[index],
                        value=raw.get(names[index], math.nan),
                        attribution=value,
                        direction="raises risk" if value < 0 else "lowers risk",
                    )
                )
        features.sort(key=lambda f: -abs(f.attribution))
        return features, by_gene

    def _tile_attention(
        self, case: CaseInputs, tile_attention: Tensor | None
    ) -> list[TileAttention]:
        """Attention over each slide's tiles, normalised per slide (slides the model skipped
        for their feature size are left out)."""
        tiles: list[TileAttention] = []
        if tile_attention is None:
            return tiles
        offset = 0
        for slide in case.slides:
            if slide.tile_features.shape[-1] != self.config.slide.feature_dim:  # type: ignore[union-attr]
                continue
            n = len(slide.tile_features)
            weights = tile_attention[0, offset : offset + n]
            total = float(weights.sum()) or 1.0
            tiles.append(
                TileAttention(
                    slide_id=slide.slide_id,
                    tile_coordinates=tuple((int(x), int(y)) for x, y in slide.tile_coordinates),
                    weights=tuple(float(w) / total for w in weights),
                )
            )
            offset += n
        return tiles

    def _expression_z(self, batch: ModalityBatch) -> dict[str, float | None]:
        """The case's expression as z-scores against the training cohort (measured genes only)."""
        if batch.expression is None or self.config.expression is None:
            return {}
        names = self.config.expression.features.names
        values = batch.expression.values[0].tolist()
        missing = batch.expression.missing[0].tolist()
        return {n: v for n, v, m in zip(names, values, missing, strict=True) if not m}

    @staticmethod
    def _raw_values(case: CaseInputs, modality: str) -> dict[str, float]:
        source: Any = {}
        if modality == "clinical" and case.clinical:
            source = case.clinical.values
        elif modality == "labs" and case.labs:
            source = case.labs.values
        elif modality in ("mutations", "copy_number", "expression") and case.molecular:
            source = getattr(case.molecular, modality)
        return {k: float(v) for k, v in source.items() if v is not None}

    # -- public -----------------------------------------------------------------------------

    def predict(
        self, case: CaseInputs, *, explain: bool = True, use_untrained: bool = False
    ) -> SurvivalPrediction:
        """Predict survival for one case.

        Args:
            case: the inputs; any subset of modalities.
            explain: compute attributions, hallmarks, tile attention and similar patients.
            use_untrained: also feed modalities whose branch was never trained on outcomes
                (research use; by default they are listed in ``inputs_ignored`` instead).

        Returns:
            The prediction (``status == "abstained"`` with reasons when it should not be used).
        """
        batch, ignored = self._batch(case, use_untrained=use_untrained)
        curves, embedding, tile_attention = self._curves(batch)
        if not bool(batch.present[0, MODALITIES.index("slide")]):
            tile_attention = None
        members = curves[:, 0].double().numpy()  # (E, G)
        mean = members.mean(0)
        used = tuple(m for m, p in zip(MODALITIES, batch.present[0].tolist(), strict=True) if p)
        configured = (*self.info.trained_modalities, *self.info.untrained_modalities)
        missing = tuple(m for m in MODALITIES if m in configured and m not in used)
        reasons = self._abstention(case, batch, embedding, used)
        return SurvivalPrediction(
            case_id=case.case_id,
            status="abstained" if reasons else "ok",
            abstention_reasons=tuple(reasons),
            **self._summary(members),
            time_interval=self._interval(mean, case),
            inputs_used=used,
            inputs_missing=missing,
            inputs_ignored=tuple(ignored),
            model=self.info,
            explanation=self._explain(case, batch, embedding, tile_attention) if explain else None,
        )

    def predict_treatments(
        self, case: CaseInputs, plans: list[TreatmentPlan]
    ) -> tuple[TreatmentScenario, ...]:
        """What-if curves: the same case under each treatment plan.

        Args:
            case: the inputs (its own treatment is replaced).
            plans: plans to compare.

        Returns:
            One scenario per plan, in order. The model learned these effects from observational
            cohorts, so differences are associations, not causal effects.
        """
        if not self.config.treatments:
            raise ValueError(f"model {self.info.name} has no treatment inputs")
        scenarios = []
        for plan in plans:
            batch, _ = self._batch(replace(case, treatment=plan))
            curves, _, _ = self._curves(batch)
            summary = self._summary(curves[:, 0].double().numpy())
            scenarios.append(
                TreatmentScenario(
                    treatment=plan,
                    curve=summary["curve"],
                    median_months=summary["median_months"],
                    survival_at=summary["survival_at"],
                )
            )
        return tuple(scenarios)
