"""Train the propensity models that let the what-if view say when a treatment curve is supported.

Usage::

    python -m inference.training.propensity --data ../shared/data \
        [--out inference/weights/oncoboard-metabric.propensity.json] [--date 2026-11-29] \
        [--report docs/model/validation/whatif.md]

One ridge-penalised logistic regression per treatment input of ``oncoboard-metabric``
(hormone therapy, radiotherapy, chemotherapy), fitted on the METABRIC training split of the
DeepSurv files, for two covariate sets: the clinical factors and expression genes the survival model
uses, and the clinical factors alone (cases without the expression genes). The JSON holds the
coefficients, the standardisation, the common-support bounds, the held-out AUC, the data source and
the breast OncoTree codes the cohort stands for; :mod:`inference.therapy.whatif` reads it at run
time with numpy only. The output is byte-identical for the same data and ``--date``; its sha256 is
printed and pinned in ``inference/weights/__init__.py``.

``--report`` also writes the validation page from measurements of this run: held-out AUC, overlap
fractions, how often the what-if view shows a curve for held-out patients, and whether the shipped
model's curves move in the direction of the cohort's adjusted and IPTW Cox estimates. It needs the
training extras (lifelines) and the shipped checkpoint.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from inference.runtime import sha256_of
from inference.training.cohorts import Cohort, load_deepsurv
from inference.training.propensity_fit import (
    CLASS_TO_TREATMENT,
    DEFAULT_DATA,
    DEFAULT_OUT,
    MODEL_NAME,
    FloatArray,
    covariates,
    train_propensity,
    write_document,
)

logger = logging.getLogger(__name__)


def _model_effects(cohort: Cohort, rows: npt.NDArray[np.int64]) -> dict[str, FloatArray]:
    """Per patient, the shipped model's S(60 months) given minus not given, per treatment.

    The other two treatments stay as recorded. All patients go through the ensemble in one batch
    per setting (the predictor's per-case path would take minutes on shared CPUs).
    """
    import torch

    from inference import load_model
    from inference.tabular.features import RawArrays, batch_from_arrays

    model = load_model(MODEL_NAME)
    config = model.config
    assert config.clinical is not None and config.expression is not None
    if (config.clinical.names, config.expression.features.names) != (
        cohort.names["clinical"],
        cohort.names["expression"],
    ):
        raise ValueError("the shipped model's features differ from the cohort's columns")
    assert cohort.treatment is not None
    k = int(np.searchsorted(model.grid, 60.0))
    effects = {}
    for t, treatment in enumerate(cohort.treatments):
        survival = []
        for given in (1.0, 0.0):
            raw = RawArrays(n=len(rows))
            raw.tabular = {m: cohort.tabular[m][rows] for m in ("clinical", "expression")}
            raw.treatment = cohort.treatment[rows].copy()
            raw.treatment[:, t] = given
            with torch.inference_mode():
                curves, _, _ = model._curves(batch_from_arrays(config, raw))  # (E, B, G)
            survival.append(curves[:, :, k].double().mean(0).numpy())
        effects[treatment] = survival[0] - survival[1]
    return effects


def _cox_estimates(
    cohort: Cohort, document: dict[str, Any]
) -> dict[str, dict[str, tuple[float, float, float, int]]]:
    """Adjusted and IPTW Cox hazard ratios (HR, 95% CI low, high, n) per treatment, whole cohort."""
    import pandas as pd
    from lifelines import CoxPHFitter

    assert cohort.treatment is not None
    values, names = covariates(cohort)
    frame = pd.DataFrame(values, columns=names)
    for t, treatment in enumerate(cohort.treatments):
        frame[treatment] = cohort.treatment[:, t]
    frame["T"], frame["E"] = cohort.times, cohort.events
    adjusted = CoxPHFitter().fit(frame, "T", "E")
    summary = adjusted.summary
    entry = document["covariate_sets"]["clinical_expression"]
    z = (values - np.asarray(entry["means"])) / np.asarray(entry["scales"])
    estimates: dict[str, dict[str, tuple[float, float, float, int]]] = {}
    for treatment in cohort.treatments:
        fitted = entry["treatments"][treatment]
        p = 1.0 / (1.0 + np.exp(-(fitted["intercept"] + z @ np.asarray(fitted["coefficients"]))))
        lower, upper = fitted["support"]
        inside = (p >= lower) & (p <= upper)
        y = cohort.treatment[:, t]
        share = float(y[inside].mean())
        # Stabilised weights on the common support only: outside it a weight rests on a handful of
        # patients, which is exactly what the what-if view refuses.
        weights = np.where(y == 1, share / p, (1.0 - share) / (1.0 - p))[inside]
        sub = pd.DataFrame({treatment: y[inside], "T": cohort.times[inside]})
        sub["E"], sub["w"] = cohort.events[inside], weights
        iptw = CoxPHFitter().fit(sub, "T", "E", weights_col="w", robust=True)
        row = summary.loc[treatment]
        weighted = iptw.summary.loc[treatment]
        estimates[treatment] = {
            "adjusted": (
                float(row["exp(coef)"]),
                float(row["exp(coef) lower 95%"]),
                float(row["exp(coef) upper 95%"]),
                len(frame),
            ),
            "iptw": (
                float(weighted["exp(coef)"]),
                float(weighted["exp(coef) lower 95%"]),
                float(weighted["exp(coef) upper 95%"]),
                int(inside.sum()),
            ),
        }
    return estimates


def _view_on_test_patients(
    cohort: Cohort, out: Path, digest: str, *, with_expression: bool
) -> dict[str, Any]:
    """Run the what-if view itself on every held-out patient (one option per class)."""
    from inference.schema import CaseInputs, ClinicalFacts, MolecularProfile, TreatmentPlan
    from inference.therapy.overlap import load_propensity
    from inference.therapy.whatif import WhatIfOption, what_if

    assert cohort.treatment is not None
    models = load_propensity(out, expected_sha256=digest)
    options = [WhatIfOption(c, (c,)) for c in CLASS_TO_TREATMENT]
    counts: dict[str, Any] = {"patients": 0, "abstained": 0, "baseline": 0}
    counts.update(dict.fromkeys(CLASS_TO_TREATMENT, 0))
    for row in cohort.splits[0].test:
        clinical = dict(zip(cohort.names["clinical"], cohort.tabular["clinical"][row], strict=True))
        genes = cohort.tabular["expression"][row]
        case = CaseInputs(
            case_id=str(cohort.ids[row]),
            clinical=ClinicalFacts({k: float(v) for k, v in clinical.items()}, cancer_type="IDC"),
            molecular=MolecularProfile(
                expression={
                    g: float(v) for g, v in zip(cohort.names["expression"], genes, strict=True)
                }
            )
            if with_expression
            else None,
            treatment=TreatmentPlan({}),
        )
        report = what_if(case, options, propensity=models)
        counts["patients"] += 1
        counts["abstained"] += int("model abstains" in report.baseline_reason)
        counts["baseline"] += int(report.baseline is not None)
        for result in report.results:
            counts[result.key] += int(result.estimable)
    return counts


def write_report(cohort: Cohort, document: dict[str, Any], out: Path, report: Path) -> None:
    """Write the validation page of the what-if view from measurements of this run.

    Args:
        cohort: METABRIC.
        document: the propensity document just written.
        out: where it was written (read back through the run-time loader).
        report: markdown file to write.
    """
    digest = sha256_of(out)
    test = cohort.splits[0].test
    views = {
        "clinical factors and expression genes": _view_on_test_patients(
            cohort, out, digest, with_expression=True
        ),
        "clinical factors only (no expression genes)": _view_on_test_patients(
            cohort, out, digest, with_expression=False
        ),
    }
    entry = document["covariate_sets"]["clinical_expression"]
    values, _ = covariates(cohort)
    z = (values[test] - np.asarray(entry["means"])) / np.asarray(entry["scales"])
    direction, disagree = _direction_lines(cohort, document, entry, z)
    lines = [
        *_propensity_lines(document, digest, entry, z),
        *_view_lines(views),
        *direction,
        *_reading_lines(disagree),
    ]
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text("\n".join(lines) + "\n", encoding="utf-8")
    logger.info("wrote %s", report)


def _propensity(fitted: dict[str, Any], z: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Each patient's propensity of receiving the treatment (logistic model, scaled covariates)."""
    return 1.0 / (1.0 + np.exp(-(fitted["intercept"] + z @ np.asarray(fitted["coefficients"]))))


def _propensity_lines(
    document: dict[str, Any], digest: str, entry: dict[str, Any], z: npt.NDArray[np.float64]
) -> list[str]:
    """The report's header and the propensity models with their common support."""
    lines = [
        "# Validation: what-if curves and their overlap check",
        "",
        f"- Date: {document['trained']}",
        "- Command: `python -m inference.training.propensity --data ../shared/data "
        f"--date {document['trained']} --report docs/model/validation/whatif.md`",
        f"- Propensity file: `{DEFAULT_OUT}`, sha256 `{digest}`",
        f"- Data: {document['data_source']}; METABRIC split `{document['split']}` "
        f"({document['n_train']} training, {document['n_test']} held-out patients)",
        f"- Method: {document['method']}",
        f"- Survival model: `{MODEL_NAME}` (shipped checkpoint)",
        "",
        "## Propensity models (held-out METABRIC)",
        "",
        "| covariates | treatment | treated / untreated (train) | train AUC | held-out AUC "
        "| support | held-out in support |",
        "|---|---|---|---|---|---|---|",
    ]
    for fitted_set in document["covariate_sets"].values():
        for treatment, fitted in fitted_set["treatments"].items():
            lower, upper = fitted["support"]
            lines.append(
                f"| {', '.join(fitted_set['features'])} | {treatment} | "
                f"{fitted['n_treated']} / {fitted['n_untreated']} | {fitted['train_auc']:.3f} | "
                f"{fitted['test_auc']:.3f} | {lower:.3f}-{upper:.3f} | "
                f"{fitted['test_fraction_supported']:.1%} |"
            )
    lines += [
        "",
        "'Held-out in support' is the share of held-out patients whose propensity lies inside the "
        "common support, so that both the curve with the treatment and the one without it are "
        "supported. One-sided shares (clinical and expression covariates):",
        "",
        "| treatment | curve *given* supported (p >= lower) | curve *not given* supported "
        "(p <= upper) |",
        "|---|---|---|",
    ]
    for treatment, fitted in entry["treatments"].items():
        p = _propensity(fitted, z)
        lower, upper = fitted["support"]
        lines.append(
            f"| {treatment} | {float((p >= lower).mean()):.1%} | {float((p <= upper).mean()):.1%} |"
        )
    return lines


def _view_lines(views: dict[str, dict[str, Any]]) -> list[str]:
    """What the what-if view showed on the held-out patients, with and without expression."""
    lines = ["", "## The what-if view on held-out patients", ""]
    lines += [
        "`what_if` run on each held-out patient (as IDC, options endocrine / chemotherapy / "
        "radiotherapy, baseline none of the three), once with the inputs the model was trained "
        "on and once without the expression genes, as a case without them would arrive:",
        "",
        "| inputs | patients | model abstained (view refused) | baseline shown "
        + "".join(f"| {c} curve shown " for c in CLASS_TO_TREATMENT)
        + "|",
        "|---|---|---|---|" + "---|" * len(CLASS_TO_TREATMENT),
    ]
    for label, view in views.items():
        n = view["patients"]
        cells = [view["abstained"], view["baseline"], *(view[c] for c in CLASS_TO_TREATMENT)]
        lines.append(f"| {label} | {n} | " + " | ".join(f"{c} ({c / n:.1%})" for c in cells) + " |")
    return lines


def _direction_lines(
    cohort: Cohort, document: dict[str, Any], entry: dict[str, Any], z: npt.NDArray[np.float64]
) -> tuple[list[str], list[str]]:
    """The model's effects against the cohort's Cox estimates; also the treatments whose adjusted
    and IPTW estimates disagree in direction."""
    effects = _model_effects(cohort, cohort.splits[0].test)
    estimates = _cox_estimates(cohort, document)
    lines = [
        "",
        "## Direction check: model curves against the cohort's Cox estimates",
        "",
        "Model effect: the shipped ensemble's S(60 months) with the treatment minus without it, "
        "the other two treatments as recorded, averaged over held-out patients (all, and those "
        "inside the common support). Cohort estimates on all METABRIC patients of the file: Cox "
        "model adjusted for the six covariates and the other two treatments, and an IPTW Cox model "
        "(stabilised weights from the propensity model, patients inside the common support, "
        "robust SE). HR < 1 means the treated did better; 'agrees' compares the sign of the mean "
        "model effect with the side of 1 the HR lies on.",
        "",
        "| treatment | model mean dS(60) all | in support | share with dS > 0 | adjusted Cox HR "
        "(95% CI) | IPTW Cox HR (95% CI, n) | agrees (adjusted / IPTW) |",
        "|---|---|---|---|---|---|---|",
    ]
    disagree: list[str] = []
    for treatment in cohort.treatments:
        fitted = entry["treatments"][treatment]
        p = _propensity(fitted, z)
        lower, upper = fitted["support"]
        inside = (p >= lower) & (p <= upper)
        delta = effects[treatment]
        mean_all, mean_in = float(delta.mean()), float(delta[inside].mean())
        adjusted, iptw = estimates[treatment]["adjusted"], estimates[treatment]["iptw"]
        if (adjusted[0] < 1) != (iptw[0] < 1):
            disagree.append(treatment)

        def agrees(hr: tuple[float, float, float, int], mean: float = mean_all) -> str:
            side = "yes" if (mean > 0) == (hr[0] < 1) else "no"
            return side + ("" if hr[1] > 1 or hr[2] < 1 else " (CI covers 1)")

        lines.append(
            f"| {treatment} | {mean_all:+.3f} | {mean_in:+.3f} | {float((delta > 0).mean()):.1%} | "
            f"{adjusted[0]:.2f} ({adjusted[1]:.2f}-{adjusted[2]:.2f}) | "
            f"{iptw[0]:.2f} ({iptw[1]:.2f}-{iptw[2]:.2f}, {iptw[3]}) | "
            f"{agrees(adjusted)} / {agrees(iptw)} |"
        )
    return lines, disagree


def _reading_lines(disagree: list[str]) -> list[str]:
    """How to read the numbers (and what they do not show)."""
    lines = [
        "",
        "## Reading these numbers",
        "",
        "- The direction check compares the model with the same observational cohort it learned "
        "from; agreement shows the curves reproduce the cohort's associations, not that they are "
        "causal. The DeepSurv METABRIC file has no tumour size, grade, node status or stage, the "
        "factors that decided chemotherapy and endocrine therapy, so confounding by indication "
        "remains after adjustment and weighting: where the treated patients did worse (HR > 1), "
        "the curves with the treatment lie below those without it. Randomised trials (EBCTCG "
        "overviews) found the opposite for chemotherapy and for endocrine therapy in ER-positive "
        "disease. A what-if difference must not be read as a benefit or a harm.",
        "- 'share with dS > 0' near 0% or 100% means the model moves every patient's curve the "
        "same way for a given treatment: it has learned no patient-specific sign of effect.",
        "- Overlap refusals concentrate on chemotherapy: older patients with ER-positive tumours "
        "almost never received it in METABRIC, so their chemotherapy curve is refused; young "
        "patients with ER-negative tumours almost always did, so their curves without it are.",
        "- The model's own abstention (unusual embedding) refuses most cases without the four "
        "expression genes; those genes must come on METABRIC's Illumina array scale (log2, "
        "roughly 5 to 15 in the file), not as z-scores.",
        "- The IPTW model weights one treatment at a time and does not adjust for the other two; "
        "the adjusted Cox model does. "
        + (
            f"Where the two disagree ({', '.join(disagree)}), the cohort does not settle even the "
            "direction of the association."
            if disagree
            else "They agree in direction for every treatment."
        ),
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m inference.training.propensity",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--date", default=None, help="training date in the file (default today, UTC)"
    )
    parser.add_argument("--report", type=Path, default=None, help="also write the validation page")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if not args.data.exists():
        parser.error(f"data folder {args.data} not found (pass --data ../shared/data)")
    date = args.date or dt.datetime.now(dt.UTC).date().isoformat()
    cohort = load_deepsurv("metabric", args.data)
    document = train_propensity(cohort, args.data, date=date)
    digest = write_document(document, args.out)
    logger.info("wrote %s sha256 %s", args.out, digest)
    for set_name, entry in document["covariate_sets"].items():
        for treatment, fitted in entry["treatments"].items():
            logger.info(
                "%s %s: test AUC %s, support %s, test supported %s",
                set_name,
                treatment,
                fitted["test_auc"],
                fitted["support"],
                fitted["test_fraction_supported"],
            )
    if args.report is not None:
        write_report(cohort, document, args.out, args.report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
