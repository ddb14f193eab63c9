"""Reference imputers of a masked modality, for benchmark G1 (training extras only).

Every method gets the same inputs, :class:`ImputationInputs`: per modality a training matrix and a
test matrix (NaN = not measured), the cancer type of every row, and the modality to impute (absent
from, or ignored in, the test matrices). Each returns a :class:`BaselineImputation`: point
predictions (N, d) and, where the method gives them, samples (S, N, d).

What each does, and what was done to keep it tractable on two CPU cores:

* ``cohort_mean``: the training mean of the test row's cancer type (the pooled mean for a type
  unseen in training); samples are whole training profiles of that type drawn at random.
* ``knn``: the mean of the k nearest training rows of the same cancer type, distance on the first
  principal components of the other modalities; k chosen by 5-fold cross-validation inside the
  training rows; samples are the k neighbours' profiles.
* ``ridge``: multi-output ridge regression from every standardised column of the other modalities
  plus cancer-type indicators, onto the target's deviation from its cancer-type mean; the penalty
  chosen by generalised (leave-one-out) cross-validation on the training rows; samples add
  Gaussian noise with each feature's leave-one-out residual spread.
* ``mice``: multiple imputation by chained equations with LightGBM and mean matching
  (``miceforest``). Chained equations over thousands of genes do not run in minutes on a CPU, so
  MICE imputes the first ``target_components`` principal-component scores of the target
  (deviations from the cancer-type mean) from the first ``predictor_components`` components of the
  other modalities; the genes are rebuilt from the imputed scores plus Gaussian noise with each
  gene's reconstruction error on the training rows. Each imputed dataset is a sample.
* ``mofa``: MOFA+ (``mofapy2``), one view per modality (deviations from the cancer-type mean),
  one group, training and test rows together with the test rows' target view missing (MOFA+
  handles missing views); ``factors`` factors and at most ``iterations`` iterations; mutations are
  fitted with a Gaussian likelihood after standardisation and only the most frequent ones are
  kept. Samples are drawn from MOFA+'s predictive mean and variance.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
CV_FOLDS = 5
KNN_CHOICES = (5, 10, 20, 40)
RIDGE_ALPHAS = tuple(float(a) for a in np.logspace(0, 7, 15))


@dataclass(frozen=True)
class ImputationInputs:
    """The inputs every imputer receives.

    Attributes:
        train: modality -> (n_train, d_m) matrix, NaN = not measured; includes ``target``.
        train_types: (n_train,) cancer type of each training row.
        test: modality -> (n_test, d_m); the ``target`` entry, if any, is ignored.
        test_types: (n_test,) cancer type of each test row.
        target: the modality to impute.
    """

    train: Mapping[str, FloatArray]
    train_types: Sequence[str]
    test: Mapping[str, FloatArray]
    test_types: Sequence[str]
    target: str

    @property
    def predictors(self) -> tuple[str, ...]:
        """The modalities imputation may read, in a fixed order."""
        return tuple(sorted(m for m in self.train if m != self.target and m in self.test))


@dataclass(frozen=True)
class BaselineImputation:
    """One method's imputation of the target modality for the test rows.

    Attributes:
        method: the method's name.
        mean: (n_test, d) point predictions.
        samples: (S, n_test, d) draws, or ``None`` where the method gives none.
        note: what was fitted (chosen hyper-parameters, sizes).
    """

    method: str
    mean: FloatArray
    samples: FloatArray | None
    note: str


# -- shared preparation ------------------------------------------------------------------------


def type_means(values: FloatArray, types: Sequence[str]) -> dict[str, FloatArray]:
    """Per cancer type the column means of ``values`` (NaN ignored), plus ``""`` the pooled mean.

    A column never measured for a type falls back to the pooled mean, and one never measured at
    all to 0.
    """
    with np.errstate(all="ignore"), _quiet_nan_warnings():
        pooled = np.nan_to_num(np.nanmean(values, axis=0), nan=0.0)
        means = {"": pooled}
        labels = np.asarray(types)
        for label in np.unique(labels):
            block = np.nanmean(values[labels == label], axis=0)
            means[str(label)] = np.where(np.isfinite(block), block, pooled)
    return means


@contextlib.contextmanager
def _quiet_nan_warnings() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        yield


def _stack_means(means: Mapping[str, FloatArray], types: Sequence[str]) -> FloatArray:
    return np.stack([means.get(str(t), means[""]) for t in types])


def target_residuals(inputs: ImputationInputs) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The training target as deviations from its cancer-type mean (unmeasured entries 0), and
    the type means to add back for the training and the test rows."""
    target = np.asarray(inputs.train[inputs.target], dtype=np.float64)
    means = type_means(target, inputs.train_types)
    train_means = _stack_means(means, inputs.train_types)
    test_means = _stack_means(means, inputs.test_types)
    residual = np.where(np.isfinite(target), target - train_means, 0.0)
    return residual, train_means, test_means


