"""Unit normalisation to the catalogue's UCUM/SI unit with pint.

Conversions that change dimension (mass <-> amount of substance) use the analyte's molar mass from
the catalogue (checked against the ``labunits`` SI factors in the tests); milliequivalents use its
valence. Cell counts are written the way laboratories write them (``10^9/L``, ``x10E3/uL``,
``K/uL``, ``cells/mm3``) and become a power-of-ten scale on a pint unit.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

#: Written forms that pint cannot parse, mapped to ones it can.
#: Whole units written in UCUM or by hand that pint spells otherwise.
_WHOLE = {
    "Cel": "degC",
    "°C": "degC",
    "C": "degC",
    "[degF]": "degF",
    "°F": "degF",
    "F": "degF",
    "mm[Hg]": "mmHg",
    "/min": "1/minute",
    "bpm": "1/minute",
    "beats/min": "1/minute",
    "breaths/min": "1/minute",
}
_SPELLINGS = (
    ("µ", "u"),
    ("μ", "u"),
    ("mcg", "ug"),
    ("mcmol", "umol"),
    ("cells/", "/"),
    ("cell/", "/"),
    ("secs", "s"),
    ("sec", "s"),
    ("seconds", "s"),
    ("mm3", "mm**3"),
    ("mm^3", "mm**3"),
    ("m2", "m**2"),
    ("m^2", "m**2"),
)
_MASS_CONCENTRATION = "[mass] / [length] ** 3"
_MOLAR_CONCENTRATION = "[substance] / [length] ** 3"
_POWER = re.compile(r"^(?:x\s*)?10\s*(?:\^|\*\*|\*|e)\s*(\d{1,2})\s*(.*)$", re.IGNORECASE)
_ANNOTATED = {
    "{INR}": {"", "{inr}", "inr", "ratio", "1", "{ratio}"},
    "mL/min/{1.73_m2}": {
        "ml/min/{1.73_m2}",
        "ml/min/1.73m2",
        "ml/min/1.73 m2",
        "ml/min/1.73m^2",
        "ml/min/1.73 m^2",
        "ml/min/1.73m**2",
        "ml/min/1.73 m**2",
        "ml/min/1.73_m2",
        "ml/min per 1.73 m2",
    },
}


class UnitError(ValueError):
    """A unit that is unknown or cannot be converted to the analyte's unit."""


@lru_cache(maxsize=1)
def registry() -> Any:
    """The shared pint registry (building one takes about a second, so it is built once)."""
    import pint

    ureg: Any = pint.UnitRegistry()
    ureg.define("international_unit = enzyme_unit = IU")
    ureg.define("equivalent = mole = Eq")
    return ureg


@dataclass(frozen=True)
class ParsedUnit:
    scale: float
    expression: str


@lru_cache(maxsize=512)
def parse_unit(text: str) -> ParsedUnit:
    """Split a written unit into a power-of-ten scale and a pint expression."""
    unit = _WHOLE.get(text.strip(), text.strip())
    for written, pint_form in _SPELLINGS:
        unit = unit.replace(written, pint_form)
    unit = unit.replace(" ", "")
    scale = 1.0
    match = _POWER.match(unit)
    if match:
        scale = 10.0 ** int(match.group(1))
        unit = match.group(2)
    elif unit[:2] in {"K/", "k/"}:
        scale, unit = 1e3, unit[1:]
    elif unit[:2] == "M/":
        scale, unit = 1e6, unit[1:]
    if unit.startswith("/"):
        unit = "1" + unit
    if unit in {"", "1"}:
        unit = "dimensionless"
    try:
        registry().parse_units(unit)
    except Exception:
        raise UnitError(f"“{text}” is not a unit OncoBoard knows") from None
    return ParsedUnit(scale, unit)


def convert(
    value: float,
    unit: str,
    target: str,
    *,
    molar_mass: float | None = None,
    valence: int | None = None,
    analyte: str = "this analyte",
) -> float:
    """Convert ``value`` in ``unit`` to ``target``.

    Args:
        value: the number as reported.
        unit: its unit as written (``mg/dL``, ``10^9/L``, ``mEq/L``...).
        target: the catalogue's unit for the analyte.
        molar_mass: g/mol, needed between mass and substance concentrations.
        valence: charge, needed for milliequivalents of divalent ions.
        analyte: the analyte's name, for messages.

    Raises:
        UnitError: the unit is unknown or cannot become ``target``.
    """
    if target in _ANNOTATED:
        if unit.strip().lower() in _ANNOTATED[target] or unit.strip() == target:
            return value
        raise UnitError(f"{analyte} is reported in {target}; “{unit}” cannot be converted to it")
    source_unit, target_unit = parse_unit(unit), parse_unit(target)
    ureg = registry()
    if "Eq" in source_unit.expression:
        if not valence:
            raise UnitError(f"“{unit}” (equivalents) needs the valence of {analyte}")
        value = value / valence
    quantity = ureg.Quantity(value * source_unit.scale, source_unit.expression)
    goal = ureg.Quantity(target_unit.scale, target_unit.expression)
    try:
        # Between mass and substance concentrations the molar mass bridges g/L and mol/L.
        if quantity.dimensionality == goal.dimensionality:
            comparable = quantity
        elif molar_mass and _is(quantity, _MASS_CONCENTRATION) and _is(goal, _MOLAR_CONCENTRATION):
            comparable = ureg.Quantity(quantity.to("g/L").magnitude / molar_mass, "mol/L")
        elif molar_mass and _is(quantity, _MOLAR_CONCENTRATION) and _is(goal, _MASS_CONCENTRATION):
            comparable = ureg.Quantity(quantity.to("mol/L").magnitude * molar_mass, "g/L")
        else:
            raise UnitError(f"“{unit}” cannot be converted to {target} for {analyte}")
        result = comparable.to(goal.units).magnitude / target_unit.scale
    except UnitError:
        raise
    except Exception:
        raise UnitError(f"“{unit}” cannot be converted to {target} for {analyte}") from None
    if not math.isfinite(result):
        raise UnitError(f"the converted value of {analyte} is not a finite number")
    return float(result)


_DISPLAY = {
    "10*9/L": "×10⁹/L",
    "10*12/L": "×10¹²/L",
    "umol/L": "µmol/L",
    "ug/L": "µg/L",
    "mL/min/{1.73_m2}": "mL/min/1.73 m²",
    "m2": "m²",
    "{INR}": "",
    "Cel": "°C",
    "mm[Hg]": "mmHg",
}


def display_unit(unit: str) -> str:
    """A UCUM code as people write it: ``10*9/L`` -> ``×10⁹/L``, ``umol/L`` -> ``µmol/L``."""
    return _DISPLAY.get(unit, unit)


def _is(quantity: Any, dimensionality: str) -> bool:
    return bool(quantity.dimensionality == registry().get_dimensionality(dimensionality))
