"""The ridge penalty of in-silico experiments, chosen on the inner validation rows.

The linear-Gaussian component draws copy number and RNA given what a case has measured; its
conditional mean is a ridge regression whose penalty (the unique variance ``psi``) was chosen for
imputation accuracy. An in-silico change of a mutation moves that conditional mean: with a small
penalty the shift is the driver's *partial* association given every other measured feature, with a
large one it tends to the driver's *marginal* association (ridge coefficients shrink towards the
covariances). Which one agrees better with mutant - wild-type differences in unseen tumours is an
empirical question, so the penalty of experiments is ``penalty`` times the imputation's, ``penalty``
chosen from ``PENALTIES`` on the inner validation rows of the training part (never a held-out fold):
per cancer type and common driver with at least ``MIN_VALIDATION_CASES`` mutant and wild-type
validation cases with RNA, the Pearson r across the 50 hallmarks between the in-silico shift of
those cases (their clinical facts and other mutations kept) and their own mutant - wild-type
difference, averaged over pairs. The imputation itself (profiles, intervals) is unchanged.
"""

from __future__ import annotations

import logging
import warnings
from typing import TYPE_CHECKING

import numpy as np

from inference.generative.data import FloatArray, IntArray, MultiOmicsTable
from inference.generative.programmes import membership_of
from inference.hallmarks.gene_sets import hallmark_scores

if TYPE_CHECKING:
    from inference.generative.model import GenerativeModel

logger = logging.getLogger(__name__)

#: ``GenerativeModel.calibration`` key of the chosen factor (absent = 1, the imputation's).
KEY = "intervention_penalty"
PENALTIES = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)
MIN_VALIDATION_CASES = 5
SAMPLES = 10
DRIVERS: tuple[str, ...] = (
    "TP53", "PIK3CA", "KRAS", "IDH1", "PTEN", "BRAF", "CDH1", "GATA3", "ARID1A", "NF1", "APC",
    "EGFR", "KEAP1", "STK11", "NFE2L2", "FBXW7", "CTNNB1", "VHL", "PBRM1", "SETD2", "BAP1",
    "ATRX", "CIC", "FGFR3", "RB1", "CDKN2A", "KMT2D", "SMAD4", "NRAS", "MAP3K1", "ERBB2",
)  # fmt: skip


def nanmean0(x: np.ndarray) -> FloatArray:
    """Mean over axis 0, NaN (without a warning) where a column has no value."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out: FloatArray = np.nanmean(x, axis=0)
    return out


def hallmarks(model: GenerativeModel, rna: np.ndarray) -> FloatArray:
    """Hallmark programme scores of RNA rows (..., genes) on the model's gene order."""
    return hallmark_scores(rna, membership_of(model.names["rna"]))


def corr(a: FloatArray, b: FloatArray) -> float:
    """Pearson r over the entries finite in both (NaN with fewer than 3 or no spread)."""
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3 or np.std(a[ok]) == 0 or np.std(b[ok]) == 0:
        return float("nan")
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


def in_silico_effect(
    model: GenerativeModel,
    table: MultiOmicsTable,
    rows: IntArray,
    gene: str,
    seed: int,
    *,
    driver_only: bool = False,
    n_samples: int = SAMPLES,
) -> FloatArray:
    """Mean hallmark shift when ``gene`` goes from 0 to 1 in the cases of ``rows``.

    The cases keep their clinical facts and their other mutations (the app's experiment), or,
    with ``driver_only``, only their clinical facts (the other genes unobserved).
    """
    column = model.names["mutation"].index(gene)
    mutation = table.mutation[rows].copy()
    if driver_only:
        mutation[:] = np.nan
    mutation[:, column] = 0.0
    observed = {"clinical": table.clinical[rows], "mutation": mutation}
    before, after = model.intervene(
        observed,
        table.cancer_type[rows].tolist(),
        modality="mutation",
        feature=gene,
        value=1.0,
        n_samples=n_samples,
        seed=seed,
    )
    shift = hallmarks(model, after["rna"]) - hallmarks(model, before["rna"])
    return nanmean0(shift.reshape(-1, shift.shape[-1]))


def expected_effect(
    model: GenerativeModel, table: MultiOmicsTable, rows: IntArray, gene: str, penalty: float
) -> FloatArray:
    """What :func:`in_silico_effect` averages to at ``penalty``, without sampling: the hallmark
    scores of the change of the RNA conditional mean, over the cases' carried genes."""
    column = model.names["mutation"].index(gene)
    before = {"clinical": table.clinical[rows], "mutation": table.mutation[rows].copy()}
    before["mutation"][:, column] = 0.0
    after = {**before, "mutation": before["mutation"].copy()}
    after["mutation"][:, column] = 1.0
    types = np.array([model.type_index(t) for t in table.cancer_type[rows]], dtype=np.int64)
    shift = penalised_shift(model, before, after, types, ["rna"], penalty)["rna"]
    shift = np.where(model.carried_mask("rna", types), shift, np.nan)
    return nanmean0(hallmarks(model, shift))


