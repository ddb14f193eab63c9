"""Next best test: how much would each test the case lacks move its 3-year survival estimate?

Preposterior analysis. For a test that reveals a modality (RNA profile, copy number, mutation
panel), ``n_outer`` possible results are drawn from the generative model given what is known;
for each, the rest of what is still missing is imputed ``n_inner`` times and the survival model
(``inference.generative.prognosis_imputation``) re-scores the case, giving the 3-year survival
estimate the clinician would see after that result. A single-gene mutation test has two results:
its probability comes from the generative model's draws, and each result is re-scored the same
way. The value of a test is the expected absolute change of the estimate, E|S_j - E S_j| over the
results j (by the law of total expectation E S_j is today's estimate), with its spread (standard
deviation of S_j). Tests are ranked by expected change.

Tests the generative model does not cover (ER/PR/HER2, stage work-up) come in through the hook
:class:`ExternalTest`: the app supplies the possible results with their probabilities and the 3-year
estimate under each, and they are ranked on the same scale. The app may also name, per test, the
therapy options or trial criteria it would resolve (its "needs X" lists); they join the reasoning.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from inference.generative.data import MODALITIES
from inference.generative.prognosis_imputation import (
    REFERENCE_MONTHS,
    imputed_curves,
    member_curves,
)
from inference.survival.curves import survival_at_months

if TYPE_CHECKING:
    from inference.generative.model import GenerativeModel
    from inference.generative.profile import TumourObservation
    from inference.predictor import SurvivalPredictor

FloatArray = npt.NDArray[np.float64]
#: Common drivers offered as single-gene tests where the case's mutations are not known.
COMMON_DRIVERS: tuple[str, ...] = (
    "TP53", "PIK3CA", "KRAS", "EGFR", "BRAF", "IDH1", "PTEN", "ATRX", "CDH1", "STK11",
)  # fmt: skip
MODALITY_TESTS: dict[str, str] = {
    "rna": "RNA expression profile",
    "cnv": "Copy-number profile",
    "mutation": "Mutation panel",
}
N_OUTER = 8
N_INNER = 8


@dataclass(frozen=True)
class CandidateTest:
    """A test the case lacks that the generative model can simulate.

    Attributes:
        key: ``"rna"``, ``"cnv"``, ``"mutation"`` (a whole modality) or ``"mutation:TP53"``.
        label: what the clinician reads.
        modality: the generative modality the test reveals.
        gene: the one gene a single-gene test reveals; ``None`` for a whole modality.
    """

    key: str
    label: str
    modality: str
    gene: str | None = None


@dataclass(frozen=True)
class ExternalOutcome:
    """One possible result of an app-simulated test and the 3-year estimate it would give."""

    label: str
    probability: float
    survival_3y: float


@dataclass(frozen=True)
class ExternalTest:
    """The hook for tests the generative model does not cover (ER/PR/HER2, stage work-up).

    Attributes:
        key, label: identifier and display name.
        outcomes: its possible results (probabilities summing to 1) with the 3-year survival
            estimate under each, from the app's own models and lists.
    """

    key: str
    label: str
    outcomes: tuple[ExternalOutcome, ...]


@dataclass(frozen=True)
class TestValue:
    """The value of doing one test, for display.

    Attributes:
        key, label: the test.
        rank: 1 = most informative.
        expected_change: expected absolute change of the 3-year survival estimate (0..1).
        spread: standard deviation of the post-test estimate over the possible results.
        post_test_range: (10th, 90th percentile) of the post-test 3-year estimate.
        resolves: therapy options / trial criteria the app says the test would settle.
        reasoning: one or two sentences for the clinician.
        source: ``"generative"`` (simulated here) or ``"app"`` (an :class:`ExternalTest`).
    """

    key: str
    label: str
    rank: int
    expected_change: float
    spread: float
    post_test_range: tuple[float, float]
    resolves: tuple[str, ...]
    reasoning: str
    source: str


@dataclass(frozen=True)
class NextTestRanking:
    """Every missing test ranked by how much it would move the 3-year survival estimate."""

    survival_model: str
    generative_model: str
    current_3y: float | None
    measured: tuple[str, ...]
    tests: tuple[TestValue, ...]
    n_outer: int
    n_inner: int
    seed: int
    method: str
    research_use: str


def candidate_tests(
    generative: GenerativeModel,
    observed: Mapping[str, FloatArray],
    drivers: Sequence[str] = COMMON_DRIVERS,
    *,
    cancer_type: str | None = None,
) -> tuple[CandidateTest, ...]:
    """The tests one case (row 0 of ``observed``) lacks: each molecular modality with nothing
    measured, and a single-gene test per driver whose mutation status is unknown. With
    ``cancer_type``, only what the model learnt for that type is offered (no RNA profile for
    UCEC, no single-gene test of a gene its cohort never profiled)."""
    carried = None
    if cancer_type is not None:
        row = np.array([generative.type_index(cancer_type)])
        carried = {m: generative.carried_mask(m, row)[0] for m in MODALITY_TESTS}
    tests: list[CandidateTest] = []
    for modality in ("rna", "cnv", "mutation"):
        values = observed.get(modality)
        if carried is not None and not carried[modality].any():
            continue
        if values is None or not np.isfinite(values[0]).any():
            tests.append(CandidateTest(modality, MODALITY_TESTS[modality], modality))
    index = {g.upper(): j for j, g in enumerate(generative.names["mutation"])}
    mutation = observed.get("mutation")
    for gene in drivers:
        column = index.get(gene.upper())
        if column is None or (carried is not None and not carried["mutation"][column]):
            continue
        if mutation is None or not np.isfinite(mutation[0, column]):
            tests.append(
                CandidateTest(f"mutation:{gene}", f"{gene} mutation test", "mutation", gene)
            )
    return tuple(tests)


def estimate_3y(
    predictor: SurvivalPredictor,
    generative: GenerativeModel,
    observed: Mapping[str, FloatArray],
    cancer_types: Sequence[str],
    oncotree_codes: Sequence[str],
    n_samples: int,
    seed: int,
) -> FloatArray:
    """(N,) pooled 3-year survival estimate, imputing whatever each row lacks."""
    full = {m: v for m, v in observed.items() if np.isfinite(v).all()}
    lacking = tuple(m for m in MODALITIES if m not in full)
    if lacking:
        drawn = generative.impute(dict(observed), cancer_types, n_samples, seed, only=lacking)
        curves = imputed_curves(predictor, full, drawn, generative.names, oncotree_codes)
    else:
        curves = member_curves(predictor, full, generative.names, oncotree_codes)
    mean = curves.mean(0)  # (N, G)
    return np.array(
        [survival_at_months(predictor.grid, row, REFERENCE_MONTHS) or np.nan for row in mean]
    )


def reveal(
    observed: Mapping[str, FloatArray],
    test: CandidateTest,
    values: FloatArray,
    generative: GenerativeModel,
) -> dict[str, FloatArray]:
    """``observed`` with the test's result written in (``values``: (N, d) for a modality, (N,)
    for a single gene)."""
    n = len(next(iter(observed.values())))
    out = {m: np.array(v, dtype=np.float64, copy=True) for m, v in observed.items()}
    current = out.get(test.modality, np.full((n, generative.config.dims[test.modality]), np.nan))
    if test.gene is None:
        current = np.where(np.isfinite(current), current, values)
    else:
        column = [g.upper() for g in generative.names["mutation"]].index(test.gene.upper())
        current[:, column] = values
    out[test.modality] = current
    return out


def preposterior(
    predictor: SurvivalPredictor,
    generative: GenerativeModel,
    observed: Mapping[str, FloatArray],
    cancer_types: Sequence[str],
    oncotree_codes: Sequence[str],
    test: CandidateTest,
    *,
    n_outer: int = N_OUTER,
    n_inner: int = N_INNER,
    seed: int = 0,
) -> tuple[FloatArray, FloatArray]:
    """Post-test 3-year estimates (J, N) and their probabilities (J, N) over the test's results.

    A modality test has ``n_outer`` equally likely drawn results; a single-gene test has two
    (wild type, mutated) with the generative model's probability of each.
    """
    draws = generative.impute(dict(observed), cancer_types, n_outer, seed, only=(test.modality,))
    drawn = draws[test.modality]  # (n_outer, N, d)
    if test.gene is None:
        estimates = [
            estimate_3y(
                predictor,
                generative,
                reveal(observed, test, drawn[j], generative),
                cancer_types,
                oncotree_codes,
                n_inner,
                seed + 1000 * (j + 1),
            )
            for j in range(n_outer)
        ]
        values = np.stack(estimates)
        return values, np.full(values.shape, 1.0 / n_outer)
    column = [g.upper() for g in generative.names["mutation"]].index(test.gene.upper())
    p_mutated = np.clip(np.nan_to_num(drawn[:, :, column].mean(0)), 0.0, 1.0)  # (N,)
    n = len(p_mutated)
    values = np.stack(
        [
            estimate_3y(
                predictor,
                generative,
                reveal(observed, test, np.full(n, float(result)), generative),
                cancer_types,
                oncotree_codes,
                n_inner,
                seed + 1000 * (result + 1),
            )
            for result in (0, 1)
        ]
    )
    return values, np.stack([1.0 - p_mutated, p_mutated])


def expected_change(values: FloatArray, weights: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Expected absolute change E|S_j - E S_j| and spread sd(S_j), per column (case)."""
    mean = (weights * values).sum(0)
    change = (weights * np.abs(values - mean)).sum(0)
    spread = np.sqrt((weights * (values - mean) ** 2).sum(0))
    return change, spread


