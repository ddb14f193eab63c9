"""The checkpoints OncoBoard ships, described for the registry from their own files.

Every fact comes from the checkpoint (loaded through its pinned sha256, so a tampered or missing
file stops the sync), its model card and its per-type validation file; nothing is retyped here
except the initial state, which reproduces how prognosis was routed before the registry existed
(see :func:`shipped_models`), and the notes that say why a checkpoint serves no case.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from django.conf import settings

PORTRAIT_FAMILIES = ("portrait", "portrait-commercial")
FUSION_FAMILIES = ("pancancer", "support", "metabric")

_CARD_DIR = "inference/weights"


@dataclass(frozen=True)
class ShippedModel:
    """One registry row as the shipped files describe it."""

    name: str
    version: str
    family: str
    checkpoint: str
    sha256: str
    training_data: str
    licence: str
    commercial_use: bool
    validation_summary: dict[str, Any]
    cancer_types: list[str]
    inputs: list[str]
    initial_state: str
    notes: str = ""


def _bullets(card: str, section: str) -> dict[str, str]:
    """``- Key: value`` lines of one ``## section`` of a model card (or of its header)."""
    match = re.search(rf"^## {re.escape(section)}\n(.*?)(?=^## |\Z)", card, re.M | re.S)
    body = match.group(1) if match else card.split("\n## ", 1)[0]
    return dict(re.findall(r"^- ([^:\n]+): (.+)$", body, re.M))


def _fusion_validation(card: str) -> dict[str, Any]:
    """Test-split figures of a fusion model card: C, C^td, IBS, calibration, conformal."""
    summary: dict[str, Any] = {"model_card": ""}
    split = re.search(r"^## Metrics \(test split ([^;)]+)", card, re.M)
    summary["split"] = split.group(1) if split else ""
    row = re.search(
        r"^\| fusion ensemble \(ours\) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \|", card, re.M
    )
    if row:
        summary.update(
            harrell_c=float(row.group(1)), c_td=float(row.group(2)), ibs=float(row.group(3))
        )
    summary["calibration"] = [
        {"months": float(m), "slope": float(s), "intercept": float(i), "mean_abs_error": float(e)}
        for m, s, i, e in re.findall(
            r"^- (\d+) months: slope ([-\d.]+), intercept ([-\d.]+), mean absolute error ([\d.]+)",
            card,
            re.M,
        )
    ]
    conformal = re.search(r"Conformal interval: nominal ([\d.]+), measured ([\d.]+)", card)
    if conformal:
        summary["conformal"] = {
            "nominal": float(conformal.group(1)),
            "measured": float(conformal.group(2)),
        }
    return summary


@cache
def _fusion(name: str, family: str, cancer_types: tuple[str, ...] = ()) -> ShippedModel:
    from inference.runtime import load_checkpoint
    from inference.weights import SHIPPED

    shipped = SHIPPED[name]
    # The hash check happens here: a file that differs from its pin stops the sync.
    meta = load_checkpoint(shipped.path, expected_sha256=shipped.sha256)
    card = shipped.path.with_name(shipped.card).read_text(encoding="utf-8")
    data = _bullets(card, "Training data and licences")
    trained = _bullets(card, "Which modality was trained on which outcome")
    inputs = trained.get("Trained on outcomes", "").split(" -> ", 1)[0]
    licence = "\n".join(
        f"{key}: {data[key]}"
        for key in ("Licence", "Hallmark lens", "Listed as licence-restricted")
        if key in data
    )
    validation = _fusion_validation(card)
    validation["model_card"] = f"{_CARD_DIR}/{shipped.card}"
    if shipped.per_type_path is not None:
        per_type = json.loads(shipped.per_type_path.read_text(encoding="utf-8"))
        validation["per_type"] = {
            facts["cohort"]: {
                "harrell_c": round(float(facts["harrell_c"]), 3),
                "c_td": round(float(facts["c_td"]), 3),
                "test_n": int(facts["test_n"]),
                "test_events": int(facts["test_events"]),
                "oncotree_codes": list(facts.get("oncotree_codes", [])),
            }
            for facts in per_type["types"].values()
        }
    return ShippedModel(
        name=name,
        version=str(meta.get("version", "")) or shipped.sha256[:12],
        family=family,
        checkpoint=shipped.filename,
        sha256=shipped.sha256,
        training_data="\n".join(
            f"{key}: {data[key]}" for key in ("Cohort", "Outcome", "Source") if key in data
        ),
        licence=licence,
        # Conservative: any non-commercial term in the card's licences keeps it off.
        commercial_use="non-commercial" not in licence.lower(),
        validation_summary=validation,
        cancer_types=list(cancer_types),
        inputs=[part.strip() for part in inputs.split(",") if part.strip()],
        initial_state="",
    )


