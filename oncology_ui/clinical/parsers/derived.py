"""Values derived from measured ones, each with the formula shown to the clinician.

Every function takes catalogue units (creatinine in µmol/L, counts in 10^9/L, weight in kg,
height in cm) and returns a :class:`Derived` with the value, its unit and the formula as text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

CREATININE_UMOL_PER_MG_DL = 88.4


@dataclass(frozen=True)
class Derived:
    key: str
    value: float
    unit: str
    formula: str
    inputs: dict[str, float | str]


def creatinine_clearance_cockcroft_gault(
    *, age_years: int, weight_kg: float, creatinine_umol_l: float, sex: str
) -> Derived:
    """Cockcroft–Gault creatinine clearance (mL/min), with actual body weight.

    CrCl = (140 − age) × weight × (0.85 if female) / (72 × Scr[mg/dL]).
    """
    scr_mg_dl = creatinine_umol_l / CREATININE_UMOL_PER_MG_DL
    female = sex == "female"
    value = (140 - age_years) * weight_kg * (0.85 if female else 1.0) / (72 * scr_mg_dl)
    return Derived(
        key="crcl_cg",
        value=round(value, 1),
        unit="mL/min",
        formula="CrCl = (140 − age) × weight[kg]"
        + (" × 0.85" if female else "")
        + " / (72 × creatinine[mg/dL])",
        inputs={
            "age": age_years,
            "weight_kg": weight_kg,
            "creatinine_mg_dl": round(scr_mg_dl, 3),
            "sex": sex,
        },
    )


def egfr_ckd_epi_2021(*, age_years: int, creatinine_umol_l: float, sex: str) -> Derived:
    """CKD-EPI 2021 creatinine equation without race (mL/min/1.73 m²).

    eGFR = 142 × min(Scr/κ, 1)^α × max(Scr/κ, 1)^−1.200 × 0.9938^age × (1.012 if female),
    κ = 0.7 (female) or 0.9 (male), α = −0.241 (female) or −0.302 (male).
    """
    female = sex == "female"
    kappa, alpha = (0.7, -0.241) if female else (0.9, -0.302)
    scr = creatinine_umol_l / CREATININE_UMOL_PER_MG_DL
    ratio = scr / kappa
    value = (
        142
        * min(ratio, 1.0) ** alpha
        * max(ratio, 1.0) ** -1.200
        * 0.9938**age_years
        * (1.012 if female else 1.0)
    )
    return Derived(
        key="egfr_ckdepi2021",
        value=round(value),
        unit="mL/min/{1.73_m2}",
        formula=(
            f"eGFR = 142 × min(Scr/{kappa}, 1)^{alpha} × max(Scr/{kappa}, 1)^−1.200 × 0.9938^age"
            + (" × 1.012" if female else "")
            + " (CKD-EPI 2021, Scr in mg/dL)"
        ),
        inputs={"age": age_years, "creatinine_mg_dl": round(scr, 3), "sex": sex},
    )


def absolute_neutrophil_count(
    *, wbc: float, neutrophils_pct: float, bands_pct: float = 0.0
) -> Derived:
    """ANC (10^9/L) = WBC × (segmented neutrophils % + bands %) / 100."""
    value = wbc * (neutrophils_pct + bands_pct) / 100
    return Derived(
        key="neutrophils",
        value=round(value, 2),
        unit="10*9/L",
        formula="ANC = WBC × (neutrophils % + bands %) / 100",
        inputs={"wbc": wbc, "neutrophils_pct": neutrophils_pct, "bands_pct": bands_pct},
    )


def body_surface_area_mosteller(*, height_cm: float, weight_kg: float) -> Derived:
    """Mosteller body-surface area (m²) = √(height[cm] × weight[kg] / 3600)."""
    value = math.sqrt(height_cm * weight_kg / 3600)
    return Derived(
        key="bsa",
        value=round(value, 2),
        unit="m2",
        formula="BSA = √(height[cm] × weight[kg] / 3600) (Mosteller)",
        inputs={"height_cm": height_cm, "weight_kg": weight_kg},
    )
