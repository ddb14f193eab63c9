"""RECIST 1.1 response from lesion measurements (Eisenhauer et al., Eur J Cancer 2009;45:228-247).

The first time point is the baseline; its target lesions define the sum of diameters that every
follow-up is compared with (longest diameter, short axis for lymph nodes). This module applies the
published rules and says which rule decided; choosing lesions and measuring them stays with the
radiologist, and the result is decision support to be confirmed by one.
"""

from __future__ import annotations

from collections.abc import Sequence

from inference.imaging.schema import (
    RecistAssessment,
    RecistCategory,
    RecistLesion,
    RecistTimePoint,
)

PD_RELATIVE = 0.20
PD_ABSOLUTE_MM = 5.0
PR_RELATIVE = 0.30
NODE_NORMAL_MM = 10.0
MAX_TARGETS = 5


class RecistError(ValueError):
    """The time points cannot be assessed (no baseline, unmeasured baseline targets...)."""


def _targets(tp: RecistTimePoint) -> dict[str, RecistLesion]:
    return {les.lesion_id: les for les in tp.lesions if les.kind == "target"}


def _sum(targets: dict[str, RecistLesion], ids: Sequence[str]) -> tuple[float, bool]:
    """Sum of diameters over ``ids``; the flag is False when one of them was not measured."""
    total, complete = 0.0, True
    for lesion_id in ids:
        les = targets.get(lesion_id)
        if les is None or les.diameter_mm is None:
            complete = False
            continue
        total += les.diameter_mm
    return total, complete


def _non_target_response(
    baseline: RecistTimePoint, current: RecistTimePoint
) -> tuple[str, list[str]]:
    base_ids = [les.lesion_id for les in baseline.lesions if les.kind == "non_target"]
    if not base_ids:
        return "none", []
    now = {les.lesion_id: les for les in current.lesions if les.kind == "non_target"}
    if any(les.status == "unequivocal_progression" for les in now.values()):
        return "PD", ["unequivocal progression of non-target disease"]
    missing = [i for i in base_ids if i not in now]
    if missing:
        return "NE", [f"non-target lesion(s) not assessed: {', '.join(missing)}"]
    if all(now[i].status == "absent" for i in base_ids):
        nodes = [now[i] for i in base_ids if now[i].is_lymph_node]
        return "CR", ["all non-target lesions absent" + (" (nodes normal)" if nodes else "")]
    return "Non-CR/Non-PD", ["non-target lesion(s) persist"]


def assess(timepoints: Sequence[RecistTimePoint]) -> tuple[RecistAssessment, ...]:
    """Assess every follow-up time point against the baseline and the running nadir.

    Args:
        timepoints: baseline first, then follow-ups in date order.

    Returns:
        One assessment per follow-up (the baseline itself is not assessed).

    Raises:
        RecistError: fewer than two time points, or a baseline target without a diameter.
    """
    if len(timepoints) < 2:
        raise RecistError("need a baseline and at least one follow-up")
    baseline = timepoints[0]
    base_targets = _targets(baseline)
    ids = list(base_targets)
    if any(les.diameter_mm is None for les in base_targets.values()):
        raise RecistError("every baseline target lesion needs a diameter")
    baseline_sum, _ = _sum(base_targets, ids)
    nadir = baseline_sum
    results: list[RecistAssessment] = []
    for tp in timepoints[1:]:
        reasons: list[str] = []
        if len(ids) > MAX_TARGETS:
            reasons.append(
                f"{len(ids)} target lesions at baseline; RECIST 1.1 allows {MAX_TARGETS}"
            )
        targets = _targets(tp)
        current, complete = _sum(targets, ids)
        target = _target_response(ids, targets, current, complete, baseline_sum, nadir, reasons)
        non_target, nt_reasons = _non_target_response(baseline, tp)
        reasons.extend(nt_reasons)
        new = [les.lesion_id for les in tp.lesions if les.kind == "new"]
        overall = _overall(target, non_target, bool(ids), new, reasons)
        results.append(
            RecistAssessment(
                date=tp.date,
                sum_of_diameters_mm=current,
                baseline_sum_mm=baseline_sum,
                nadir_sum_mm=nadir,
                change_from_baseline_pct=_pct(current, baseline_sum),
                change_from_nadir_pct=_pct(current, nadir),
                target_response=target,
                non_target_response=non_target,  # type: ignore[arg-type]
                overall=overall,
                reasons=tuple(reasons),
            )
        )
        if complete:
            nadir = min(nadir, current)
    return tuple(results)


def _pct(value: float, reference: float) -> float:
    return 100.0 * (value - reference) / reference if reference > 0 else 0.0


def _target_response(
    ids: list[str],
    targets: dict[str, RecistLesion],
    current: float,
    complete: bool,
    baseline_sum: float,
    nadir: float,
    reasons: list[str],
) -> RecistCategory:
    if not ids:
        return "NE"
    increase = current - nadir
    if increase >= PD_ABSOLUTE_MM and (nadir == 0 or increase / nadir >= PD_RELATIVE):
        reasons.append(f"sum {current:.1f} mm is >= 20% and >= 5 mm above the nadir {nadir:.1f} mm")
        return "PD"
    if nadir > 0 and increase / nadir >= PD_RELATIVE:
        reasons.append(f"+{increase:.1f} mm over nadir is >= 20% but < 5 mm absolute: not PD")
    if not complete:
        missing = [i for i in ids if targets.get(i) is None or targets[i].diameter_mm is None]
        reasons.append(f"target lesion(s) not measured: {', '.join(missing)}")
        return "NE"
    gone = all(
        (targets[i].diameter_mm or 0.0) < NODE_NORMAL_MM
        if targets[i].is_lymph_node
        else (targets[i].diameter_mm or 0.0) == 0.0
        for i in ids
    )
    if gone:
        reasons.append("all target lesions disappeared (nodes < 10 mm short axis)")
        return "CR"
    if baseline_sum > 0 and (baseline_sum - current) / baseline_sum >= PR_RELATIVE:
        reasons.append(
            f"sum decreased {100 * (baseline_sum - current) / baseline_sum:.0f}% from baseline"
        )
        return "PR"
    reasons.append("neither 30% decrease from baseline nor progression from nadir")
    return "SD"


def _overall(
    target: RecistCategory,
    non_target: str,
    has_targets: bool,
    new: list[str],
    reasons: list[str],
) -> RecistCategory:
    if new:
        reasons.append(f"new lesion(s): {', '.join(new)}")
        return "PD"
    if target == "PD" or non_target == "PD":
        return "PD"
    if not has_targets:
        # RECIST 1.1 Table 2 (non-target disease only); Non-CR/Non-PD is reported as SD here.
        if non_target == "CR":
            return "CR"
        if non_target == "NE":
            return "NE"
        reasons.append("non-target disease only: Non-CR/Non-PD reported as SD")
        return "SD"
    if target == "CR":
        return "CR" if non_target in ("CR", "none") else "PR"
    if target == "NE":
        return "NE"
    return target
