"""Quality and latency benchmarks of the survival model (Q1, Q2, Q7, P8), shared by ``benchmarks/``.

Full runs train and evaluate exactly like ``python -m inference.training.evaluate``; ``quick`` runs
score the shipped checkpoints on their fixed test split instead of training (under a minute).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from inference.schema import CaseInputs, ClinicalFacts, LabPanel, MolecularProfile, TreatmentPlan
from inference.training.cohorts import MCAT_COHORTS, Cohort, load_cohort
from inference.training.evaluate import (
    SHIPPED_NAMES,
    evaluate_cohort,
    evaluate_split,
    load_ensemble,
)
from inference.training.loop import TrainConfig
from inference.weights import SHIPPED

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"


def _shipped_path(cohort: str) -> Path:
    return SHIPPED[SHIPPED_NAMES[cohort]].path


def quick_report(cohort_name: str, data: Path, *, fold: int = 0) -> dict[str, Any]:
    """Score a shipped checkpoint on its held-out split (no training, no RSF)."""
    cohort = load_cohort(cohort_name, data)
    split = cohort.splits[fold]
    ensemble = load_ensemble(cohort, _shipped_path(cohort_name), split)
    result, _ = evaluate_split(
        cohort, split, TrainConfig(), data, rsf=False, singles=False, ensemble=ensemble
    )
    return {"splits": [result], "summary": result}


def full_report(cohort_name: str, data: Path, *, singles: bool = False) -> dict[str, Any]:
    """Train and evaluate on every published split (reports under ``benchmarks/results``)."""
    return evaluate_cohort(
        cohort_name, data, TrainConfig(), folds=None, rsf=True, singles=singles,
        out=RESULTS / "validation",
    )  # fmt: skip


def _round(value: float) -> float:
    return round(float(value), 4) if math.isfinite(value) else float("nan")


def q1(data: Path, quick: bool) -> dict[str, Any]:
    """DeepSurv splits: ours vs CoxPH (and RSF in full runs)."""
    cohorts = ("metabric", "support") if quick else ("metabric", "support", "gbsg", "whas")
    rows: dict[str, Any] = {}
    met = True
    for name in cohorts:
        report = quick_report(name, data) if quick else full_report(name, data)
        summary = report["summary"]
        ours, cox = summary["model"], summary["coxph"]
        row = {
            "c_index": _round(ours["c_index"]),
            "c_td": _round(ours["c_td"]),
            "ibs": _round(ours["ibs"]),
            "coxph_c_index": _round(cox["c_index"]),
            "coxph_ibs": _round(cox["ibs"]),
        }
        if "rsf" in summary:
            row["rsf_c_index"] = _round(summary["rsf"]["c_index"])
            row["rsf_ibs"] = _round(summary["rsf"]["ibs"])
        if name in ("metabric", "support"):
            ok = ours["c_index"] >= cox["c_index"] + 0.03 and ours["ibs"] <= 0.9 * cox["ibs"]
            if "rsf" in summary:
                ok = ok and ours["c_index"] >= summary["rsf"]["c_index"] - 0.005
            row["met"] = bool(ok)
            met = met and ok
        rows[name] = row
    print(f"{'cohort':10} {'C':>6} {'C_td':>6} {'IBS':>6} {'Cox C':>6} {'Cox IBS':>7} {'RSF C':>6}")
    for name, row in rows.items():
        print(
            f"{name:10} {row['c_index']:6.3f} {row['c_td']:6.3f} {row['ibs']:6.3f} "
            f"{row['coxph_c_index']:6.3f} {row['coxph_ibs']:7.3f} "
            f"{row.get('rsf_c_index', float('nan')):6.3f}"
        )
    key = ("metabric", "support")
    ours_mean = float(np.mean([rows[k]["c_index"] for k in key]))
    base_mean = float(np.mean([rows[k]["coxph_c_index"] for k in key]))
    return {
        "id": "Q1",
        "metric": "harrell_c_mean_metabric_support",
        "ours": round(ours_mean, 4),
        "baseline": round(base_mean, 4),
        "ratio": round(ours_mean / base_mean, 4),
        "goal": "C >= CoxPH + 0.03 and IBS <= 0.90 x CoxPH on METABRIC and SUPPORT; >= RSF - 0.005",
        "met": met,
        "ibs_time_grid": "model grid from its first step to the 90th percentile of test follow-up",
        "mode": "quick: shipped checkpoints on the fixed test split" if quick else "full",
        **rows,
    }


def q2(data: Path, quick: bool) -> dict[str, Any]:
    """TCGA pan-cancer fusion model: 5 folds (full) or the shipped checkpoint on fold 0 (quick).

    Mean C is over the five MCAT cohorts' test rows; the single-modality comparison hides
    modalities in the same fused model (pooled C over all test rows).
    """
    rows: dict[str, Any] = {}
    if quick:
        report = quick_report("tcga_pancancer", data)
        note = "quick: shipped pan-cancer checkpoint, fold 0 test rows"
    else:
        report = evaluate_cohort(
            "tcga_pancancer", data, TrainConfig(), folds=None, rsf=False, singles=False,
            out=RESULTS / "validation",
        )  # fmt: skip
        note = "full: pan-cancer model trained per fold on the 5 published folds in this run"
    splits = report["splits"]
    for code in MCAT_COHORTS:
        rows[code] = {
            "c_index": _round(float(np.mean([s["by_cohort"][code]["c_index"] for s in splits]))),
            "ibs": _round(float(np.mean([s["by_cohort"][code]["ibs"] for s in splits]))),
        }
    ours = float(np.mean([rows[c]["c_index"] for c in MCAT_COHORTS]))
    singles = {
        label: float(np.mean([s["ablations_masked"][label]["c_index"] for s in splits]))
        for label in splits[0]["ablations_masked"]
        if label.startswith("only")
    }
    best_label = max(singles, key=lambda k: singles[k])
    best = singles[best_label]
    fused = float(np.mean([s["model"]["c_index"] for s in splits]))
    cox = float(np.mean([s["coxph"]["c_index"] for s in splits]))
    print(f"{'cohort':8} {'C':>6} {'IBS':>6}")
    for code, row in rows.items():
        print(f"{code:8} {row['c_index']:6.3f} {row['ibs']:6.3f}")
    print(f"mean C {ours:.3f}; best single ({best_label}) {best:.3f}; CoxPH clinical {cox:.3f}")
    met = ours >= 0.66 and fused / best >= 1.07
    return {
        "id": "Q2",
        "metric": "mean_c_index_mcat_cohorts",
        "ours": round(ours, 4),
        "baseline": round(best, 4),
        "ratio": round(fused / best, 4),
        "goal": "mean C >= 0.66 over BLCA, BRCA, GBMLGG, LUAD, UCEC; fusion / best single >= 1.07",
        "met": bool(met),
        "ratio_basis": "pooled C over the five cohorts' test rows, fusion vs best modality alone",
        "fusion_c_for_ratio": round(fused, 4),
        "coxph_clinical_c_index": round(cox, 4),
        "mcat_reported": 0.653,
        "mode": note,
        **rows,
    }


def q7(data: Path, quick: bool) -> dict[str, Any]:
    """Calibration at 1/3/5 years and conformal coverage."""
    rows: dict[str, Any] = {}
    gaps = []
    for name in ("metabric", "support"):
        report = quick_report(name, data) if quick else full_report(name, data)
        split = report["splits"][0]
        conf = split["conformal"]
        rows[name] = {
            "coverage": _round(conf["measured"]),
            "nominal": conf["nominal"],
            **{f"slope_{int(c['months'])}m": _round(c["slope"]) for c in split["calibration"]},
            **{
                f"intercept_{int(c['months'])}m": _round(c["intercept"])
                for c in split["calibration"]
            },
        }
        gaps.append(abs(conf["measured"] - conf["nominal"]))
    print(f"{'cohort':10} {'coverage':>8} {'nominal':>7}  slopes (12/36/60 months)")
    for name, row in rows.items():
        slopes = [v for k, v in row.items() if k.startswith("slope")]
        print(f"{name:10} {row['coverage']:8.3f} {row['nominal']:7.2f}  {slopes}")
    worst = float(max(gaps))
    return {
        "id": "Q7",
        "metric": "max_abs_coverage_gap",
        "ours": round(worst, 4),
        "baseline": 0.02,
        "ratio": round(worst / 0.02, 4),
        "goal": "conformal coverage within 2 points of nominal; slope/intercept reported",
        "met": worst <= 0.02,
        **rows,
    }


def case_from_row(cohort: Cohort, row: int) -> CaseInputs:
    """A stored case (as the web side would send it) built from one cohort row."""
    values: dict[str, dict[str, float | None]] = {}
    for modality, array in cohort.tabular.items():
        values[modality] = {
            name: (None if not np.isfinite(v) else float(v))
            for name, v in zip(cohort.names[modality], array[row], strict=True)
        }
    cancer = cohort.cancer_types[row] if cohort.cancer_types is not None else None
    treatment = None
    if cohort.treatment is not None:
        treatment = TreatmentPlan(
            {n: bool(v) for n, v in zip(cohort.treatments, cohort.treatment[row], strict=True)}
        )
    return CaseInputs(
        case_id=str(cohort.ids[row]),
        clinical=ClinicalFacts(values.get("clinical", {}), cancer_type=cancer or None),
        labs=LabPanel(values["labs"]) if "labs" in values else None,
        molecular=MolecularProfile(
            mutations=values.get("mutations", {}),
            copy_number=values.get("copy_number", {}),
            expression=values.get("expression", {}),
        ),
        treatment=treatment,
    )


def p8(data: Path, quick: bool) -> dict[str, Any]:
    """``inference.predict()`` latency from stored features, with explanations, on the default
    (pan-cancer) model; the reference is the bare ensemble forward pass on the same cases."""
    import inference
    from inference.tabular.features import arrays_from_cases, batch_from_arrays

    torch.set_num_threads(1)
    model = inference.load_model()
    cohort = load_cohort("tcga_pancancer", data)
    rows = cohort.splits[0].test[: 20 if quick else 100]
    cases = [case_from_row(cohort, int(r)) for r in rows]
    inference.predict(cases[0], model=model)  # warm-up
    full, bare = [], []
    for case in cases:
        started = time.perf_counter()
        inference.predict(case, model=model)
        full.append(time.perf_counter() - started)
        raw, _ = arrays_from_cases(model.config, [case])
        batch = batch_from_arrays(model.config, raw)
        started = time.perf_counter()
        with torch.inference_mode():
            for member in model.members:
                member(batch)
        bare.append(time.perf_counter() - started)
    p95 = float(np.percentile(full, 95)) * 1000.0
    bare95 = float(np.percentile(bare, 95)) * 1000.0
    no_explain = []
    for case in cases:
        started = time.perf_counter()
        inference.predict(case, model=model, explain=False)
        no_explain.append(time.perf_counter() - started)
    p95_plain = float(np.percentile(no_explain, 95)) * 1000.0
    print(f"{'what':34} {'p50 ms':>8} {'p95 ms':>8}")
    print(f"{'predict() with explanations':34} {np.median(full) * 1000:8.1f} {p95:8.1f}")
    print(
        f"{'predict() without explanations':34} "
        f"{np.median(no_explain) * 1000:8.1f} {p95_plain:8.1f}"
    )
    print(f"{'bare ensemble forward':34} {np.median(bare) * 1000:8.1f} {bare95:8.1f}")
    return {
        "id": "P8",
        "metric": "predict_p95_ms",
        "ours": round(p95, 1),
        "baseline": round(bare95, 1),
        "ratio": round(p95 / bare95, 2),
        "goal": "p95 <= 300 ms server-side (inference level, CPU, 1 thread)",
        "met": p95 <= 300.0,
        "p95_without_explanations_ms": round(p95_plain, 1),
        "cases": len(cases),
        "model": model.info.name,
        "scope": "inference-level only: predict() from stored features (no web request, no DB)",
    }
