"""De-identification after DICOM PS3.15 Annex E, Basic Application Level Confidentiality Profile.

The attribute actions come from ``data/ps315_table_e1_1_basic_profile.tsv`` (Table E.1-1, Basic
Profile column). How each action is carried out here:

* ``D`` dummy value of the element's VR (the pseudonym for names and IDs), ``Z`` empty value,
  ``X`` removal, ``K`` keep, ``U`` consistent UID replacement; ``C`` (clean) is only used by options
  we do not implement, so it removes.
* Compound actions, which in the standard depend on the attribute's type in the IOD: ``Z/D`` -> D,
  ``X/Z`` -> Z, ``X/D`` -> X, ``X/Z/D`` -> Z, ``X/Z/U*`` -> keep the sequence but de-identify its
  items (their UIDs are replaced, so references stay valid).
* Dates: with ``dates="shift"`` (Retain Longitudinal Temporal Information with Modified Dates,
  113107) every DA and the date part of every DT, in or outside the table, moves back by a
  per-patient number of days, and times of day are kept, so intervals (PET uptake time, follow-up)
  survive; with ``dates="keep"`` (Full Dates, 113106) dates and times are kept.
* Patient characteristics (age, sex, size, weight) are kept (Retain Patient Characteristics,
  113108) because SUV needs the weight.
* Every UID that is not a well-known DICOM UID (root ``1.2.840.10008``), anywhere in the dataset
  including sequences, is replaced by ``HMAC-SHA256(patient secret, UID)`` under the UID root: the
  same UID maps to the same new UID within a patient and differently for another patient's secret.
* All private elements, overlays, curves, the file meta source AE title and every even-group
  element that the DICOM data dictionary does not know, or whose VR contradicts the dictionary, is
  removed; person names (PN) outside the table are emptied too.

Pixels are not inspected: images that may carry burned-in text (BurnedInAnnotation YES, or modality
US/SC/OT, or a secondary-capture SOP class) come back with ``needs_pixel_review`` for quarantine.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import os
import re
import struct
from collections.abc import Callable
from collections.abc import Sequence as SequenceOf
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pydicom
from pydicom.datadict import get_entry
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import UID

from inference.imaging.dicom_format import DicomFileError
from inference.imaging.dicom_read import read_dataset
from inference.imaging.sandbox import run_sandboxed
from inference.imaging.schema import DeidOptions, DeidResult, FileProblem, SandboxLimits

logger = logging.getLogger(__name__)

TABLE_PATH = Path(__file__).parent / "data" / "ps315_table_e1_1_basic_profile.tsv"
WELL_KNOWN_UID_ROOT = "1.2.840.10008."
_UID_RE = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$")
_PATIENT_CHARACTERISTICS = {0x00101010, 0x00100040, 0x00101020, 0x00101030}
_REVIEW_MODALITIES = {"US", "SC", "OT"}
_SECONDARY_CAPTURE_PREFIX = "1.2.840.10008.5.1.4.1.1.7"
_METHOD_CODES = {
    "113100": "Basic Application Confidentiality Profile",
    "113106": "Retain Longitudinal Temporal Information Full Dates Option",
    "113107": "Retain Longitudinal Temporal Information Modified Dates Option",
    "113108": "Retain Patient Characteristics Option",
}
DEFAULT_LIMITS = SandboxLimits(memory_bytes=4 * 1024**3, cpu_seconds=300, wall_seconds=600)
_NUMERIC_VRS = {"DS", "IS", "FL", "FD", "SL", "SS", "UL", "US", "SV", "UV"}


@dataclass(frozen=True)
class ProfileRule:
    """One row of Table E.1-1."""

    tag: str
    keyword: str
    action: str


@lru_cache(maxsize=1)
def load_profile() -> tuple[dict[int, str], tuple[ProfileRule, ...]]:
    """Read Table E.1-1 (Basic Profile column).

    Returns:
        (exact tag -> action, all rules including repeating-group masks such as ``60xx,3000``).
    """
    exact: dict[int, str] = {}
    rules: list[ProfileRule] = []
    for line in TABLE_PATH.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#") or line.startswith("tag\t"):
            continue
        tag, keyword, _name, _vr, action = line.split("\t")
        rules.append(ProfileRule(tag=tag, keyword=keyword, action=action))
        if "x" not in tag:
            exact[int(tag.replace(",", ""), 16)] = action
    return exact, tuple(rules)


def _masked_action(tag: int) -> str | None:
    group, elem = tag >> 16, tag & 0xFFFF
    if group & 0xFF00 == 0x5000 and group & 1 == 0:
        return "X"  # curves, 50xx,xxxx
    if group & 0xFF00 == 0x6000 and group & 1 == 0 and elem in (0x3000, 0x4000):
        return "X"  # overlay data and comments, 60xx,3000 / 60xx,4000
    return None


@lru_cache(maxsize=4096)
def _is_known_public(tag: int) -> bool:
    try:
        get_entry(tag)
    except KeyError:
        return False
    return True


def _vr_matches_dictionary(tag: int, vr: str) -> bool:
    try:
        expected = str(get_entry(tag)[0])
    except KeyError:
        return False
    if vr in ("UN", "") or expected in ("NONE", ""):
        return True
    return vr in {v.strip() for v in expected.split(" or ")}


def remap_uid(old: str, secret: bytes, root: str) -> str:
    """Return the replacement for ``old``: deterministic per secret, <= 64 chars, under ``root``.

    Args:
        old: the original UID.
        secret: the per-patient secret.
        root: the UID root (``2.25`` takes a 128-bit decimal as in PS3.5 B.2).

    Returns:
        The new UID.
    """
    digest = hmac.new(secret, old.strip().encode("ascii", "replace"), hashlib.sha256).digest()
    number = int.from_bytes(digest[:16], "big")
    room = 64 - len(root) - 1
    if room < 8:
        raise ValueError(f"UID root {root!r} is too long")
    suffix = str(number % (10**room)) if len(str(number)) > room else str(number)
    suffix = str(int(suffix)) if suffix != "0" else "1"
    return f"{root}.{suffix}"


def date_offset_days(secret: bytes, max_shift_days: int) -> int:
    """Per-patient number of days (1..max_shift_days) by which dates move back."""
    digest = hmac.new(secret, b"oncoboard-date-offset", hashlib.sha256).digest()
    return 1 + int.from_bytes(digest[:8], "big") % max(1, max_shift_days)


def _shift_da(value: str, days: int) -> str:
    text = value.strip()
    if len(text) < 8 or not text[:8].isdigit():
        return ""
    try:
        day = dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return ""
    return (day - dt.timedelta(days=days)).strftime("%Y%m%d")


def _shift_dt(value: str, days: int) -> str:
    text = value.strip()
    shifted = _shift_da(text[:8], days)
    return shifted + text[8:] if shifted else ""


class _Deidentifier:
    def __init__(self, options: DeidOptions) -> None:
        if len(options.patient_secret) < 16:
            raise ValueError("patient_secret must be at least 16 bytes")
        if not _UID_RE.match(options.uid_root) or len(options.uid_root) > 30:
            raise ValueError(f"invalid UID root {options.uid_root!r}")
        self.options = options
        self.exact, _ = load_profile()
        self.days = date_offset_days(options.patient_secret, options.max_shift_days)
        self.actions_applied = 0

    def uid(self, value: str) -> str:
        text = str(value).strip()
        if text.startswith(WELL_KNOWN_UID_ROOT) or not text:
            return text
        return remap_uid(text, self.options.patient_secret, self.options.uid_root)

    def date_value(self, elem: DataElement) -> object:
        """Shifted (or kept) value of a DA/DT element, or None when it cannot be parsed."""
        if self.options.dates == "keep":
            return elem.value
        shift: Callable[[str, int], str] = _shift_da if elem.VR == "DA" else _shift_dt
        values = (
            elem.value
            if isinstance(elem.value, list | pydicom.multival.MultiValue)
            else [elem.value]
        )
        shifted = [shift(str(v), self.days) for v in values if v not in (None, "")]
        if not shifted:
            return ""
        return shifted if len(shifted) > 1 else shifted[0]

    def dummy(self, elem: DataElement) -> object:
        if elem.VR in ("DA", "DT"):
            return self.date_value(elem)
        if elem.VR == "TM":
            # Whole-day shifts keep the time of day; uptake intervals depend on it.
            return elem.value
        if elem.VR == "UI":
            return self._map_uids(elem.value)
        if elem.VR in _NUMERIC_VRS:
            return 0
        if elem.VR == "PN" or elem.tag == 0x00100020:
            return self.options.pseudonym
        if elem.VR in ("OB", "OW", "UN", "OD", "OF", "OL", "OV"):
            return b"\x00\x00"
        if elem.VR == "SQ":
            return Sequence()
        return "ANON"

    def _map_uids(self, value: object) -> object:
        if isinstance(value, list | pydicom.multival.MultiValue):
            return [self.uid(str(v)) for v in value]
        return self.uid(str(value)) if value not in (None, "") else value

    def apply(self, ds: Dataset) -> None:
        for tag in list(ds.keys()):
            elem = ds[tag]
            action = self.exact.get(int(tag)) or _masked_action(int(tag))
            if action is None and not _is_known_public(int(tag)):
                # An even-group tag that no dictionary knows can hold anything: remove it rather
                # than trust that the Basic Profile's list covers it.
                del ds[tag]
                self.actions_applied += 1
                continue
            if action is None and not _vr_matches_dictionary(int(tag), str(elem.VR)):
                # A VR that contradicts the dictionary means the element is not what its tag
                # says (e.g. a damaged tag); its content is unknown, so it goes.
                del ds[tag]
                self.actions_applied += 1
                continue
            if action is None:
                self._default(ds, elem)
                continue
            self.actions_applied += 1
            self._act(ds, elem, action)

    def _default(self, ds: Dataset, elem: DataElement) -> None:
        """Attributes outside the table are kept, with UIDs remapped and dates shifted."""
        if elem.VR == "SQ":
            for item in elem.value:
                self.apply(item)
        elif elem.VR == "UI":
            elem.value = self._map_uids(elem.value)
        elif elem.VR in ("DA", "DT") and elem.value not in (None, ""):
            elem.value = self.date_value(elem)
        elif elem.VR == "PN" and elem.value not in (None, ""):
            # A person's name is identifying wherever it appears, listed in the table or not.
            elem.value = ""
            self.actions_applied += 1

    def _act(self, ds: Dataset, elem: DataElement, action: str) -> None:
        tag = int(elem.tag)
        if tag in _PATIENT_CHARACTERISTICS:
            return
        is_date = elem.VR in ("DA", "DT", "TM")
        if is_date and action in ("D", "Z", "X", "Z/D", "X/Z", "X/D", "X/Z/D"):
            # Retain Longitudinal Temporal Information: dates move (or stay), never vanish.
            elem.value = self.dummy(elem)
            return
        if action == "U":
            elem.value = self._map_uids(elem.value)
        elif action == "X/Z/U*":
            if elem.VR == "SQ":
                for item in elem.value:
                    self.apply(item)
            elif elem.VR == "UI":
                elem.value = self._map_uids(elem.value)
            else:
                elem.value = self._empty(elem)
        elif action in ("D", "Z/D"):
            elem.value = self.dummy(elem)
        elif action in ("Z", "X/Z", "X/Z/D"):
            elem.value = self._empty(elem)
        elif action == "K":
            self._default(ds, elem)
        else:  # X, X/D, C
            del ds[elem.tag]

    @staticmethod
    def _empty(elem: DataElement) -> object:
        if elem.VR == "SQ":
            return Sequence()
        if elem.VR in ("OB", "OW", "UN", "OD", "OF", "OL", "OV"):
            return b""
        return None if elem.VR in _NUMERIC_VRS or elem.VR == "AT" else ""


def _count_private(ds: Dataset) -> int:
    count = 0
    for elem in ds.iterall():
        if elem.tag.is_private:
            count += 1
    return count


def pixel_review_reason(ds: Dataset) -> str:
    """Why pixels may hold burned-in identifiers ("" when there is no reason to think so)."""
    if str(ds.get("BurnedInAnnotation", "")).upper() == "YES":
        return "BurnedInAnnotation is YES"
    modality = str(ds.get("Modality", "")).upper()
    if modality in _REVIEW_MODALITIES:
        return f"modality {modality} often carries burned-in text"
    if str(ds.get("SOPClassUID", "")).startswith(_SECONDARY_CAPTURE_PREFIX):
        return "secondary capture image"
    return ""


def deidentify_dataset(ds: Dataset, options: DeidOptions) -> tuple[Dataset, DeidResult]:
    """De-identify ``ds`` in place.

    Args:
        ds: a dataset read by :func:`inference.imaging.dicom_read.read_dataset`.
        options: secret, UID root and date option.

    Returns:
        The same dataset and a result (``output_path`` empty: nothing was written).
    """
    worker = _Deidentifier(options)
    review = pixel_review_reason(ds)
    private = _count_private(ds)
    ds.remove_private_tags()
    for misplaced in ds.group_dataset(0x0002):
        del ds[misplaced.tag]  # file meta elements misplaced in the data set (malformed input)
    worker.apply(ds)
    ds.PatientName = options.pseudonym
    ds.PatientID = options.pseudonym
    ds.PatientIdentityRemoved = "YES"
    codes = ["113100", "113108"]
    codes.append("113107" if options.dates == "shift" else "113106")
    method = "PS3.15 E.1 Basic Profile; " + (
        "dates shifted" if options.dates == "shift" else "dates kept"
    )
    ds.DeidentificationMethod = method
    items = []
    for code in codes:
        item = Dataset()
        item.CodeValue = code
        item.CodingSchemeDesignator = "DCM"
        item.CodeMeaning = _METHOD_CODES[code]
        items.append(item)
    ds.DeidentificationMethodCodeSequence = Sequence(items)
    if options.dates == "shift":
        ds.LongitudinalTemporalInformationModified = "MODIFIED"
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        for tag in list(meta.keys()):
            if int(tag) in (0x00020016, 0x00020017, 0x00020018, 0x00020100, 0x00020102):
                del meta[tag]  # source/sending/receiving AE titles and private meta
        if "SOPInstanceUID" in ds:
            meta.MediaStorageSOPInstanceUID = UID(str(ds.SOPInstanceUID))
    result = DeidResult(
        output_path="",
        sop_instance_uid=str(ds.get("SOPInstanceUID", "")),
        needs_pixel_review=bool(review),
        review_reason=review,
        removed_private_tags=private,
        actions_applied=worker.actions_applied,
    )
    return ds, result


def deidentify_file(
    src: str | os.PathLike[str], out_dir: str | os.PathLike[str], options: DeidOptions
) -> DeidResult:
    """Read an untrusted DICOM file, de-identify it and write it as ``<new SOP UID>.dcm``.

    The output name is derived from the new UID only, so no original file name or identifier
    reaches the file system.

    Args:
        src: the input file.
        out_dir: folder for the output (created if needed).
        options: per-patient secret and choices.

    Returns:
        Where the file went and whether its pixels need a person's review before use.

    Raises:
        DicomFileError: the input could not be read.
    """
    ds = read_dataset(src, stop_before_pixels=False)
    ds, result = deidentify_dataset(ds, options)
    target_dir = Path(out_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / f"{result.sop_instance_uid or 'instance'}.dcm"
    try:
        ds.save_as(target, enforce_file_format=True)
    except (ValueError, TypeError, OverflowError, AttributeError, KeyError, struct.error) as exc:
        # pydicom refuses to write some malformed inputs (e.g. file meta without a syntax).
        target.unlink(missing_ok=True)
        raise DicomFileError(
            src, "invalid_value", f"cannot write the de-identified file ({exc})"
        ) from exc
    return DeidResult(
        output_path=str(target),
        sop_instance_uid=result.sop_instance_uid,
        needs_pixel_review=result.needs_pixel_review,
        review_reason=result.review_reason,
        removed_private_tags=result.removed_private_tags,
        actions_applied=result.actions_applied,
    )


def deidentify_files_in_process(
    paths: list[str], out_dir: str, options: DeidOptions
) -> tuple[tuple[DeidResult, ...], tuple[FileProblem, ...]]:
    """De-identify many files in this process; unreadable files become problems."""
    results: list[DeidResult] = []
    problems: list[FileProblem] = []
    for path in paths:
        try:
            results.append(deidentify_file(path, out_dir, options))
        except DicomFileError as exc:
            problems.append(FileProblem(path=exc.path, kind=exc.kind, message=str(exc)))
    return tuple(results), tuple(problems)


def deidentify_files(
    paths: SequenceOf[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    options: DeidOptions,
    limits: SandboxLimits | None = DEFAULT_LIMITS,
) -> tuple[tuple[DeidResult, ...], tuple[FileProblem, ...]]:
    """De-identify untrusted files into ``out_dir`` (named by new SOP Instance UID).

    Args:
        paths: the uploaded files.
        out_dir: destination folder.
        options: per-patient secret and choices.
        limits: sandbox limits; ``None`` runs in this process (trusted files only).

    Returns:
        (results, problems). Results with ``needs_pixel_review`` must be quarantined until a
        person has checked the pixels for burned-in identifiers.

    Raises:
        SandboxError: the sandboxed run failed as a whole (timeout, memory, crash).
    """
    names = [str(p) for p in paths]
    if limits is None:
        return deidentify_files_in_process(names, str(out_dir), options)
    result = run_sandboxed(
        "inference.imaging.deid:deidentify_files_in_process", (names, str(out_dir), options), limits
    )
    assert isinstance(result, tuple)
    return result
