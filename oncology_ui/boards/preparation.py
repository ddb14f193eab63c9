"""The agenda's preparation checklist, read from the record.

Each item ticks itself when the record shows the work is done (histology recorded, a RECIST time
point measured, variants or biomarkers imported, a model run stored) and says why it is ticked or
not. The checklist is derived on every read, never stored: a stored tick goes stale the moment a
result arrives or a run fails, and keeping it fresh would need every other app to call into the
boards app. Reading it costs a fixed handful of queries per agenda, whatever its length.

The stored booleans of :class:`AgendaItem` remain as a hand confirmation, for preparation done
outside the record (slides reviewed at the referring hospital, scans read elsewhere); the reason
then says that the record does not show it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from oncology_ui.boards.models import AgendaItem

LABELS = {
    "pathology_reviewed": "Pathology reviewed",
    "imaging_reviewed": "Imaging reviewed",
    "molecular_in": "Molecular results in",
    "analysis_run": "Model analysis run",
}


@dataclass(frozen=True)
class CheckItem:
    """One line of the checklist: done from the record, by hand, or still open, and why."""

    name: str
    label: str
    in_record: bool
    by_hand: bool
    reason: str

    @property
    def done(self) -> bool:
        return self.in_record or self.by_hand

    @property
    def source(self) -> str:
        if self.in_record:
            return "record"
        return "hand" if self.by_hand else "open"


@dataclass(frozen=True)
class _Evidence:
    done: bool
    reason: str


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _pathology(case_ids: list[int], histology: dict[int, str]) -> dict[int, _Evidence]:
    from oncology_ui.pathology.models import Slide

    ready = Counter(
        Slide.objects.filter(case_id__in=case_ids, status=Slide.Status.READY).values_list(
            "case_id", flat=True
        )
    )
    out = {}
    for case_id in case_ids:
        slides = (
            f"; {_plural(ready[case_id], 'slide')} ready to view"
            if ready[case_id]
            else "; no slide uploaded"
        )
        text = histology[case_id].strip()
        out[case_id] = (
            _Evidence(True, f"Histology on record: {text}{slides}.")
            if text
            else _Evidence(False, f"No histology recorded on the case{slides}.")
        )
    return out


def _imaging(case_ids: list[int]) -> dict[int, _Evidence]:
    from oncology_ui.imaging.models import ImagingStudy, RecistAssessment

    latest: dict[int, RecistAssessment] = {}
    for row in RecistAssessment.objects.filter(case_id__in=case_ids).order_by("date", "id"):
        latest[row.case_id] = row
    studies = Counter(
        ImagingStudy.objects.filter(case_id__in=case_ids).values_list("case_id", flat=True)
    )
    out = {}
    for case_id in case_ids:
        assessment = latest.get(case_id)
        if assessment is not None:
            kind = "baseline" if assessment.is_baseline else f"response {assessment.overall}"
            out[case_id] = _Evidence(
                True,
                f"RECIST 1.1 time point of {assessment.date:%Y-%m-%d} measured ({kind}, sum of "
                f"diameters {assessment.sum_of_diameters_mm:.0f} mm).",
            )
        elif studies[case_id]:
            out[case_id] = _Evidence(
                False, f"{_plural(studies[case_id], 'study')} stored, no RECIST time point yet."
            )
        else:
            out[case_id] = _Evidence(False, "No imaging study in the record.")
    return out


def _molecular(case_ids: list[int]) -> dict[int, _Evidence]:
    from oncology_ui.clinical.models import Biomarker, ClinicalImport, Variant

    variants = Counter(
        Variant.objects.filter(case_id__in=case_ids).values_list("case_id", flat=True)
    )
    markers: dict[int, list[str]] = defaultdict(list)
    for case_id, name, status in Biomarker.objects.filter(case_id__in=case_ids).values_list(
        "case_id", "name", "status"
    ):
        markers[case_id].append(f"{name} {status}".strip())
    pending = set(
        ClinicalImport.objects.filter(
            case_id__in=case_ids,
            status=ClinicalImport.Status.RECEIVED,
            kind__in=[
                ClinicalImport.Kind.VCF,
                ClinicalImport.Kind.MAF,
                ClinicalImport.Kind.VARIANT_CSV,
                ClinicalImport.Kind.FHIR,
            ],
        ).values_list("case_id", flat=True)
    )
    out = {}
    for case_id in case_ids:
        parts = []
        if variants[case_id]:
            parts.append(_plural(variants[case_id], "variant"))
        if markers[case_id]:
            parts.append(", ".join(sorted(dict.fromkeys(markers[case_id]))))
        if parts:
            out[case_id] = _Evidence(True, f"In the record: {'; '.join(parts)}.")
        elif case_id in pending:
            out[case_id] = _Evidence(False, "A molecular import is still being processed.")
        else:
            out[case_id] = _Evidence(False, "No variant or biomarker recorded.")
    return out


def _analysis(case_ids: list[int]) -> dict[int, _Evidence]:
    from oncology_ui.analysis.models import AnalysisRun, Prediction
    from oncology_ui.core.models import Job

    runs: dict[int, AnalysisRun] = {}
    for row in (
        AnalysisRun.objects.filter(case_id__in=case_ids)
        .select_related("job")
        .order_by("created_at", "id")
    ):
        runs[row.case_id] = row
    predictions: dict[int, Prediction] = {}
    for stored in Prediction.objects.filter(case_id__in=case_ids).order_by("created_at", "id"):
        predictions[stored.case_id] = stored
    out = {}
    for case_id in case_ids:
        prediction = predictions.get(case_id)
        run = runs.get(case_id)
        # A later run still going (or failed) is said beside the stored prediction.
        later = (
            run if run is not None and (prediction is None or run.pk != prediction.run_id) else None
        )
        note = ""
        if later is not None and later.job is not None:
            if later.job.status == Job.Status.FAILED:
                note = f" A later run failed: {later.job.message or 'no message'}."
            elif later.job.status in (Job.Status.QUEUED, Job.Status.RUNNING):
                note = " A newer run is in progress."
        if prediction is not None:
            model = f"{prediction.model_name} {prediction.model_version}"
            day = f"{prediction.created_at:%Y-%m-%d}"
            if prediction.status == Prediction.Status.OK:
                text = f"Model {model} run on {day}."
            else:
                text = f"Model {model} run on {day}; it abstained."
            out[case_id] = _Evidence(True, text + note)
        elif note:
            out[case_id] = _Evidence(False, note.strip())
        else:
            out[case_id] = _Evidence(False, "No model analysis stored for this case.")
    return out


def agenda_preparation(items: Iterable[AgendaItem]) -> dict[int, list[CheckItem]]:
    """The checklist of each agenda item, keyed by item id, in a fixed number of queries.

    Each item also keeps its checklist (``item.preparation`` then reads it without a query).
    """
    items = list(items)
    case_ids = list(dict.fromkeys(item.case_id for item in items))
    if not case_ids:
        return {}
    from oncology_ui.patients.models import Case

    histology = dict(Case.objects.filter(pk__in=case_ids).values_list("pk", "histology"))
    evidence = {
        "pathology_reviewed": _pathology(case_ids, histology),
        "imaging_reviewed": _imaging(case_ids),
        "molecular_in": _molecular(case_ids),
        "analysis_run": _analysis(case_ids),
    }
    out: dict[int, list[CheckItem]] = {}
    for item in items:
        checks = []
        for name in item.CHECKLIST:
            found = evidence[name][item.case_id]
            by_hand = bool(getattr(item, name))
            reason = found.reason
            if by_hand and not found.done:
                reason = f"Confirmed by hand; not shown in the record: {reason}"
            checks.append(CheckItem(name, LABELS[name], found.done, by_hand, reason))
        out[item.pk] = checks
        item.preparation_cache = checks
    return out
