"""Per-cancer-type validation facts of a shipped checkpoint, and the interval each type gets.

A pan-cancer model validated on pooled test patients can be well calibrated on average and
miscalibrated for one cancer type. ``python -m inference.training.per_type`` scores the shipped
checkpoint per cancer type on the test split it was validated on and writes
``<checkpoint>.per_type.json`` next to it; this module loads that file (pinned like the
checkpoint) and answers, for a case's OncoTree code, which conformal widening to use, or why the
time interval is withheld, and what was measured for that type.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from inference.runtime import CheckpointError, pinned_digest

IntervalStatus = Literal["ok", "widened", "abstained"]


@dataclass(frozen=True)
class TypeValidation:
    """Test-split facts of one cancer type (one TCGA cohort) and its interval decision.

    Attributes:
        type_code: TCGA cohort code (``ucec``).
        oncotree_codes: OncoTree codes of the cohort's patients.
        status: ``ok`` (pooled widening kept), ``widened`` (the type's own widening, fitted on
            the type's calibration patients) or ``abstained`` (no interval for this type).
        correction_months: widening to apply; ``None`` when abstained.
        measured_coverage: coverage measured on the type's test patients with the interval the
            predictor gives (after widening for ``widened``; before for ``abstained``).
        nominal_coverage: the coverage the interval is calibrated for.
        reason: why the interval was widened or withheld ('' for ``ok``).
        facts: the whole per-type record of the JSON (n, events, C, slopes, coverage), for the
            page.
    """

    type_code: str
    oncotree_codes: tuple[str, ...]
    status: IntervalStatus
    correction_months: float | None
    measured_coverage: float | None
    nominal_coverage: float
    reason: str
    facts: dict[str, Any]


@dataclass(frozen=True)
class PerTypeValidation:
    """All cancer types of one checkpoint.

    Attributes:
        model: checkpoint name.
        checkpoint_sha256: digest of the checkpoint the facts were measured with.
        split: test split name (``fold0``).
        types: type code -> facts.
        by_oncotree: OncoTree code -> type code.
    """

    model: str
    checkpoint_sha256: str
    split: str
    types: dict[str, TypeValidation]
    by_oncotree: dict[str, str]

    def for_cancer_type(self, oncotree_code: str | None) -> TypeValidation | None:
        """The facts of the cohort an OncoTree code belongs to; ``None`` when it was not scored."""
        code = (oncotree_code or "").strip()
        type_code = self.by_oncotree.get(code)
        return self.types.get(type_code) if type_code is not None else None


def load_per_type_validation(
    path: Path, *, expected_sha256: str | None, checkpoint_sha256: str
) -> PerTypeValidation:
    """Load a per-type validation file after checking its pin and its checkpoint.

    Args:
        path: the JSON file.
        expected_sha256: its pinned digest (``inference.weights``); ``None`` checks existence only.
        checkpoint_sha256: digest of the loaded checkpoint; facts measured with another
            checkpoint describe a different model and are refused.

    Returns:
        The facts.

    Raises:
        CheckpointError: missing file, digest mismatch, other checkpoint, or malformed content.
    """
    pinned_digest(path, expected_sha256, what="per-type validation file", error=CheckpointError)
    try:
        payload = json.loads(path.read_text())
        if payload["checkpoint_sha256"] != checkpoint_sha256:
            raise CheckpointError(
                f"per-type validation file {path.name} was measured with checkpoint "
                f"{payload['checkpoint_sha256'][:12]}, not {checkpoint_sha256[:12]}; refusing it"
            )
        nominal = float(payload["nominal_coverage"])
        types = {}
        for type_code, facts in payload["types"].items():
            interval = facts["interval"]
            correction = interval["correction_months"]
            if interval["status"] not in ("ok", "widened", "abstained") or (
                (correction is None) != (interval["status"] == "abstained")
            ):
                raise ValueError(f"{type_code}: interval status and correction disagree")
            measured = interval["measured_coverage"]
            types[type_code] = TypeValidation(
                type_code=type_code,
                oncotree_codes=tuple(facts["oncotree_codes"]),
                status=interval["status"],
                correction_months=float(correction) if correction is not None else None,
                measured_coverage=float(measured) if measured is not None else None,
                nominal_coverage=nominal,
                reason=str(interval["reason"]),
                facts=facts,
            )
        by_oncotree = {
            code: type_code for type_code, t in types.items() for code in t.oncotree_codes
        }
        return PerTypeValidation(
            model=str(payload["model"]),
            checkpoint_sha256=checkpoint_sha256,
            split=str(payload["split"]),
            types=types,
            by_oncotree=by_oncotree,
        )
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(
            f"per-type validation file {path.name} is malformed: {error}"
        ) from error
