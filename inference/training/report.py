"""Validation report (Markdown + JSON + PNG) and model card writers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

LICENCE_NOTES = {
    "deepsurv": (
        "DeepSurv experiment files (jaredleekatzman/DeepSurv, MIT); underlying METABRIC, SUPPORT, "
        "Rotterdam/GBSG and WHAS data belong to their original studies, which must be cited."
    ),
    "tcga": (
        "TCGA tables from mahmoodlab/PORPOISE: the repository is GPL-3.0 and its README limits the "
        "processed data to non-commercial academic purposes. The underlying TCGA clinical and "
        "molecular data are open access. Weights trained on these tables are NOT cleared for a "
        "commercial product: obtain a licensing decision first."
    ),
    "hallmarks": (
        "Hallmark gene membership from mahmoodlab/SurvPath (GPL-3.0, non-commercial academic) "
        "composed from the MSigDB hallmark gene sets (Liberzon et al. 2015)."
    ),
}


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return "nan" if not np.isfinite(value) else f"{value:.3f}"
    return str(value)


def _row(label: str, scores: dict[str, float]) -> str:
    return (
        f"| {label} | {_fmt(scores['c_index'])} | {_fmt(scores['c_td'])} | {_fmt(scores['ibs'])} |"
    )


def score_table(summary: dict[str, Any]) -> list[str]:
    """Markdown table of the summary scores."""
    lines = ["| model | Harrell C | Antolini C^td | IBS |", "|---|---|---|---|"]
    lines.append(_row("fusion ensemble (ours)", summary["model"]))
    if "coxph" in summary:
        lines.append(_row("CoxPH (lifelines)", summary["coxph"]))
    if "rsf" in summary:
        lines.append(_row("RSF-100 (scikit-survival)", summary["rsf"]))
    for label, scores in summary.get("trained_alone", {}).items():
        lines.append(_row(f"trained on {label} only", scores))
    for label, scores in summary.get("ablations_masked", {}).items():
        lines.append(_row(f"fusion model, {label} (mask)", scores))
    for label, scores in summary.get("by_cohort", {}).items():
        lines.append(_row(f"pan-cancer model on {label}", scores))
    return lines


def _plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    calibrations = report["splits"][0]["calibration"]
    panels = max(len(calibrations), 1)
    figure, axes = plt.subplots(1, panels, figsize=(4 * panels, 4), squeeze=False)
    for axis, cal in zip(axes[0], calibrations, strict=False):
        axis.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1)
        axis.plot(cal["predicted"], cal["observed"], marker="o")
        axis.set_xlim(0, 1)
        axis.set_ylim(0, 1)
        axis.set_xlabel("predicted survival")
        axis.set_ylabel("observed (Kaplan-Meier)")
        axis.set_title(
            f"{report['cohort']} {int(cal['months'])} months\n"
            f"slope {cal['slope']:.2f}, intercept {cal['intercept']:.2f}"
        )
    figure.suptitle(f"Reliability, {report['splits'][0]['split']} test split")
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)


def write_report(report: dict[str, Any], stem: Path) -> None:
    """Write ``<stem>.json``, ``<stem>.md`` and ``<stem>.png``.

    Args:
        report: the evaluation dictionary.
        stem: output path without suffix.
    """
    stem.with_suffix(".json").write_text(json.dumps(report, indent=1, default=float))
    _plot(report, stem.with_suffix(".png"))
    summary = report["summary"]
    lines = [
        f"# Validation report: {report['cohort']}",
        "",
        f"- Date: {report['date']}",
        f"- Outcome: {report['outcome']}",
        f"- Data: {report['source']}",
        f"- Modalities: {', '.join(report['modalities'])}",
        f"- Splits: {', '.join(s['split'] for s in report['splits'])} "
        f"(mean over splits below; per-split numbers in the JSON)",
        f"- Time grid (months): 0 to {report['time_grid_months'][-1]:g} in steps of "
        f"{report['time_grid_months'][1]:g}; IBS over {report['ibs_time_grid']}",
        f"- Checkpoint scored: {report['checkpoint'] or 'trained in this run'}",
        *(
            [
                f"- Inputs the table had: {report['input_coverage']['present']} of the model's "
                f"{report['input_coverage']['inputs']} (absent ones masked)"
            ]
            if report.get("input_coverage")
            else []
        ),
        f"- Mean training time per split (whole ensemble): {summary['train_seconds']:.1f} s",
        "",
        "## Discrimination and overall accuracy",
        "",
        *score_table(summary),
        "",
        "Ablations marked (mask) hide modalities from the trained fusion model; "
        "'trained on X only' "
        "are separate models trained with that modality alone. Baselines use "
        f"{', '.join(report['splits'][0]['baseline_features'])} features on the same splits.",
        "",
        "## Calibration (grouped Kaplan-Meier vs mean prediction)",
        "",
        "| landmark | slope | intercept | mean abs error |",
        "|---|---|---|---|",
    ]
    for months, cal in summary["calibration"].items():
        lines.append(
            f"| {float(months):g} months | {_fmt(cal['slope'])} | {_fmt(cal['intercept'])} | "
            f"{_fmt(cal['mean_abs_error'])} |"
        )
    conf = summary["conformal"]
    lines += [
        "",
        f"![reliability]({stem.name}.png)",
        "",
        "## Conformal time-to-event interval",
        "",
        f"Nominal coverage {conf['nominal']:.2f}; measured (IPCW over test events) "
        f"{_fmt(conf['measured'])}; mean widening {conf['correction_months']:.1f} months; "
        f"{100 * conf['finite_upper_share']:.0f}% of intervals have an upper bound inside "
        "the grid.",
        "",
    ]
    stem.with_suffix(".md").write_text("\n".join(lines))


def write_model_card(
    report: dict[str, Any], extras: dict[str, Any], name: str, digest: str, path: Path
) -> None:
    """Write the model card of a shipped checkpoint.

    Args:
        report: the evaluation report that produced the checkpoint.
        extras: checkpoint extras (training facts).
        name: checkpoint name.
        digest: its sha256.
        path: card path.
    """
    lines = [
        *_card_header(report, extras, name, digest),
        *_card_modalities(report, extras),
        *_card_metrics(report["summary"], extras["metrics"]),
        *_CARD_USE_AND_LIMITS,
    ]
    path.write_text("\n".join(lines))


def _card_header(
    report: dict[str, Any], extras: dict[str, Any], name: str, digest: str
) -> list[str]:
    """What the model is, what it was trained on, and under which licence."""
    licence = LICENCE_NOTES["tcga"] if "tcga" in report["cohort"] else LICENCE_NOTES["deepsurv"]
    metrics = extras["metrics"]
    lines = [
        f"# Model card: {name}",
        "",
        f"- Date: {report['date']}",
        f"- File: `inference/weights/{name}.pt`, sha256 `{digest}` (pinned in "
        "`inference/weights/__init__.py`)",
        f"- Architecture: per-modality encoders -> masked attention fusion over modality tokens "
        f"(modality dropout {report['train_config']['modality_dropout']}) -> piecewise-exponential "
        "discrete-time survival head; deep ensemble of "
        f"{report['train_config']['members']} members.",
        f"- Validation report: `docs/model/validation/{report['cohort']}.md` "
        f"(JSON and PNG alongside).",
        "",
        "## Training data and licences",
        "",
        f"- Cohort: {report['cohort']}, {extras['n_train']} training patients "
        f"({extras['n_events_train']} events), split {metrics['split']}.",
        f"- Outcome: {report['outcome']}.",
        f"- Source: {report['source']}.",
        f"- Licence: {licence}",
    ]
    if extras.get("hallmarks"):
        lines.append(f"- Hallmark lens: {LICENCE_NOTES['hallmarks']}")
    if "tcga" in report["cohort"]:
        lines.append(
            "- Listed as licence-restricted: these weights (and the neighbour bank of training "
            "embeddings inside them) derive from GPL-3.0 / non-commercial data and must stay out "
            "of a commercial product until a licensing decision is made."
        )
    return lines


def _card_modalities(report: dict[str, Any], extras: dict[str, Any]) -> list[str]:
    """Which modality was trained on an outcome, and which runs untrained."""
    trained = extras["trained_modalities"]
    untrained = [m for m in extras["configured_modalities"] if m not in trained]
    lines = [
        "",
        "## Which modality was trained on which outcome",
        "",
        f"- Trained on outcomes: {', '.join(trained)} -> {report['outcome']}.",
        f"- NOT trained on any outcome: {', '.join(untrained)}. These branches run (slide tiles "
        "through gated attention-MIL, imaging lesion/study measurements) but their weights are "
        "the random initialisation; the predictor leaves them out of the prediction (listed in "
        "`inputs_ignored`) and abstains when only untrained modalities are present. A site "
        "must train them on its own recorded outcomes before relying on them.",
    ]
    if report["modalities"] and "treatment" in report["modalities"]:
        lines.append(
            "- Treatment inputs were learned from observational therapy records; what-if curves "
            "are associations, not causal effects."
        )
    return lines


def _card_metrics(summary: dict[str, Any], metrics: dict[str, Any]) -> list[str]:
    """Discrimination, calibration and the conformal interval's coverage."""
    lines = [
        "",
        f"## Metrics (test split {metrics['split']}; mean over splits in the report)",
        "",
        *score_table(summary),
        "",
        "## Calibration",
        "",
    ]
    for months, cal in summary["calibration"].items():
        lines.append(
            f"- {float(months):g} months: slope {_fmt(cal['slope'])}, intercept "
            f"{_fmt(cal['intercept'])}, mean absolute error {_fmt(cal['mean_abs_error'])}"
        )
    lines += [
        f"- Conformal interval: nominal {summary['conformal']['nominal']:.2f}, measured "
        f"{_fmt(summary['conformal']['measured'])} (IPCW over test events).",
        "",
    ]
    return lines


