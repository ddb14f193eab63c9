"""The propensity models of the what-if view: covariates, ridge logistic fits, common support and
the JSON document :mod:`inference.therapy.whatif` reads (run by
:mod:`inference.training.propensity`).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from inference.runtime import sha256_of
from inference.training.cohorts import Cohort

FloatArray = npt.NDArray[np.float64]

DEFAULT_DATA = Path("../shared/data")
DEFAULT_OUT = Path("inference/weights/oncoboard-metabric.propensity.json")
FORMAT = "oncoboard-propensity/1"
MODEL_NAME = "oncoboard-metabric"
#: The what-if classes and the model's treatment inputs they switch.
CLASS_TO_TREATMENT: dict[str, str] = {
    "endocrine": "hormone_therapy",
    "chemotherapy": "chemotherapy",
    "radiotherapy": "radiotherapy",
}
#: Crump-style trimming: outside it a curve rests on a handful of patients even if some exist.
TRIM = (0.05, 0.95)
#: Ridge penalty on standardised coefficients (not the intercept); keeps the fit finite when a
#: covariate nearly separates the groups (ER status and hormone therapy come close).
RIDGE = 1.0
#: METABRIC enrolled primary invasive breast carcinomas (ductal, lobular, mixed, mucinous,
#: medullary, tubular; cBioPortal brca_metabric). OncoTree puts in-situ disease, sarcomas,
#: phyllodes tumours and metaplastic carcinoma under BREAST too; the cohort says nothing about
#: them, so only the invasive-carcinoma subtree and the bare tissue code are accepted.
ONCOTREE_ROOTS = ("BRCA",)
ONCOTREE_EXTRA = ("BREAST",)
ONCOTREE_RELEASE = "oncotree_2025_10_03"
DIGITS = 8


def fit_logistic(x: FloatArray, y: FloatArray, *, ridge: float = RIDGE) -> tuple[float, FloatArray]:
    """Ridge logistic regression by Newton-Raphson (deterministic, no solver tolerances to tune).

    Args:
        x: (N, F) standardised covariates.
        y: (N,) 0/1 labels.
        ridge: L2 penalty on the coefficients, not the intercept.

    Returns:
        The intercept and the (F,) coefficients.
    """
    n, f = x.shape
    design = np.hstack([np.ones((n, 1)), x])  # (N, F + 1)
    beta = np.zeros(f + 1)
    penalty = np.eye(f + 1) * ridge
    penalty[0, 0] = 0.0
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(design @ beta)))
        gradient = design.T @ (y - p) - penalty @ beta
        hessian = (design * (p * (1.0 - p))[:, None]).T @ design + penalty
        step = np.linalg.solve(hessian, gradient)
        beta = beta + step
        if float(np.max(np.abs(step))) < 1e-10:
            break
    return float(beta[0]), beta[1:]


def auc(scores: FloatArray, labels: FloatArray) -> float | None:
    """Area under the ROC curve (Mann-Whitney, ties count half); ``None`` with one class only."""
    positive, negative = scores[labels == 1], scores[labels == 0]
    if len(positive) == 0 or len(negative) == 0:
        return None
    greater = (positive[:, None] > negative[None, :]).sum()
    ties = (positive[:, None] == negative[None, :]).sum()
    return float((greater + 0.5 * ties) / (len(positive) * len(negative)))


def common_support(p: FloatArray, treated: FloatArray) -> tuple[float, float]:
    """Overlap of the treated and untreated propensity ranges, inside :data:`TRIM`.

    Args:
        p: (N,) training propensities.
        treated: (N,) 0/1.

    Returns:
        (lower, upper): below ``lower`` too few similar patients were treated, above ``upper``
        too few similar patients were left untreated.
    """
    given, not_given = p[treated == 1], p[treated == 0]
    if len(given) == 0 or len(not_given) == 0:
        # Nobody (or everybody) treated: no comparison is supported anywhere.
        return 1.0, 0.0
    lower = max(TRIM[0], float(given.min()), float(not_given.min()))
    upper = min(TRIM[1], float(given.max()), float(not_given.max()))
    return lower, upper


def breast_codes(data: Path) -> list[str]:
    """OncoTree codes the METABRIC cohort stands for, read from the shipped OncoTree release.

    Args:
        data: the shared data folder (``oncotree/<release>_flat.tsv``).

    Returns:
        Sorted codes: :data:`ONCOTREE_EXTRA` and every code under :data:`ONCOTREE_ROOTS`.
    """
    path = data / "oncotree" / f"{ONCOTREE_RELEASE}_flat.tsv"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; pass --data pointing at ../shared/data")
    parents: dict[str, str] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            parents[row["code"]] = row["parent"]

    def under_root(code: str) -> bool:
        seen: set[str] = set()
        while code and code not in seen:
            if code in ONCOTREE_ROOTS:
                return True
            seen.add(code)
            code = parents.get(code, "")
        return False

    return sorted({*ONCOTREE_EXTRA, *(code for code in parents if under_root(code))})


def _round(values: FloatArray | list[float]) -> list[float]:
    return [round(float(v), DIGITS) for v in values]


def covariates(cohort: Cohort) -> tuple[FloatArray, list[str]]:
    """(N, F) covariates in the survival model's order: clinical factors, then expression."""
    names = [*cohort.names["clinical"], *cohort.names["expression"]]
    values = np.hstack([cohort.tabular["clinical"], cohort.tabular["expression"]])
    return values, names


