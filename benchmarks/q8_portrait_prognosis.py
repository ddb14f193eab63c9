"""Benchmark Q8: prognosis from the whole clinical portrait, per cancer type, vs CoxPH and RSF.

Run with ``python -m benchmarks Q8 [--quick] [--data DIR]``. Needs the training extras
(lifelines, scikit-survival and survset, see ``requirements-train.txt``).

Full run: tunes the portrait model on the validation parts, trains on the training parts, and
scores it per cancer type on the test parts against lifelines CoxPH and scikit-survival RSF on the
same vocabulary columns and splits; also the routed alternative (one model per type) and the
external validation pairs. ``--quick`` scores the committed checkpoint against CoxPH only. Both
report the conformal time interval per cancer type: calibrated at 90% on the validation parts,
coverage measured on the test parts, widened or abstained where it falls short by > 3 points.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
from pathlib import Path
from typing import Any

from benchmarks.common import BenchmarkResult, require_training_extras, result_line

ID = "Q8"
TITLE = "Portrait prognosis per cancer type vs CoxPH and RSF (13 OncoTree types, external pairs)"
RESULTS = Path(__file__).resolve().parent / "results"
GOAL = (
    ">= 12 types; per type C >= CoxPH - 0.005; pooled C >= CoxPH + 0.02; calibration slope "
    "0.8-1.2 at the main horizon; IBS <= CoxPH; external C drop <= 0.03"
)


def _goals(rows: dict[str, dict[str, Any]], ext: dict[str, dict[str, Any]]) -> dict[str, Any]:
    c_ok = [t for t, r in rows.items() if r["ours"]["c_index"] >= r["coxph"]["c_index"] - 0.005]
    slope_ok = [t for t, r in rows.items() if 0.8 <= r["ours"]["calibration_slope"] <= 1.2]
    ibs_ok = [t for t, r in rows.items() if r["ours"]["ibs"] <= r["coxph"]["ibs"]]
    ext_ok = [p for p, r in ext.items() if r["ours_drop"] <= 0.03]
    return {
        "types": len(rows),
        "c_within_0.005_of_coxph": f"{len(c_ok)}/{len(rows)}",
        "calibration_slope_0.8_1.2": f"{len(slope_ok)}/{len(rows)}",
        "ibs_le_coxph": f"{len(ibs_ok)}/{len(rows)}",
        "external_drop_le_0.03": f"{len(ext_ok)}/{len(ext)}" if ext else "not run (quick)",
        "all_types_ok": len(c_ok) == len(slope_ok) == len(ibs_ok) == len(rows),
        "external_ok": len(ext_ok) == len(ext),
    }


def _print_table(rows: dict[str, dict[str, Any]]) -> None:
    print(
        f"{'type':9} {'n':>5} {'ev':>4} {'h(mo)':>5} | {'C':>6} {'C_td':>6} {'IBS':>6} "
        f"{'slope':>6} | {'Cox C':>6} {'Cox IBS':>7} {'slope':>6} | {'RSF C':>6} {'routed':>6}"
    )
    for cancer_type, r in rows.items():
        o, c = r["ours"], r["coxph"]
        rsf = r.get("rsf", {}).get("c_index", math.nan)
        routed = r.get("routed", {}).get("c_index", math.nan)
        print(
            f"{cancer_type:9} {r['n_test']:5d} {r['events_test']:4d} {r['horizon_months']:5.0f} | "
            f"{o['c_index']:6.3f} {o['c_td']:6.3f} {o['ibs']:6.3f} {o['calibration_slope']:6.2f} | "
            f"{c['c_index']:6.3f} {c['ibs']:7.3f} {c['calibration_slope']:6.2f} | "
            f"{rsf:6.3f} {routed:6.3f}"
        )


def run(args: argparse.Namespace) -> BenchmarkResult:
    """Run the benchmark and return its result dictionary."""
    require_training_extras("Q8", "SurvSet")  # the PyPI-shipped cohorts
    import torch

    from inference.portrait.model import load_shipped
    from inference.training import portrait_eval as pe
    from inference.training import portrait_train as pt
    from inference.training.portrait_cohorts import load_all
    from inference.training.portrait_facts import conformal_per_type

    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(1)
    data = Path(args.data)
    if not data.is_dir():
        raise SystemExit(f"data folder {data} not found (pass --data)")
    frame = load_all(data)
    frame["split"] = pt.assign_splits(frame)
    ext: dict[str, dict[str, Any]] = {}
    tuning: list[dict[str, Any]] = []
    if args.quick:
        model = load_shipped()
        rows = pe.per_type(model, frame, with_rsf=False)
        mode = "quick: committed checkpoint on the fixed test splits, CoxPH only"
    else:
        settings, tuning = pt.tune(frame)
        model = pt.build_model(frame, settings)
        routed = pe.routed_models(frame, pt.TrainSettings(mlp_hidden=0))
        rows = pe.per_type(model, frame, with_rsf=True, routed=routed)
        ext = pe.external(frame, model, settings)
        mode = f"full: trained with {settings} (chosen on validation parts)"
    _print_table(rows)
    intervals = conformal_per_type(model, frame)
    print(f"{'type':9} {'nominal':>7} {'test cov':>8} {'at 90%':>7} {'status':>9} {'corr mo':>8}")
    for cancer_type, c in intervals.items():
        print(
            f"{cancer_type:9} {c.nominal:7.2f} {c.measured_test:8.3f} "
            f"{c.measured_test_at_nominal:7.3f} {c.status:>9} {c.correction_months:8.1f}"
        )
    for pair, r in ext.items():
        print(
            f"external {pair:28} ours {r['ours_internal_c']:.3f} -> {r['ours_external_c']:.3f} "
            f"(drop {r['ours_drop']:+.3f}); CoxPH {r.get('coxph_internal_c', math.nan):.3f} -> "
            f"{r.get('coxph_external_c', math.nan):.3f} on {r['shared_columns']}"
        )
    ours_c, cox_c = pe.pooled(rows, "ours"), pe.pooled(rows, "coxph")
    goals = _goals(rows, ext)
    met = (
        goals["types"] >= 12
        and goals["all_types_ok"]
        and ours_c >= cox_c + 0.02
        and goals["external_ok"]
        and bool(ext)
    )
    # one key per cancer type: test C of ours and of CoxPH
    per_type: dict[str, Any] = {
        t: [r["ours"]["c_index"], r["coxph"]["c_index"]] for t, r in rows.items()
    }
    result = result_line(
        id=ID,
        metric="harrell_c_event_weighted_over_types",
        ours=round(ours_c, 4),
        baseline=round(cox_c, 4),
        ratio=round(ours_c / cox_c, 4),
        goal=GOAL,
        met=bool(met),
        mode=mode,
        **goals,
        rsf_pooled_c=round(pe.pooled(rows, "rsf"), 4) if not args.quick else None,
        routed_pooled_c=round(pe.pooled(rows, "routed"), 4) if not args.quick else None,
        conformal_ok_widened_abstained="/".join(
            str(sum(c.status == status for c in intervals.values()))
            for status in ("ok", "widened", "abstained")
        ),
        **per_type,
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    details = {
        "result": result,
        "per_type": rows,
        "conformal": {t: c.facts() for t, c in intervals.items()},
        "external": ext,
        "tuning": tuning,
    }
    (RESULTS / "q8_portrait.json").write_text(json.dumps(details, indent=1, default=str))
    return result
