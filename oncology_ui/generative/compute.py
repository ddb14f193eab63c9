"""The generative model's answers for one case, as JSON for the profile and experiment rows.

Every call here crosses the inference boundary with frozen dataclasses
(:mod:`inference.generative.profile`, ``next_test``, ``prognosis_imputation``) and returns plain
JSON, so the page and the PDF read stored values, never a fresh model call.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import numpy as np

from inference.generative.metrics import summarise
from inference.generative.next_test import COMMON_DRIVERS, rank_next_tests
from inference.generative.profile import (
    HYPOTHESIS,
    RESEARCH_USE,
    ImputedProfile,
    InSilicoChange,
    experiment_case,
    observation_arrays,
    profile_case,
)
from inference.generative.prognosis_imputation import (
    REFERENCE_MONTHS,
    imputed_curves,
    member_curves,
    pool,
    prognosis_case,
)
from inference.survival.curves import survival_at_months
from oncology_ui.generative.inputs import Need, observation_of

if TYPE_CHECKING:
    from inference.generative.model import GenerativeModel
    from inference.predictor import SurvivalPredictor

MODALITY_LABELS = {
    "clinical": "Clinical facts (age, sex)",
    "mutation": "Mutations",
    "cnv": "Copy number",
    "rna": "Gene expression",
}
#: The same, inside a sentence ("3-year survival with copy number, expression imputed").
MODALITY_WORDS = {
    "clinical": "clinical facts",
    "mutation": "mutations",
    "cnv": "copy number",
    "rna": "expression",
}


def json_safe(value: Any) -> Any:
    """NaN and infinities become null; tuples lists (JSON has neither)."""
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def feature_counts(profile: ImputedProfile) -> dict[str, dict[str, int]]:
    """Per modality: how many features were given and how many the model filled in."""
    counts = {}
    for modality, rows in (
        ("mutation", profile.mutations),
        ("cnv", profile.cnv),
        ("rna", profile.genes),
    ):
        given = sum(1 for r in rows if r.measured)
        counts[modality] = {"measured": given, "imputed": len(rows) - given}
    return counts


def _three_years(grid: np.ndarray, curves: np.ndarray) -> np.ndarray:
    """(K,) 3-year survival of (K, G) curves."""
    return np.array([survival_at_months(grid, c, REFERENCE_MONTHS) or np.nan for c in curves])


def _prognosis(
    predictor: SurvivalPredictor,
    generative: GenerativeModel,
    snapshot: dict[str, Any],
    *,
    n_samples: int,
    seed: int,
) -> dict[str, Any]:
    """The 3-year estimate pooled over imputations, beside the same with the gaps masked."""
    observation = observation_of(snapshot)
    imputed = prognosis_case(predictor, generative, observation, n_samples=n_samples, seed=seed)
    arrays, _, _ = observation_arrays(generative, observation)
    observed = {m: v for m, v in arrays.items() if np.isfinite(v).any()}
    masked = pool(
        predictor.grid,
        member_curves(predictor, observed, generative.names, [observation.cancer_type]),
    )
    low, high = (_three_years(masked.grid, band)[0] for band in (masked.lower, masked.upper))
    return json_safe(
        {
            "survival_model": imputed.survival_model,
            "imputed": {
                "survival_3y": imputed.survival_3y,
                "lower_3y": imputed.lower_3y,
                "upper_3y": imputed.upper_3y,
                "band": imputed.band,
                "modalities": imputed.imputed,
                "words": ", ".join(MODALITY_WORDS.get(m, m) for m in imputed.imputed),
                "n_samples": imputed.n_samples,
            },
            "masked": {
                "survival_3y": _three_years(masked.grid, masked.survival)[0],
                "lower_3y": low,
                "upper_3y": high,
                "band": f"central 80% of the {len(predictor.members)} ensemble members, "
                "missing modalities left out (masked)",
            },
            "measured": imputed.measured,
        }
    )


def learnt_genes(generative: GenerativeModel, snapshot: dict[str, Any]) -> list[str]:
    """The mutations the model learnt for the case's cancer type (the only ones it can test)."""
    _, cohort, _ = observation_arrays(generative, observation_of(snapshot))
    k = generative.config.cancer_types.index(cohort)
    carried = generative.carried["mutation"][k]
    return [g.upper() for g, c in zip(generative.names["mutation"], carried, strict=True) if c]


def settles_text(items: Sequence[str], shown: int = 4) -> list[str]:
    """What a test would settle, short: therapy rules by name, trials counted."""
    rules = list(dict.fromkeys(i.removeprefix("therapy rule ") for i in items if "trial " not in i))
    trials = sorted({i.removeprefix("trial ") for i in items if i.startswith("trial ")})
    out = []
    if rules:
        more = f" and {len(rules) - shown} more" if len(rules) > shown else ""
        out.append(f"therapy rules {', '.join(rules[:shown])}{more}")
    if trials:
        more = f" and {len(trials) - 2} more" if len(trials) > 2 else ""
        out.append(
            f"criteria of {len(trials)} trial{'s' if len(trials) > 1 else ''} "
            f"({', '.join(trials[:2])}{more})"
        )
    return out


