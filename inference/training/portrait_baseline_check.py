"""Which baseline a portrait curve is drawn on, and what that changes (issue #16 follow-up).

``python -m inference.training.portrait_baseline_check [--data DIR] [--commercial-only]`` prints
two tables for the model card:

1. Example patients (COADREAD, LUNG, SKCM, BRCA at stage I-IV): 3-year survival and median on the
   type's reference cohort's baseline (as before the rule) and on the baseline
   ``PortraitModel.baseline`` picks, each curve cut at its baseline's last event.
2. Checks on the VALIDATION parts (test parts are not read), calibration in the large: the
   Kaplan-Meier survival at the type's main horizon of validation patients against their mean
   predicted survival, (a) for each type and stage group where the rule leaves the reference
   cohort, on the reference and on the rule's baseline; (b) for each stage stratum, on its whole
   cohort's baseline and on the stratum's, with the event-weighted mean absolute error.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from inference.portrait.model import STRATUM, PortraitModel, cohort_of, load_shipped
from inference.portrait.vocabulary import ClinicalPortrait, Staging
from inference.survival.curves import quantile_time
from inference.survival.kaplan_meier import kaplan_meier_at
from inference.training.portrait_cohorts import COHORTS, load_all
from inference.training.portrait_train import MAIN_HORIZON, assign_splits, raw_features

logger = logging.getLogger(__name__)
FloatArray = npt.NDArray[np.float64]

EXAMPLE_TYPES = ("COADREAD", "LUNG", "SKCM", "BRCA")
ROMAN = {0: "0", 1: "I", 2: "II", 3: "III", 4: "IV"}


def example(cancer_type: str, stage: int) -> ClinicalPortrait:
    """A 65-year-old man (breast: a 55-year-old woman) with only age, sex and stage group known."""
    female = cancer_type == "BRCA"
    return ClinicalPortrait(
        cancer_type=cancer_type,
        age_years=55.0 if female else 65.0,
        sex_female=female,
        staging=Staging(stage_group=stage),
    )


def last_event_month(model: PortraitModel, cohort: str) -> float:
    """Grid time of a baseline's last training event (where the page's curve stops)."""
    hazard = np.asarray(model.bundle.baselines[cohort])
    rises = np.nonzero(np.diff(hazard) > 0)[0]
    return float(model.bundle.grid_months[int(rises[-1] + 1) if len(rises) else -1])


def reading(model: PortraitModel, curve: FloatArray, cohort: str) -> tuple[float | None, str]:
    """(3-year survival or None beyond the curve's end, median or "> end") as the page reads."""
    grid = np.asarray(model.bundle.grid_months)
    end = last_event_month(model, cohort)
    keep = grid <= end
    at_three = float(np.interp(36.0, grid, curve)) if end >= 36.0 else None
    median = quantile_time(grid[keep], curve[keep], 0.5)
    return at_three, (f"{median:.0f}" if median is not None else f"> {end:.0f}")


def examples_table(model: PortraitModel) -> list[str]:
    """Markdown rows: type, stage, before (cohort, 3 y, median), after (cohort, 3 y, median)."""
    lines = [
        "| type | stage | before: baseline | 3-y S | median (mo) | after: baseline | 3-y S "
        "| median (mo) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for cancer_type in EXAMPLE_TYPES:
        if cancer_type not in model.bundle.reference_cohort:
            continue
        for stage in (1, 2, 3, 4):
            portrait = example(cancer_type, stage)
            reference = model.bundle.reference_cohort[cancer_type]
            chosen = model.baseline(portrait)
            before = model.predict([portrait])[0]
            after = model.predict([portrait], [chosen])[0]
            cells = [cancer_type, ROMAN[stage]]
            for cohort, curve in ((reference, before), (chosen, after)):
                at_three, median = reading(model, curve, cohort)
                held = float(np.interp(36.0, np.asarray(model.bundle.grid_months), curve))
                shown = f"- ({held:.2f})" if at_three is None else f"{at_three:.2f}"
                cells += [cohort, shown, median]
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def followed_kaplan_meier_at(times: FloatArray, events: FloatArray, months: float) -> float | None:
    """Kaplan-Meier S(months), or None when nobody is still followed at that time."""
    return kaplan_meier_at(times, events, months) if (times >= months).any() else None


def mean_at(model: PortraitModel, risk: FloatArray, cohort: str, months: float) -> float:
    """Mean predicted S(months) of patients with ``risk`` on one cohort's baseline."""
    grid = np.asarray(model.bundle.grid_months)
    curves = model.survival(risk, [cohort] * len(risk))
    return float(np.mean([np.interp(months, grid, c) for c in curves]))


def validation_table(model: PortraitModel, frame: pd.DataFrame) -> list[str]:
    """Markdown rows of the calibration-in-the-large check on the validation parts."""
    lines = [
        "| type | stage | validation n / events (cohorts) | horizon | Kaplan-Meier | "
        "mean predicted on reference | on rule's baseline |",
        "|---|---|---|---|---|---|---|",
    ]
    val = frame[frame["split"] == "val"].reset_index(drop=True)
    for cancer_type in sorted(model.bundle.reference_cohort):
        reference = model.bundle.reference_cohort[cancer_type]
        horizon = MAIN_HORIZON[cancer_type]
        for stage in (0, 1, 2, 3, 4):
            chosen = model.baseline(ClinicalPortrait(cancer_type, staging=Staging(stage)))
            rows = val[(val["cancer_type"] == cancer_type) & (val["stage_group"] == stage)]
            if chosen == reference or rows.empty:
                continue
            risk = model.risk(raw_features(rows), list(rows["cancer_type"]))
            observed = followed_kaplan_meier_at(
                rows["time_months"].to_numpy(), rows["event"].to_numpy(), horizon
            )
            cohorts = ", ".join(sorted(set(rows["cohort"])))
            lines.append(
                f"| {cancer_type} | {ROMAN[stage]} | {len(rows)} / {int(rows['event'].sum())} "
                f"({cohorts}) | {horizon:.0f} | "
                + ("-" if observed is None else f"{observed:.2f}")
                + f" | {mean_at(model, risk, reference, horizon):.2f} ({reference})"
                + f" | {mean_at(model, risk, chosen, horizon):.2f} ({chosen}) |"
            )
    return lines


def strata_table(model: PortraitModel, frame: pd.DataFrame) -> list[str]:
    """Markdown rows: each stage stratum's validation patients on the cohort vs stratum baseline."""
    lines = [
        "| stratum | training n / events | validation n / events | horizon | Kaplan-Meier | "
        "on cohort baseline | on stratum baseline |",
        "|---|---|---|---|---|---|---|",
    ]
    errors: dict[str, float] = {"cohort": 0.0, "stratum": 0.0}
    weight = 0.0
    for key in sorted(k for k in model.bundle.baselines if cohort_of(k) != k):
        cohort, stage = cohort_of(key), float(key.split(STRATUM, 1)[1])
        rows = frame[(frame["cohort"] == cohort) & (frame["stage_group"] == stage)]
        train, val = rows[rows["split"] == "train"], rows[rows["split"] == "val"]
        if val.empty:
            continue
        horizon = MAIN_HORIZON[str(val["cancer_type"].iloc[0])]
        risk = model.risk(raw_features(val), list(val["cancer_type"]))
        observed = followed_kaplan_meier_at(
            val["time_months"].to_numpy(), val["event"].to_numpy(), horizon
        )
        on_cohort, on_stratum = (mean_at(model, risk, k, horizon) for k in (cohort, key))
        if observed is not None:
            events = float(val["event"].sum())
            errors["cohort"] += events * abs(observed - on_cohort)
            errors["stratum"] += events * abs(observed - on_stratum)
            weight += events
        lines.append(
            f"| {key} | {len(train)} / {int(train['event'].sum())} | {len(val)} / "
            f"{int(val['event'].sum())} | {horizon:.0f} | "
            + ("-" if observed is None else f"{observed:.2f}")
            + f" | {on_cohort:.2f} | {on_stratum:.2f} |"
        )
    if weight:
        lines.append(
            f"event-weighted mean |Kaplan-Meier - predicted| over {weight:.0f} validation events: "
            f"cohort baselines {errors['cohort'] / weight:.4f}, "
            f"stage strata {errors['stratum'] / weight:.4f}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--commercial-only", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    model = load_shipped(commercial_only=args.commercial_only)
    names = tuple(c for c in COHORTS if c in model.bundle.baselines)
    frame = load_all(args.data, names)
    frame["split"] = assign_splits(frame)
    logger.info("examples\n%s", "\n".join(examples_table(model)))
    logger.info("validation parts\n%s", "\n".join(validation_table(model, frame)))
    logger.info("stage strata, validation parts\n%s", "\n".join(strata_table(model, frame)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