def _weighted_range(values: FloatArray, weights: FloatArray) -> tuple[float, float]:
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    low = values[order][min(int(np.searchsorted(cumulative, 0.1)), len(values) - 1)]
    high = values[order][min(int(np.searchsorted(cumulative, 0.9)), len(values) - 1)]
    return float(low), float(high)


def _reasoning(label: str, change: float, spread: float, now: float | None, settles: str) -> str:
    today = f" from today's {now:.0%}" if now is not None else ""
    text = (
        f"{label}: its result would move the 3-year survival estimate{today} by "
        f"{100 * change:.1f} points on average (spread {100 * spread:.1f} points over its "
        "possible results)."
    )
    if settles:
        text += f" It would also settle: {settles}."
    return text


def rank_next_tests(
    predictor: SurvivalPredictor,
    generative: GenerativeModel,
    observation: TumourObservation,
    *,
    external: Sequence[ExternalTest] = (),
    resolves: Mapping[str, Sequence[str]] | None = None,
    drivers: Sequence[str] = COMMON_DRIVERS,
    n_outer: int = N_OUTER,
    n_inner: int = N_INNER,
    seed: int = 0,
) -> NextTestRanking:
    """Rank the tests a case lacks by the expected change of its 3-year survival estimate.

    Args:
        predictor: the survival model (``inference.load_model()``).
        generative: the generative model.
        observation: what is known of the case.
        external: app-simulated tests (ER/PR/HER2, stage work-up) with their possible results.
        resolves: test key -> therapy options / trial criteria it would settle (app lists).
        drivers: genes offered as single-gene tests.
        n_outer, n_inner: drawn results per test, imputations per result.
        seed: the same seed gives the same ranking.

    Returns:
        The ranking; every missing test named, most informative first.

    Raises:
        inference.generative.model.UntrainedTypeError: a cancer type the generative model was
            not trained on.
    """
    from inference.generative.profile import RESEARCH_USE, observation_arrays

    arrays, cohort, _ = observation_arrays(generative, observation)
    observed = {m: v for m, v in arrays.items() if np.isfinite(v).any()}
    types, codes = [cohort], [observation.cancer_type]
    now_values = estimate_3y(predictor, generative, observed, types, codes, n_inner * 4, seed)
    now = float(now_values[0]) if np.isfinite(now_values[0]) else None
    settle = {k: tuple(v) for k, v in (resolves or {}).items()}
    rows: list[tuple[float, TestValue]] = []
    for test in candidate_tests(generative, observed, drivers, cancer_type=cohort):
        values, weights = preposterior(
            predictor, generative, observed, types, codes, test,
            n_outer=n_outer, n_inner=n_inner, seed=seed,
        )  # fmt: skip
        change, spread = expected_change(values, weights)
        rows.append(
            _value(test.key, test.label, values[:, 0], weights[:, 0], float(change[0]),
                   float(spread[0]), now, settle.get(test.key, ()), "generative")
        )  # fmt: skip
    for extra in external:
        values = np.array([[o.survival_3y] for o in extra.outcomes])
        weights = np.array([[o.probability] for o in extra.outcomes])
        weights = weights / max(float(weights.sum()), 1e-12)
        change, spread = expected_change(values, weights)
        rows.append(
            _value(extra.key, extra.label, values[:, 0], weights[:, 0], float(change[0]),
                   float(spread[0]), now, settle.get(extra.key, ()), "app")
        )  # fmt: skip
    rows.sort(key=lambda row: (-row[0], row[1].key))
    tests = tuple(
        TestValue(**{**value.__dict__, "rank": rank}) for rank, (_, value) in enumerate(rows, 1)
    )
    return NextTestRanking(
        survival_model=f"{predictor.info.name} {predictor.info.version}".strip(),
        generative_model=generative.version,
        current_3y=now,
        measured=tuple(observed),
        tests=tests,
        n_outer=n_outer,
        n_inner=n_inner,
        seed=seed,
        method=(
            "preposterior analysis: possible results drawn from the generative model, the case "
            "re-scored by the survival model under multiple imputation of what stays missing"
        ),
        research_use=RESEARCH_USE,
    )


def _value(
    key: str,
    label: str,
    values: FloatArray,
    weights: FloatArray,
    change: float,
    spread: float,
    now: float | None,
    settles: tuple[str, ...],
    source: str,
) -> tuple[float, TestValue]:
    value = TestValue(
        key=key,
        label=label,
        rank=0,
        expected_change=change,
        spread=spread,
        post_test_range=_weighted_range(values, weights),
        resolves=settles,
        reasoning=_reasoning(label, change, spread, now, "; ".join(settles)),
        source=source,
    )
    return change, value