def train_propensity(cohort: Cohort, data: Path, *, date: str) -> dict[str, Any]:
    """Fit every treatment x covariate set on the training split and score the test split.

    Args:
        cohort: METABRIC from :func:`load_deepsurv`.
        data: the shared data folder (for the OncoTree codes).
        date: training date written into the file.

    Returns:
        The JSON-ready propensity document.
    """
    if cohort.treatment is None:
        raise ValueError(f"cohort {cohort.name} has no treatment columns")
    split = cohort.splits[0]
    values, names = covariates(cohort)
    sets = {
        "clinical_expression": names,
        "clinical": list(cohort.names["clinical"]),
    }
    document: dict[str, Any] = {
        "format": FORMAT,
        "model": MODEL_NAME,
        "trained": date,
        "cohort": cohort.name,
        "split": split.name,
        "n_train": len(split.train),
        "n_test": len(split.test),
        "data_source": cohort.source,
        "method": (
            f"ridge logistic regression (penalty {RIDGE:g} on standardised coefficients), "
            "one per treatment input; common support = overlap of the treated and untreated "
            f"training propensity ranges inside [{TRIM[0]:g}, {TRIM[1]:g}]"
        ),
        "trim": list(TRIM),
        "classes": CLASS_TO_TREATMENT,
        "cancer_types": {
            "oncotree_release": ONCOTREE_RELEASE,
            "roots": list(ONCOTREE_ROOTS),
            "codes": breast_codes(data),
        },
        "covariate_sets": {},
    }
    for set_name, features in sets.items():
        columns = [names.index(f) for f in features]
        x = values[:, columns]
        train_x = x[split.train]
        means = train_x.mean(axis=0)
        scales = train_x.std(axis=0)
        scales = np.where(scales > 1e-8, scales, 1.0)
        z = (x - means) / scales
        models: dict[str, Any] = {}
        for t, treatment in enumerate(cohort.treatments):
            y = cohort.treatment[:, t]
            intercept, coefficients = fit_logistic(z[split.train], y[split.train])
            p = 1.0 / (1.0 + np.exp(-(intercept + z @ coefficients)))
            lower, upper = common_support(p[split.train], y[split.train])
            test_p, test_y = p[split.test], y[split.test]
            inside = (test_p >= lower) & (test_p <= upper)
            held_out = auc(test_p, test_y)
            models[treatment] = {
                "intercept": round(intercept, DIGITS),
                "coefficients": _round(coefficients),
                "support": [round(lower, DIGITS), round(upper, DIGITS)],
                "n_treated": int(y[split.train].sum()),
                "n_untreated": int(len(split.train) - y[split.train].sum()),
                "train_auc": _round([auc(p[split.train], y[split.train]) or float("nan")])[0],
                "test_auc": round(held_out, DIGITS) if held_out is not None else None,
                "test_fraction_supported": round(float(inside.mean()), DIGITS)
                if len(test_p)
                else None,
            }
        document["covariate_sets"][set_name] = {
            "features": features,
            "means": _round(means),
            "scales": _round(scales),
            "treatments": models,
        }
    return document


def write_document(document: dict[str, Any], out: Path) -> str:
    """Write the JSON (sorted keys, fixed indentation) and return its sha256."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return sha256_of(out)