@cache
def _portrait(commercial: bool) -> ShippedModel:
    from inference.portrait.model import (
        COMMERCIAL_PATH,
        COMMERCIAL_SHA256,
        SHIPPED_PATH,
        SHIPPED_SHA256,
        model_from_checkpoint,
    )
    from inference.portrait.predictor import CARD, COMMERCIAL_NAME, NAME
    from inference.portrait.routing import PORTRAIT_TYPE_OF
    from inference.portrait.vocabulary import FEATURE_NAMES

    path, digest = (
        (COMMERCIAL_PATH, COMMERCIAL_SHA256) if commercial else (SHIPPED_PATH, SHIPPED_SHA256)
    )
    bundle = model_from_checkpoint(path, expected_sha256=digest).bundle
    covered = set(bundle.reference_cohort)
    restricted = sorted(cohort for cohort, flag in bundle.licences.items() if flag)
    licence = (
        "Non-commercial use only: trained with cohorts whose licence forbids commercial use "
        f"({', '.join(restricted)}; GPL-3.0, non-commercial academic, SurvPath README)."
        if restricted
        else "Trained without non-commercial data (SurvSet cohorts from GPL-3.0 R packages, "
        "METABRIC under ODbL 1.0 with attribution and share-alike; cite the original studies)."
    )
    cohorts = sorted(bundle.training_rows)
    return ShippedModel(
        name=COMMERCIAL_NAME if commercial else NAME,
        # The portrait checkpoint has no release number; its digest identifies it (as the
        # predictor reports it on every prediction).
        version=digest[:12],
        family="portrait-commercial" if commercial else "portrait",
        checkpoint=str(path.relative_to(path.parents[1])),
        sha256=digest,
        training_data=(
            f"{len(cohorts)} public cohorts, {len(covered)} cancer types; training rows: "
            + ", ".join(f"{c} {bundle.training_rows[c]}" for c in cohorts)
            + f". Sources and licences per cohort: {CARD} (Training data and licences)."
        ),
        licence=licence,
        commercial_use=not restricted,
        validation_summary={
            "model_card": CARD,
            "split": "test parts (benchmark Q8)",
            "per_type": {
                t: {
                    k: facts[k]
                    for k in ("harrell_c", "test_n", "test_events", "horizon_months")
                    if k in facts
                }
                | {"calibration_slope": facts.get("calibration_slope")}
                for t, facts in sorted(bundle.validation.items())
            },
        },
        cancer_types=sorted(code for code, kind in PORTRAIT_TYPE_OF.items() if kind in covered),
        inputs=list(FEATURE_NAMES),
        initial_state="",
    )


def shipped_models() -> tuple[ShippedModel, ...]:
    """The shipped checkpoints, with the states that reproduce routing before the registry.

    The files are read once per process; the states follow the settings of the moment.

    1. The portrait checkpoint chosen by ``PROGNOSIS_PORTRAIT_CHECKPOINT`` is active for the
       OncoTree codes its types cover; the other portrait checkpoint is a candidate.
    2. The pan-cancer model is active for any type (it abstains on its own outside its cohorts):
       the fallback for every case no more specific active model serves.
    3. SUPPORT and METABRIC served no prognosis: candidates, with the reason in their notes.
    """
    from inference.portrait.routing import PORTRAIT_TYPE_OF

    commercial = settings.PROGNOSIS_PORTRAIT_CHECKPOINT == "commercial"
    active, candidate = "active", "candidate"
    not_chosen = (
        "Shipped alternative; PROGNOSIS_PORTRAIT_CHECKPOINT selected the other portrait checkpoint "
        "when the registry was first filled."
    )
    breast = tuple(sorted(code for code, kind in PORTRAIT_TYPE_OF.items() if kind == "BRCA"))
    return (
        replace(
            _portrait(False),
            initial_state=candidate if commercial else active,
            notes=not_chosen if commercial else "",
        ),
        replace(
            _portrait(True),
            initial_state=active if commercial else candidate,
            notes="" if commercial else not_chosen,
        ),
        replace(
            _fusion("oncoboard-tcga-pancancer", "pancancer"),
            initial_state=active,
            notes=(
                "Fallback for any cancer type no more specific active model serves; it abstains "
                "on its own for types outside its TCGA cohorts."
            ),
        ),
        replace(
            _fusion("oncoboard-support", "support"),
            initial_state=candidate,
            notes=(
                "Serves no case: its cohort is seriously ill hospitalised adults (SUPPORT), most "
                "without cancer, and its curve counts from day 3 of a hospital stay, a date a "
                "cancer record does not hold. The SUPPORT lung and colon cancer patients already "
                "train the portrait model (support2-lung, support2-colon) with that time zero "
                "stated. Activating it would make it the fallback for every type."
            ),
        ),
        replace(
            _fusion("oncoboard-metabric", "metabric", breast),
            initial_state=candidate,
            notes=(
                "Serves no prognosis: breast cases go to the portrait model, validated on "
                "METABRIC and three more breast cohorts. This checkpoint feeds the therapy "
                "what-if view (treatment inputs), which loads it by its own pin, outside the "
                "registry."
            ),
        ),
    )