def _next_tests(
    predictor: SurvivalPredictor,
    generative: GenerativeModel,
    snapshot: dict[str, Any],
    needs: Sequence[Need],
    *,
    draws: int,
    seed: int,
) -> dict[str, Any]:
    """Tests ranked by the expected change of the 3-year estimate, joined with the app's needs.

    Genes that a therapy rule or trial criterion waits for join the common drivers as
    single-gene tests; a need the generative model cannot simulate (ER, HER2, stage work-up) is
    listed apart with what it settles, unranked.
    """
    known = set(learnt_genes(generative, snapshot))
    gene_needs = [n for n in needs if n.gene and n.gene in known]
    drivers = tuple(dict.fromkeys([*COMMON_DRIVERS, *(n.gene for n in gene_needs)]))
    wanted: dict[str, list[str]] = {}
    for need in gene_needs:
        for key in (f"mutation:{need.gene}", "mutation"):
            wanted.setdefault(key, []).append(need.settles)
    resolves = {key: settles_text(items) for key, items in wanted.items()}
    ranking = rank_next_tests(
        predictor,
        generative,
        observation_of(snapshot),
        resolves=resolves,
        drivers=drivers,
        n_outer=draws,
        n_inner=draws,
        seed=seed,
    )
    others: dict[str, list[str]] = {}
    for need in needs:
        if not (need.gene and need.gene in known):
            others.setdefault(need.test or need.gene, []).append(need.settles)
    data = json_safe(asdict(ranking))
    data["not_simulated"] = [
        {"test": test, "settles": settles_text(items)} for test, items in sorted(others.items())
    ]
    return dict(data)


def profile_compute(
    generative: GenerativeModel,
    predictor: SurvivalPredictor | None,
    snapshot: dict[str, Any],
    needs: Sequence[Need],
    *,
    n_samples: int,
    seed: int,
    draws: int,
    prognosis_samples: int,
) -> dict[str, Any]:
    """The profile row's fields for a case's snapshot.

    Raises:
        inference.generative.model.UntrainedTypeError: the case's type is not covered.
    """
    from inference.hallmarks.profile import profile_from_samples

    observation = observation_of(snapshot)
    profile = profile_case(generative, observation, n_samples=n_samples, seed=seed)
    hallmarks = None
    if "rna" in profile.imputed:
        arrays, cohort, _ = observation_arrays(generative, observation)
        rna = generative.impute(arrays, [cohort], n_samples, seed, only=("rna",))["rna"][:, 0, :]
        hallmarks = json_safe(
            asdict(
                profile_from_samples(
                    generative.names["rna"], rna, cohort, model_version=generative.version
                )
            )
        )
    fields: dict[str, Any] = {
        "model_version": profile.model_version,
        "weights_sha256": profile.weights_sha256,
        "seed": seed,
        "n_samples": n_samples,
        "measured": ["clinical", *[m for m in profile.measured if m != "clinical"]],
        "imputed": list(profile.imputed),
        "feature_counts": {
            **feature_counts(profile),
            "unavailable": list(profile.unavailable),
            "ignored": list(profile.ignored[:50]),
            "cohort": profile.cancer_type,
            "mutation_genes": learnt_genes(generative, snapshot),
        },
        "hallmarks": hallmarks,
        "validation": json_safe(dict(generative.validation)),
        "next_tests": None,
        "prognosis": None,
    }
    if predictor is not None:
        fields["prognosis"] = _prognosis(
            predictor, generative, snapshot, n_samples=prognosis_samples, seed=seed
        )
        fields["next_tests"] = _next_tests(
            predictor, generative, snapshot, needs, draws=draws, seed=seed
        )
    return fields


def change_of(data: dict[str, Any]) -> InSilicoChange:
    return InSilicoChange(
        str(data["modality"]), str(data["feature"]), float(data["value"]), str(data["description"])
    )


def _prognosis_shift(
    predictor: SurvivalPredictor,
    generative: GenerativeModel,
    snapshot: dict[str, Any],
    change: InSilicoChange,
    *,
    n_samples: int,
    seed: int,
) -> dict[str, Any]:
    """Paired shift of the 3-year estimate: the survival model scores before and after samples."""
    observation = observation_of(snapshot)
    arrays, cohort, _ = observation_arrays(generative, observation)
    before, after = generative.intervene(
        arrays,
        [cohort],
        modality=change.modality,
        feature=change.feature,
        value=change.value,
        n_samples=n_samples,
        seed=seed,
    )
    codes = [observation.cancer_type]
    members = len(predictor.members)
    estimates = []
    for samples in (before, after):
        curves = imputed_curves(predictor, {}, samples, generative.names, codes)  # (S*E, 1, G)
        per_sample = curves[:, 0, :].reshape(n_samples, members, -1).mean(1)  # (S, G)
        estimates.append(_three_years(predictor.grid, per_sample))
    shift = (estimates[1] - estimates[0])[:, None]
    mean, lower, upper = summarise(shift)
    return json_safe(
        {
            "name": "3-year survival",
            "mean": mean[0],
            "lower": lower[0],
            "upper": upper[0],
            "before": float(np.nanmean(estimates[0])),
            "after": float(np.nanmean(estimates[1])),
            "survival_model": f"{predictor.info.name} {predictor.info.version}".strip(),
            "n_samples": n_samples,
        }
    )


def experiment_compute(
    generative: GenerativeModel,
    predictor: SurvivalPredictor | None,
    snapshot: dict[str, Any],
    change: InSilicoChange,
    *,
    n_samples: int,
    seed: int,
    prognosis_samples: int,
) -> dict[str, Any]:
    """The experiment's result as JSON: hallmark shifts with intervals, the prognosis shift.

    Raises:
        inference.generative.model.UntrainedTypeError: the case's type is not covered.
        ValueError: the change names something the model does not know for the type.
    """
    result = experiment_case(
        generative, observation_of(snapshot), change, n_samples=n_samples, seed=seed
    )
    data = json_safe(asdict(result))
    data["label"] = HYPOTHESIS
    data["research_use"] = RESEARCH_USE
    if predictor is not None:
        data["prognosis_shift"] = _prognosis_shift(
            predictor, generative, snapshot, change, n_samples=prognosis_samples, seed=seed
        )
    return dict(data)