def predictor_matrices(inputs: ImputationInputs) -> tuple[FloatArray, FloatArray]:
    """Standardised predictor columns (training statistics; unmeasured = 0, the training mean)
    and cancer-type indicators, for the training and the test rows."""
    train_blocks: list[FloatArray] = []
    test_blocks: list[FloatArray] = []
    for modality in inputs.predictors:
        train = np.asarray(inputs.train[modality], dtype=np.float64)
        test = np.asarray(inputs.test[modality], dtype=np.float64)
        with np.errstate(all="ignore"), _quiet_nan_warnings():
            mean = np.nanmean(train, axis=0)
            std = np.nanstd(train, axis=0)
        keep = np.isfinite(mean) & np.isfinite(std) & (std > 1e-8)
        if not keep.any():
            continue
        mean, std = mean[keep], std[keep]
        for source, blocks in ((train, train_blocks), (test, test_blocks)):
            scaled = (source[:, keep] - mean) / std
            blocks.append(np.where(np.isfinite(scaled), scaled, 0.0))
    labels = sorted({str(t) for t in inputs.train_types})
    for types, blocks in ((inputs.train_types, train_blocks), (inputs.test_types, test_blocks)):
        blocks.append(np.array([[float(str(t) == label) for label in labels] for t in types]))
    return np.hstack(train_blocks), np.hstack(test_blocks)