_CARD_USE_AND_LIMITS = [
    "## Intended use",
    "",
    "Decision support for a tumour board: an individual survival curve with its band, the "
    "inputs it used and missed, and why. Not a diagnosis, not a treatment decision, and not "
    "validated prospectively.",
    "",
    "## Limitations",
    "",
    "- Trained on one public cohort; patients unlike it (other cancer types, eras, "
    "therapies) are out of distribution; the predictor abstains on extreme inputs and on "
    "unusual embeddings, but cannot detect every shift.",
    "- The band is the spread of the ensemble members (model uncertainty), not a "
    "population interval; the conformal time interval is calibrated on an inner validation "
    "split and its measured coverage is stated above.",
    "- Similar-patient curves are observational summaries of training patients.",
    "- Untrained branches (see above) are kept out of predictions by default and reported in "
    "`inputs_ignored`; `use_untrained=True` feeds them for research only.",
    "",
]


def per_type_table(payload: dict[str, Any]) -> list[str]:
    """The per-cancer-type section: one row per TCGA cohort of the test split.

    Args:
        payload: ``inference.training.per_type.evaluate_shipped``'s result.

    Returns:
        Markdown lines, starting with the section heading.
    """
    nominal = payload["nominal_coverage"]
    rule = payload["rule"]
    lines = [
        "## Per cancer type",
        "",
        f"Shipped checkpoint scored as it is on the {payload['split']} test patients, per TCGA "
        "cohort (`python -m inference.training.per_type`; facts in "
        f"`inference/weights/{payload['model']}.per_type.json`). Calibration slope where at least "
        f"{rule['min_at_risk_for_slope']} patients are still followed ('-' otherwise); coverage of "
        f"the {100 * nominal:.0f}% conformal interval measured by IPCW over the type's test "
        "events. A type more than "
        f"{100 * rule['tolerance']:.0f} points short gets its own widening, fitted on its "
        "calibration patients (inner validation split of the training rows, never test "
        "patients), or no interval.",
        "",
        "| type | n | events | Harrell C | CoxPH C | slope 12 mo | slope 36 mo | slope 60 mo | "
        "coverage | interval | coverage served |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for facts in payload["types"].values():
        slopes = {float(c["months"]): c["slope"] for c in facts["calibration"]}
        interval = facts["interval"]
        status = interval["status"]
        if status == "widened":
            status = f"widened by {interval['correction_months']:.1f} mo"
        served = interval["measured_coverage"] if interval["status"] != "abstained" else None
        lines.append(
            f"| {facts['cohort']} | {facts['test_n']} | {facts['test_events']} | "
            f"{_fmt(facts['harrell_c'])} | {_fmt(facts['coxph_c'])} | "
            + " | ".join(_fmt(slopes.get(m)) for m in (12.0, 36.0, 60.0))
            + f" | {_fmt(facts['conformal']['measured_test_pooled'])} | {status} | "
            f"{_fmt(served)} |"
        )
    reasons = [
        f"- {facts['cohort']}: {facts['interval']['reason']}."
        for facts in payload["types"].values()
        if facts["interval"]["reason"]
    ]
    return [*lines, "", *reasons, ""] if reasons else [*lines, ""]


def replace_section(text: str, heading: str, lines: list[str]) -> str:
    """Replace a ``## `` section of a Markdown text (up to the next one), or append it.

    Args:
        text: the document.
        heading: the section's heading line.
        lines: the new section, heading included.

    Returns:
        The document with the section in place.
    """
    kept = text.rstrip("\n").split("\n")
    if heading in kept:
        start = kept.index(heading)
        end = next((i for i in range(start + 1, len(kept)) if kept[i].startswith("## ")), len(kept))
        # The next section keeps its blank line before it.
        gap = [""] if end < len(kept) and lines and lines[-1] else []
        kept = kept[:start] + lines + gap + kept[end:]
    else:
        kept = [*kept, "", *lines]
    return "\n".join(kept).rstrip("\n") + "\n"
