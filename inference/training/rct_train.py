"""Train and check the trial models; write ``inference/weights/oncoboard-rct-whatif.json``.

``python -m inference.training.rct_train [--out PATH]`` fits one model per trial of
:data:`inference.therapy.trials_rct.TRIALS` on its training half, checks every contrast on the
held-out half, runs the Rotterdam -> GBSG2 transport check, writes the file and prints its sha256
(pin it in ``inference.weights.RCT_WHATIF`` in the same commit). Deterministic: fixed split and
cross-validation seeds, so a rerun writes the same bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import time
from pathlib import Path
from typing import Any

from inference.therapy.rct_model import TrialModel
from inference.therapy.rct_whatif import (
    VALIDATION_RULE,
    ContrastValidation,
    validation_to_json,
)
from inference.therapy.trials_rct import TRIALS, TRIALS_BY_KEY
from inference.training.rct_cohorts import held_out_split, load_trial
from inference.training.rct_fit import fit_trial_model
from inference.training.rct_validate import transport, validate_contrast

logger = logging.getLogger(__name__)

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "weights" / "oncoboard-rct-whatif.json"
SPLIT_SEED = 17


def train_and_validate(
    models: dict[str, TrialModel] | None = None,
) -> dict[str, Any]:
    """Fit (unless ``models`` are given) and validate every trial; run the transport check.

    Args:
        models: already fitted models by trial key (the shipped ones for a quick check).

    Returns:
        ``models``, ``validations`` (ContrastValidation list), ``details`` by contrast key,
        ``penalty_scores`` by trial, ``transport`` and ``seconds`` (fitting time).
    """
    started = time.perf_counter()
    fitted: dict[str, TrialModel] = {}
    validations: list[ContrastValidation] = []
    details: dict[str, Any] = {}
    scores: dict[str, Any] = {}
    for trial in TRIALS:
        _, frame = load_trial(trial.key)
        held_out = held_out_split(frame, seed=SPLIT_SEED)
        if models is None:
            model, scores[trial.key] = fit_trial_model(trial, frame[~held_out])
        else:
            model = models[trial.key]
        fitted[trial.key] = model
        for contrast in trial.contrasts:
            validation, detail = validate_contrast(
                trial, contrast, model, frame[held_out].reset_index(drop=True)
            )
            validations.append(validation)
            details[contrast.key] = detail
    rotterdam, rott_frame = load_trial("rotterdam")
    rott_model, _ = fit_trial_model(rotterdam, rott_frame)
    gbsg2, gbsg2_frame = load_trial("gbsg2")
    transported = transport(rotterdam, rott_frame, gbsg2, gbsg2_frame, rott_model)
    return {
        "models": fitted,
        "validations": validations,
        "details": details,
        "penalty_scores": scores,
        "transport": transported,
        "seconds": round(time.perf_counter() - started, 2),
    }


def shipped_payload(result: dict[str, Any]) -> bytes:
    """The bytes of the shipped file: models, validations, the rule and the transport check."""
    document = {
        "format": "oncoboard-rct-whatif/1",
        "rule": VALIDATION_RULE,
        "split_seed": SPLIT_SEED,
        "models": {key: model.to_json() for key, model in result["models"].items()},
        "validations": [validation_to_json(v) for v in result["validations"]],
        "transport": result["transport"],
    }
    return (json.dumps(document, sort_keys=True, separators=(",", ":")) + "\n").encode()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    result = train_and_validate()
    payload = shipped_payload(result)
    args.out.write_bytes(payload)
    for v in result["validations"]:
        trial = TRIALS_BY_KEY[v.trial_key]
        logger.info(
            "%-34s %-9s validated=%s %s %s",
            v.contrast_key,
            trial.cancer_type,
            v.validated,
            v.agreement,
            v.reason,
        )
    logger.info("transport: %s", json.dumps(result["transport"]))
    logger.info("trained and checked in %.1f s", result["seconds"])
    logger.info("wrote %s sha256 %s", args.out, hashlib.sha256(payload).hexdigest())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
