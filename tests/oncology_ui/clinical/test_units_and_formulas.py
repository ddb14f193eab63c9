"""Unit conversions against published SI factors, derived values against worked examples."""

from __future__ import annotations

import pytest

from oncology_ui.clinical.parsers.catalogue import load_catalogue
from oncology_ui.clinical.parsers.derived import (
    absolute_neutrophil_count,
    body_surface_area_mosteller,
    creatinine_clearance_cockcroft_gault,
    egfr_ckd_epi_2021,
)
from oncology_ui.clinical.parsers.labs import loinc_is_valid
from oncology_ui.clinical.parsers.units import UnitError, convert


@pytest.mark.parametrize(
    ("key", "unit", "si_factor"),
    [
        # traditional -> SI factors as published in labunits 0.2.1 (LOINC-keyed, MIT)
        ("creatinine", "mg/dL", 88.4),
        ("glucose", "mg/dL", 0.05551),
        ("magnesium", "mg/dL", 0.4114),
        ("albumin", "g/dL", 10.0),
        ("fibrinogen", "mg/dL", 0.01),
        # classic factors of the SI tables (molar masses in the catalogue)
        ("bilirubin", "mg/dL", 17.1),
        ("urea", "mg/dL", 0.357),
        ("calcium", "mg/dL", 0.2495),
        ("urate", "mg/dL", 59.48),
        ("hemoglobin", "g/dL", 10.0),
    ],
)
def test_it_converts_with_the_published_si_factor(key: str, unit: str, si_factor: float) -> None:
    analyte = load_catalogue().analytes[key]
    value = convert(1.0, unit, analyte.unit, molar_mass=analyte.molar_mass, valence=analyte.valence)
    assert value == pytest.approx(si_factor, rel=2e-3)


def test_labunits_factors_agree_with_the_catalogue_where_it_has_the_analyte() -> None:
    import labunits.converters as labunits

    catalogue = load_catalogue()
    for code in ("2160-0", "2345-7", "19123-9", "1751-7", "3255-7"):
        analyte = catalogue.by_loinc[code]
        traditional = labunits.traditional_unit(code)
        expected = labunits.conversion_factor(code)
        got = convert(1.0, traditional, analyte.unit, molar_mass=analyte.molar_mass)
        assert got == pytest.approx(expected, rel=2e-3), code


@pytest.mark.parametrize(
    ("unit", "expected"),
    [("10^9/L", 5.0), ("x10E3/uL", 5.0), ("K/uL", 5.0), ("10*9/L", 5.0), ("/nL", 5.0)],
)
def test_cell_counts_written_many_ways_become_10e9_per_litre(unit: str, expected: float) -> None:
    assert convert(5.0, unit, "10*9/L") == pytest.approx(expected)


def test_cells_per_cubic_millimetre() -> None:
    assert convert(5000, "cells/mm3", "10*9/L") == pytest.approx(5.0)


def test_milliequivalents_use_the_valence() -> None:
    assert convert(140, "mEq/L", "mmol/L", valence=1) == 140
    assert convert(4.5, "mEq/L", "mmol/L", valence=2) == pytest.approx(2.25)


def test_enzyme_activity_in_microkatal() -> None:
    assert convert(1, "µkat/L", "U/L") == pytest.approx(60.0)


@pytest.mark.parametrize(
    ("unit", "target"), [("mg/dL", "10*9/L"), ("parsecs", "g/L"), ("%", "mmol/L")]
)
def test_units_that_cannot_be_converted_are_refused(unit: str, target: str) -> None:
    with pytest.raises(UnitError):
        convert(1.0, unit, target)


def test_every_catalogue_loinc_code_has_a_valid_check_digit() -> None:
    catalogue = load_catalogue()
    for analyte in catalogue.analytes.values():
        for code in (analyte.loinc, *analyte.other_loinc):
            assert loinc_is_valid(code), f"{analyte.key}: {code}"
    assert not loinc_is_valid("2160-1")


def test_tumour_markers_of_the_catalogue_are_in_the_mcode_value_set() -> None:
    catalogue = load_catalogue()
    for analyte in catalogue.analytes.values():
        if analyte.category == "tumour_marker":
            assert analyte.loinc in catalogue.tumour_markers, analyte.key


def test_egfr_ckd_epi_2021_worked_examples() -> None:
    # NKF CKD-EPI 2021 calculator: 50-year-old woman, creatinine 1.0 mg/dL -> 69;
    # 60-year-old man, creatinine 1.0 mg/dL -> 86.
    woman = egfr_ckd_epi_2021(age_years=50, creatinine_umol_l=88.4, sex="female")
    man = egfr_ckd_epi_2021(age_years=60, creatinine_umol_l=88.4, sex="male")
    assert (woman.value, man.value) == (69, 86)
    assert "142" in woman.formula and "1.012" in woman.formula


def test_cockcroft_gault_worked_example() -> None:
    # (140 − 60) × 72 kg / (72 × 1.0 mg/dL) = 80 mL/min for a man; × 0.85 = 68 for a woman.
    man = creatinine_clearance_cockcroft_gault(
        age_years=60, weight_kg=72, creatinine_umol_l=88.4, sex="male"
    )
    woman = creatinine_clearance_cockcroft_gault(
        age_years=60, weight_kg=72, creatinine_umol_l=88.4, sex="female"
    )
    assert (man.value, woman.value) == (80.0, 68.0)


def test_absolute_neutrophil_count_from_wbc_and_differential() -> None:
    # WBC 5.0 × 10^9/L with 55% segmented neutrophils and 5% bands -> ANC 3.0 × 10^9/L.
    assert absolute_neutrophil_count(wbc=5.0, neutrophils_pct=55, bands_pct=5).value == 3.0


def test_mosteller_body_surface_area() -> None:
    # √(180 cm × 80 kg / 3600) = √4 = 2.00 m²; Mosteller's own example 170 cm, 70 kg -> 1.82 m².
    assert body_surface_area_mosteller(height_cm=180, weight_kg=80).value == 2.0
    assert body_surface_area_mosteller(height_cm=170, weight_kg=70).value == 1.82