def principal_components(
    train: FloatArray, test: FloatArray, n_components: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Scores of the training and test rows on the training rows' first principal components,
    and the components (k, d)."""
    centre = train.mean(axis=0)
    _, _, vt = np.linalg.svd(train - centre, full_matrices=False)
    components = vt[: min(n_components, vt.shape[0])]
    return (train - centre) @ components.T, (test - centre) @ components.T, components


def _folds(n: int, seed: int) -> list[npt.NDArray[np.int64]]:
    order = np.random.default_rng(seed).permutation(n)
    return [order[i::CV_FOLDS] for i in range(CV_FOLDS)]


# -- the methods -------------------------------------------------------------------------------


def impute_cohort_mean(
    inputs: ImputationInputs, *, n_samples: int = 50, seed: int = 0
) -> BaselineImputation:
    """The cancer type's training mean; samples are training profiles of that type."""
    residual, train_means, test_means = target_residuals(inputs)
    rng = np.random.default_rng(seed)
    train_types = np.asarray([str(t) for t in inputs.train_types])
    samples = np.empty((n_samples, len(inputs.test_types), test_means.shape[1]))
    for i, label in enumerate(inputs.test_types):
        pool = np.flatnonzero(train_types == str(label))
        pool = pool if len(pool) else np.arange(len(train_types))
        drawn = rng.choice(pool, size=n_samples, replace=True)
        samples[:, i] = test_means[i] + residual[drawn]
    return BaselineImputation("cohort_mean", test_means, samples, "per cancer-type mean")


def _knn_indices(
    train_x: FloatArray,
    train_types: npt.NDArray[np.str_],
    query_x: FloatArray,
    query_types: Sequence[str] | npt.NDArray[np.str_],
    k: int,
) -> npt.NDArray[np.int64]:
    """(n_query, k) indices of the nearest training rows of the same type (all rows if the type
    has fewer than k)."""
    out = np.empty((len(query_x), k), dtype=np.int64)
    for label in np.unique(np.asarray([str(t) for t in query_types])):
        rows = np.flatnonzero(np.asarray([str(t) for t in query_types]) == label)
        pool = np.flatnonzero(train_types == label)
        if len(pool) < k:
            pool = np.arange(len(train_x))
        distances = ((query_x[rows, None, :] - train_x[None, pool, :]) ** 2).sum(-1)
        nearest = np.argsort(distances, axis=1)[:, :k]
        out[rows] = pool[nearest]
    return out


def impute_knn(
    inputs: ImputationInputs, *, components: int = 30, seed: int = 0
) -> BaselineImputation:
    """k nearest neighbours of the same cancer type on principal components of the predictors;
    k chosen by cross-validation inside the training rows."""
    residual, _, test_means = target_residuals(inputs)
    train_x, test_x = predictor_matrices(inputs)
    train_pc, test_pc, _ = principal_components(train_x, test_x, components)
    types = np.asarray([str(t) for t in inputs.train_types])
    errors = {}
    for k in KNN_CHOICES:
        total = 0.0
        for held in _folds(len(train_pc), seed):
            inner = np.setdiff1d(np.arange(len(train_pc)), held)
            found = _knn_indices(train_pc[inner], types[inner], train_pc[held], types[held], k)
            total += float(((residual[inner][found].mean(1) - residual[held]) ** 2).sum())
        errors[k] = total
    best = min(errors, key=lambda k: errors[k])
    found = _knn_indices(train_pc, types, test_pc, inputs.test_types, best)
    samples = np.transpose(residual[found], (1, 0, 2)) + test_means[None]  # (k, N, d)
    return BaselineImputation(
        "knn", samples.mean(0), samples, f"k={best} (5-fold CV), {train_pc.shape[1]} PCs"
    )


def impute_ridge(
    inputs: ImputationInputs, *, n_samples: int = 50, seed: int = 0
) -> BaselineImputation:
    """Ridge regression on the other modalities' columns; penalty by leave-one-out (GCV)."""
    from sklearn.linear_model import RidgeCV

    residual, _, test_means = target_residuals(inputs)
    train_x, test_x = predictor_matrices(inputs)
    model = RidgeCV(alphas=RIDGE_ALPHAS, store_cv_results=True).fit(train_x, residual)
    prediction = test_means + model.predict(test_x)
    loo = model.cv_results_[:, :, list(RIDGE_ALPHAS).index(float(model.alpha_))]
    spread = np.sqrt(np.mean(loo**2, axis=0))  # LOO squared errors per feature -> RMSE
    rng = np.random.default_rng(seed)
    samples = prediction[None] + rng.standard_normal((n_samples, *prediction.shape)) * spread
    return BaselineImputation(
        "ridge", prediction, samples, f"alpha={model.alpha_:g} (GCV), {train_x.shape[1]} columns"
    )


def impute_mice(
    inputs: ImputationInputs,
    *,
    target_components: int = 20,
    predictor_components: int = 30,
    datasets: int = 5,
    iterations: int = 2,
    seed: int = 0,
) -> BaselineImputation:
    """MICE (miceforest, LightGBM with mean matching) on principal-component scores."""
    import miceforest as mf
    import pandas as pd

    residual, _, test_means = target_residuals(inputs)
    train_x, test_x = predictor_matrices(inputs)
    train_pc, test_pc, _ = principal_components(train_x, test_x, predictor_components)
    target_scores, _, target_axes = principal_components(
        residual, np.zeros((0, residual.shape[1])), target_components
    )
    x_names = [f"x{i}" for i in range(train_pc.shape[1])]
    t_names = [f"t{i}" for i in range(target_scores.shape[1])]
    centre = residual.mean(axis=0)
    # miceforest fits models only for variables with missing entries (a kernel trained on
    # complete rows imputes new data with its random initial draws), so the test rows join the
    # kernel with their target scores missing: the standard MICE set-up.
    frame = pd.DataFrame(
        np.vstack(
            [
                np.hstack([train_pc, target_scores]),
                np.hstack([test_pc, np.full((len(test_pc), len(t_names)), np.nan)]),
            ]
        ),
        columns=x_names + t_names,
    )
    kernel = mf.ImputationKernel(frame, num_datasets=datasets, random_state=seed)
    kernel.mice(iterations, num_threads=1)
    n_train = len(train_pc)
    # What the kept components do not hold is added back as Gaussian noise with each feature's
    # training reconstruction error, so the samples keep the target's full spread.
    rebuilt = centre + target_scores @ target_axes
    leftover = np.sqrt(np.mean((residual - rebuilt) ** 2, axis=0))
    rng = np.random.default_rng(seed)
    samples = np.stack(
        [
            test_means
            + centre
            + kernel.complete_data(dataset=d)[t_names].to_numpy(dtype=np.float64)[n_train:]
            @ target_axes
            + rng.standard_normal(test_means.shape) * leftover
            for d in range(datasets)
        ]
    )
    note = (
        f"{len(t_names)} target PCs from {len(x_names)} predictor PCs, {datasets} datasets, "
        f"{iterations} iterations"
    )
    return BaselineImputation("mice", samples.mean(0), samples, note)


def _mofa_views(
    inputs: ImputationInputs, max_mutations: int, max_features: int
) -> tuple[list[str], list[FloatArray]]:
    """Per modality the training rows stacked over the test rows, as deviations from the cancer
    type's training mean and scaled per feature; the test rows' target view is missing."""
    names, views = [], []
    n_test = len(inputs.test_types)
    for modality in (*inputs.predictors, inputs.target):
        train = np.asarray(inputs.train[modality], dtype=np.float64)
        test = (
            np.full((n_test, train.shape[1]), np.nan)
            if modality == inputs.target
            else np.asarray(inputs.test[modality], dtype=np.float64)
        )
        with np.errstate(all="ignore"), _quiet_nan_warnings():
            spread = np.nanstd(train, axis=0)
        keep = np.flatnonzero(np.isfinite(spread) & (spread > 1e-8))
        if modality != inputs.target and len(keep) > max_features:
            limit = max_mutations if modality in ("mutation", "mutations") else max_features
            keep = keep[np.argsort(-spread[keep])[:limit]]
        if modality == inputs.target:
            keep = np.arange(train.shape[1])  # every target column is predicted
        means = type_means(train, inputs.train_types)
        both = np.vstack([train, test])[:, keep]
        centre = _stack_means(means, [*inputs.train_types, *inputs.test_types])[:, keep]
        scale = np.where(spread[keep] > 1e-8, spread[keep], 1.0)
        names.append(modality)
        views.append((both - centre) / scale)
    return names, views


def impute_mofa(
    inputs: ImputationInputs,
    *,
    factors: int = 10,
    iterations: int = 60,
    max_mutations: int = 200,
    max_features: int = 500,
    n_samples: int = 50,
    seed: int = 0,
) -> BaselineImputation:
    """MOFA+ (mofapy2) over all modalities, test rows with the target view missing."""
    from mofapy2.run.entry_point import entry_point

    train_target = np.asarray(inputs.train[inputs.target], dtype=np.float64)
    means = type_means(train_target, inputs.train_types)
    test_means = _stack_means(means, inputs.test_types)
    with np.errstate(all="ignore"), _quiet_nan_warnings():
        spread = np.nanstd(train_target, axis=0)
    scale = np.where(np.isfinite(spread) & (spread > 1e-8), spread, 1.0)
    names, views = _mofa_views(inputs, max_mutations, max_features)
    n_train = len(inputs.train_types)
    # mofapy2 prints its progress with print(); keep it out of the benchmark's table.
    with contextlib.redirect_stdout(io.StringIO()):
        model = entry_point()
        model.set_data_options(scale_views=False, center_groups=True, use_float32=True)
        model.set_data_matrix(
            [[view] for view in views], likelihoods=["gaussian"] * len(views), views_names=names
        )
        model.set_model_options(factors=factors)
        model.set_train_options(
            iter=iterations, convergence_mode="fast", seed=seed, quiet=True, verbose=False
        )
        model.build()
        model.run()
        weights = [w["E"] for w in model.model.nodes["W"].getExpectations()]
        factors_e = model.model.nodes["Z"].getExpectations()
        tau = [t["E"] for t in model.model.nodes["Tau"].getExpectations()]
    target_view = names.index(inputs.target)
    z, z2 = factors_e["E"][n_train:], factors_e["E2"][n_train:]
    w = weights[target_view]
    w2 = model.model.nodes["W"].getExpectations()[target_view]["E2"]
    mean_scaled = z @ w.T
    noise_var = 1.0 / np.broadcast_to(tau[target_view], (n_train + len(z), w.shape[0]))[n_train:]
    variance_scaled = z2 @ w2.T - (z**2) @ (w.T**2) + noise_var
    prediction = test_means + mean_scaled * scale
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((n_samples, *prediction.shape))
    samples = prediction[None] + noise * np.sqrt(np.clip(variance_scaled, 0.0, None)) * scale
    note = f"{factors} factors, <= {iterations} iterations, views {', '.join(names)}"
    return BaselineImputation("mofa", prediction, samples, note)


Imputer = Callable[..., BaselineImputation]

#: Every baseline by name, in the order benchmark G1 prints them.
BASELINES: dict[str, Imputer] = {
    "cohort_mean": impute_cohort_mean,
    "knn": impute_knn,
    "ridge": impute_ridge,
    "mice": impute_mice,
    "mofa": impute_mofa,
}
