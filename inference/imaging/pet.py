"""PET standardised uptake value, body-weight normalised (SUVbw).

SUVbw = activity concentration (Bq/mL) x body weight (g) / injected dose decay-corrected to the
image reference time (Bq). With DecayCorrection ``START`` the images are decay-corrected to the
series start, so the dose is decayed from the injection time to the series time; with ``ADMIN``
the images are already corrected to the injection time and the dose is used as injected. Series
stored as SUV already (Units ``GML`` or ``SUV``) are kept and reported as such.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from dataclasses import replace

import numpy as np
from pydicom.dataset import Dataset

from inference.imaging.dicom_read import read_dataset
from inference.imaging.schema import SuvConversion, Volume

SUV_UNITS = {"GML", "SUV", "G/ML"}


class SuvError(ValueError):
    """SUV cannot be computed; the message names what is missing."""


def _parse_time(text: str) -> dt.time:
    t = text.strip()
    if len(t) < 2 or not t[:2].isdigit():
        raise SuvError(f"invalid time {text!r}")
    hours = int(t[0:2])
    minutes = int(t[2:4]) if len(t) >= 4 else 0
    seconds = float(t[4:]) if len(t) > 4 else 0.0
    whole = int(seconds)
    micro = int(round((seconds - whole) * 1e6))
    return dt.time(hours, minutes, min(whole, 59), min(micro, 999_999))


def _parse_date(text: str) -> dt.date:
    t = text.strip()
    if len(t) < 8 or not t[:8].isdigit():
        raise SuvError(f"invalid date {text!r}")
    return dt.date(int(t[:4]), int(t[4:6]), int(t[6:8]))


def _datetime(date_text: str, time_text: str) -> dt.datetime:
    return dt.datetime.combine(_parse_date(date_text), _parse_time(time_text))


def suv_conversion(ds: Dataset) -> SuvConversion:
    """Work out the Bq/mL -> SUVbw factor from a PET header.

    Args:
        ds: header of one instance of the series.

    Returns:
        How values become SUVbw and every quantity used.

    Raises:
        SuvError: a needed attribute is missing or implausible.
    """
    units = str(ds.get("Units", "") or "").upper()
    weight = ds.get("PatientWeight")
    weight_kg = float(weight) if weight not in (None, "") else None
    if units in SUV_UNITS:
        return SuvConversion(
            source="already_suv",
            factor=1.0,
            injected_dose_bq=None,
            decayed_dose_bq=None,
            half_life_s=None,
            elapsed_s=None,
            weight_kg=weight_kg,
            reference_time="stored as SUV",
        )
    if units != "BQML":
        raise SuvError(f"PET Units {units or 'missing'!r}: only BQML can be converted to SUV")
    if weight_kg is None or not 1.0 <= weight_kg <= 500.0:
        raise SuvError("PatientWeight missing or implausible")
    seq = ds.get("RadiopharmaceuticalInformationSequence")
    if not seq:
        raise SuvError("RadiopharmaceuticalInformationSequence missing")
    info = seq[0]
    dose = info.get("RadionuclideTotalDose")
    half_life = info.get("RadionuclideHalfLife")
    if dose in (None, "") or half_life in (None, "") or float(dose) <= 0 or float(half_life) <= 0:
        raise SuvError("RadionuclideTotalDose or RadionuclideHalfLife missing")
    dose_bq, half_life_s = float(dose), float(half_life)
    decay_correction = str(ds.get("DecayCorrection", "START") or "START").upper()
    if decay_correction == "ADMIN":
        decayed, elapsed, reference = dose_bq, 0.0, "administration (DecayCorrection ADMIN)"
    else:
        series_date = str(ds.get("SeriesDate", "") or ds.get("AcquisitionDate", "") or "")
        series_time = str(ds.get("SeriesTime", "") or "")
        acq_time = str(ds.get("AcquisitionTime", "") or "")
        ref_time, reference = series_time, "SeriesTime"
        if acq_time and series_time and _parse_time(acq_time) < _parse_time(series_time):
            # Some scanners rewrite SeriesTime after reconstruction; the earliest time is the scan.
            ref_time, reference = acq_time, "AcquisitionTime"
        if not series_date or not ref_time:
            raise SuvError("SeriesDate/SeriesTime missing")
        scan = _datetime(series_date, ref_time)
        start_dt = str(info.get("RadiopharmaceuticalStartDateTime", "") or "")
        if start_dt:
            injection = _datetime(start_dt[:8], start_dt[8:] or "000000")
        else:
            start_time = str(info.get("RadiopharmaceuticalStartTime", "") or "")
            if not start_time:
                raise SuvError("RadiopharmaceuticalStartTime missing")
            injection = _datetime(series_date, start_time)
            if injection > scan:
                injection -= dt.timedelta(days=1)  # injected before midnight
        elapsed = (scan - injection).total_seconds()
        if not 0 <= elapsed <= 24 * 3600:
            raise SuvError(f"implausible uptake time {elapsed:.0f} s")
        decayed = dose_bq * math.exp(-math.log(2) * elapsed / half_life_s)
    return SuvConversion(
        source="computed_from_activity",
        factor=weight_kg * 1000.0 / decayed,
        injected_dose_bq=dose_bq,
        decayed_dose_bq=decayed,
        half_life_s=half_life_s,
        elapsed_s=elapsed,
        weight_kg=weight_kg,
        reference_time=reference,
    )


def suv_conversion_for_file(path: str | os.PathLike[str]) -> SuvConversion:
    """:func:`suv_conversion` for the header of ``path`` (one instance of the series)."""
    return suv_conversion(read_dataset(path, stop_before_pixels=True))


def to_suv(volume: Volume, conversion: SuvConversion) -> Volume:
    """Return the PET volume in SUVbw (units ``SUVbw``); values already in SUV are kept.

    Raises:
        SuvError: the volume is not PET.
    """
    if volume.modality != "PT":
        raise SuvError(f"modality {volume.modality} is not PET")
    voxels = volume.voxels
    if conversion.source == "computed_from_activity":
        voxels = (voxels * np.float32(conversion.factor)).astype(np.float32)
    note = (
        "SUVbw as stored by the scanner (Units GML)"
        if conversion.source == "already_suv"
        else f"SUVbw computed here (dose decayed to {conversion.reference_time})"
    )
    return replace(volume, voxels=voxels, units="SUVbw", warnings=(*volume.warnings, note))
