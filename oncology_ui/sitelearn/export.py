"""The site training table: the site's cases with recorded outcomes, de-identified.

One row per case in the schema the training commands read (the portrait vocabulary, as the
harmonised public cohorts of ``inference.training.portrait_cohorts``, plus ``time_months`` and
``event``; ``inference.training.tables`` reads it by path). No names, MRNs or dates: ids are
keyed pseudonyms (HMAC-SHA-256 with ``SITE_PSEUDONYM_KEY``), time is in days relative to the
export's earliest diagnosis, ages of 90 and over are written as 90. Observed survival is the
outcomes page's own derivation (:func:`oncology_ui.boards.selectors.observed_follow_up`):
from diagnosis to death, else to last contact.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from django.conf import settings
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from inference.portrait.routing import PORTRAIT_TYPE_OF
from inference.portrait.vocabulary import FEATURE_NAMES
from oncology_ui.analysis.portrait_inputs import case_portrait
from oncology_ui.boards.selectors import observed_follow_up
from oncology_ui.core.audit import audit_patients, audit_record
from oncology_ui.core.models import AccessLog
from oncology_ui.patients.models import Case

DAYS_PER_MONTH = 365.25 / 12.0
AGE_CAP = 90
DICTIONARY_NAME = "data_dictionary.md"
TABLE_NAME = "site_training_table.csv"
SHIPPED_DICTIONARY = Path(settings.BASE_DIR) / "docs" / "site_training_table.md"

#: Columns before the portrait vocabulary, with their meaning (the data dictionary's first part).
LEADING_COLUMNS: tuple[tuple[str, str], ...] = (
    ("pseudo_id", "case pseudonym: HMAC-SHA-256 of the case number keyed with the site secret, "
     "first 16 hex digits; the same case gets the same id in every export with the same key"),
    ("patient_pseudo_id", "patient pseudonym, keyed the same way (cases of one patient share it)"),
    ("cohort", "always `site`"),
    ("cancer_type", "OncoTree code of the case"),
    ("diagnosis_day", "days from the earliest diagnosis in this export to this case's (orders "
     "cases in time for the temporal split; no calendar date is written)"),
    ("time_months", "months from diagnosis to death, else to last contact"),
    ("event", "1 = death recorded, 0 = alive at last contact (censored)"),
    ("stage_label", "AJCC stage group as recorded (text), blank if unstaged"),
    ("age_band", "age at diagnosis in 10-year bands (`90+` for 90 and over)"),
    ("sex", "female, male, other or unknown"),
)  # fmt: skip
_FEATURE_NOTES = {
    "age_years": "age at diagnosis in whole years; 90 and over written as 90",
}


@dataclass(frozen=True)
class SiteCase:
    """One case with its observed follow-up (the de-identified row is built from it)."""

    case: Case
    days: float
    died: bool


@dataclass(frozen=True)
class TrainingTable:
    """An export written to disk."""

    path: Path
    dictionary: Path
    rows: int
    events: int


def pseudonym(kind: str, pk: int) -> str:
    """Keyed pseudonym of a row: stable under one key, unlinkable without it."""
    key = (
        settings.SITE_PSEUDONYM_KEY
        or hmac.new(
            settings.SECRET_KEY.encode(),
            b"oncoboard site training table pseudonyms",
            hashlib.sha256,
        ).hexdigest()
    )
    return hmac.new(key.encode(), f"{kind}:{pk}".encode(), hashlib.sha256).hexdigest()[:16]


def site_outcome_cases(cases: QuerySet[Case] | None = None) -> list[SiteCase]:
    """Cases whose patient has a recorded outcome (death, or last contact after diagnosis).

    Args:
        cases: restrict to these (default: every case of the site's real patients).
    """
    base = cases if cases is not None else Case.objects.filter(patient__is_demo=False)
    rows = (
        base.select_related("patient")
        .filter(
            Q(patient__date_of_death__isnull=False) | Q(patient__last_contact_date__isnull=False)
        )
        .order_by("diagnosis_date", "pk")
    )
    out = []
    for case in rows:
        days, died = observed_follow_up(case.patient, case.diagnosis_date)
        if died or days > 0:
            out.append(SiteCase(case=case, days=days, died=died))
    return out


def _age_band(age: int) -> str:
    if age >= AGE_CAP:
        return f"{AGE_CAP}+"
    low = (age // 10) * 10
    return f"{low}-{low + 9}"


def training_row(site: SiteCase, first_diagnosis: date) -> dict[str, object]:
    """The de-identified row of one case."""
    case = site.case
    code = case.oncotree_code.strip().upper()
    values = case_portrait(case, portrait_type=PORTRAIT_TYPE_OF.get(code))["values"]
    age = case.age_at_diagnosis
    row: dict[str, object] = {
        "pseudo_id": pseudonym("case", case.pk),
        "patient_pseudo_id": pseudonym("patient", case.patient_id),
        "cohort": "site",
        "cancer_type": code,
        "diagnosis_day": (case.diagnosis_date - first_diagnosis).days,
        "time_months": round(max(site.days, 0.5) / DAYS_PER_MONTH, 3),
        "event": int(site.died),
        "stage_label": case.stage_group,
        "age_band": _age_band(age),
        "sex": case.patient.sex or "unknown",
    }
    for name in FEATURE_NAMES:
        value = values.get(name)
        if name == "age_years" and value is not None:
            value = float(min(value, AGE_CAP))
        row[name] = "" if value is None or not math.isfinite(value) else value
    return row


def columns() -> list[str]:
    return [name for name, _ in LEADING_COLUMNS] + list(FEATURE_NAMES)


def data_dictionary() -> str:
    """The data dictionary (shipped as docs/site_training_table.md and written beside exports)."""
    lines = [
        "# Site training table: data dictionary",
        "",
        'Written by `manage.py export_training_table` and the admin action "Export as a '
        'de-identified training table" (`oncology_ui/sitelearn/export.py`), one row per case whose '
        "patient has a recorded outcome (a death, or a last contact after diagnosis). Read by "
        "`python -m inference.training.recalibrate --table` and by `python -m "
        "inference.training.evaluate --table` / `train --table` (`inference/training/tables.py`).",
        "",
        "De-identification: no names, MRNs, addresses or calendar dates; ids are keyed pseudonyms "
        "(`SITE_PSEUDONYM_KEY`, or a key derived from `SECRET_KEY` when it is unset); times are "
        "relative; ages of 90 and over are written as 90. Every export is in the access log, one "
        "row per patient. A pseudonymised table is still personal data: keep it inside the site.",
        "",
        "| column | meaning |",
        "|---|---|",
    ]
    lines += [f"| `{name}` | {meaning} |" for name, meaning in LEADING_COLUMNS]
    lines += [
        f"| `{name}` | {_FEATURE_NOTES.get(name, 'portrait vocabulary field')} "
        "(`inference/portrait/vocabulary.py`; empty = not recorded, masked by the models) |"
        for name in FEATURE_NAMES
    ]
    return "\n".join(lines) + "\n"


def training_table_export(
    *,
    out_dir: Path,
    request: HttpRequest | None,
    cases: QuerySet[Case] | None = None,
    username: str = "",
) -> TrainingTable:
    """Write the table and its data dictionary into ``out_dir`` and audit the export.

    Args:
        out_dir: folder to write into (created).
        request: the request (admin action) or None (management command).
        cases: restrict to these cases.
        username: who ran a command (recorded in the audit rows without a request).
    """
    site = site_outcome_cases(cases)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / TABLE_NAME
    first = min((s.case.diagnosis_date for s in site), default=date.today())
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns())
        writer.writeheader()
        for item in site:
            writer.writerow(training_row(item, first))
    dictionary = out_dir / DICTIONARY_NAME
    dictionary.write_text(data_dictionary())
    _audit(request, [s.case.patient_id for s in site], len(site), username)
    return TrainingTable(
        path=path, dictionary=dictionary, rows=len(site), events=sum(s.died for s in site)
    )


def _audit(request: HttpRequest | None, patients: Iterable[int], rows: int, username: str) -> None:
    ref = f"site-training-table:{rows} cases"
    if request is not None:
        audit_patients(
            request=request, action=AccessLog.Action.EXPORT, category="site-training-table",
            patient_ids=patients, object_ref=ref,
        )  # fmt: skip
        return
    for patient_id in dict.fromkeys(patients):
        audit_record(
            request=None, action=AccessLog.Action.EXPORT, category="site-training-table",
            patient_id=patient_id, object_ref=ref, username=username,
        )  # fmt: skip