def observed_difference(
    model: GenerativeModel, table: MultiOmicsTable, rows: IntArray, column: int
) -> tuple[int, int, FloatArray]:
    """Mutant and wild-type counts among ``rows`` and their mean hallmark difference."""
    status = table.mutation[rows, column]
    h = hallmarks(model, table.rna[rows])
    return (
        int((status == 1).sum()),
        int((status == 0).sum()),
        nanmean0(h[status == 1]) - nanmean0(h[status == 0]),
    )


def carried_drivers(model: GenerativeModel, k: int) -> list[tuple[str, int]]:
    """(driver, mutation column) for the drivers the model carries in cancer type ``k``."""
    names = model.names["mutation"]
    return [
        (gene, names.index(gene))
        for gene in DRIVERS
        if gene in names and model.carried["mutation"][k, names.index(gene)]
    ]


def validation_pairs(
    model: GenerativeModel, table: MultiOmicsTable, rows: IntArray, min_cases: int
) -> list[tuple[IntArray, str, FloatArray]]:
    """(rows of the type with RNA, driver, observed difference) for every qualifying pair."""
    pairs = []
    for cohort in model.config.cancer_types:
        k = model.type_index(cohort)
        if not model.carried["rna"][k].any():
            continue
        mine = rows[table.cancer_type[rows] == cohort]
        mine = mine[(~np.isnan(table.rna[mine])).any(1)]
        for gene, column in carried_drivers(model, k):
            n_mut, n_wt, difference = observed_difference(model, table, mine, column)
            if min(n_mut, n_wt) >= min_cases:
                pairs.append((mine, gene, difference))
    return pairs


def choose_penalty(
    model: GenerativeModel, table: MultiOmicsTable, val_rows: IntArray, seed: int
) -> dict[str, float]:
    """Set ``model.calibration[KEY]`` to the candidate with the best mean r on ``val_rows``;
    returns the scores for the model card."""
    report: dict[str, float] = {}
    if model.linear is None:
        return report
    pairs = validation_pairs(model, table, np.asarray(val_rows), MIN_VALIDATION_CASES)
    report["intervention_validation_pairs"] = float(len(pairs))
    if not pairs:
        return report
    best, best_score = PENALTIES[0], -np.inf
    for penalty in PENALTIES:
        # The experiment's mean hallmark shift is the hallmark score of the conditional-mean
        # shift (scores are member means), so no sampling is needed to compare penalties.
        scores = [
            corr(expected_effect(model, table, rows, gene, penalty), difference)
            for rows, gene, difference in pairs
        ]
        score = float(np.nanmean(scores))
        report[f"intervention_inner_val_r_penalty_{penalty:g}"] = score
        logger.info("in-silico penalty x%g: inner-validation r %.3f", penalty, score)
        if score > best_score:
            best, best_score = penalty, score
    model.calibration[KEY] = best
    report[KEY] = best
    return report


def penalised_shift(
    model: GenerativeModel,
    before: dict[str, np.ndarray],
    after: dict[str, np.ndarray],
    types: np.ndarray,
    modalities: list[str],
    penalty: float,
) -> dict[str, FloatArray]:
    """(N, d) change of the linear-Gaussian conditional mean of each of ``modalities`` (table
    scale) between the ``before`` and ``after`` observations, the penalty ``penalty`` times the
    imputation's. Before and after share the measured pattern, so the draws' spread around the
    mean is the same and this shift is the whole difference the experiment makes."""
    from dataclasses import replace

    from inference.generative.linear import joint_features

    assert model.linear is not None
    lg = replace(model.linear, psi=model.linear.psi * penalty)
    n, dims = len(types), model.config.dims

    def factors(observed: dict[str, np.ndarray]) -> FloatArray:
        standardised = {
            m: model.standardiser.forward(m, np.asarray(x, dtype=np.float64))
            for m, x in observed.items()
        }
        f_mean, _ = lg.conditional(joint_features(standardised, n, dims), types)
        return f_mean

    delta = factors(after) - factors(before)
    out: dict[str, FloatArray] = {}
    for m in modalities:
        out[m] = lg.project(m, types, delta) * model.standardiser.scale[m]
    return out
