"""Factories for the trial tests: real trial records through the real import, and patient facts.

Trials are never built as rows with hand-written criteria: :func:`import_trials` sends
TrialRecords through the import service, so the criteria on the row are what the parser made.
"""

from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone

from inference.trials.schema import TrialRecord
from oncology_ui.patients.models import Case, TimelineEvent
from oncology_ui.trials.imports import ReadOutcome, trial_corpus_import_records
from oncology_ui.trials.index import trial_index_reset
from oncology_ui.trials.models import Trial, TrialCorpusImport, WorkListEntry
from tests.factories import CaseFactory
from tests.oncology_ui.therapies import factories as clinical_factories

BREAST_CRITERIA = """Inclusion Criteria:
- Histologically confirmed invasive breast cancer
- ECOG performance status 0-1
- Total bilirubin <= 1.5 x upper limit of normal (ULN)
- Absolute neutrophil count >= 1.5 x 10^9/L
- No known EGFR mutation

Exclusion Criteria:
- HER2-positive disease
- Known untreated brain metastases
* Pacientes embarazadas o en período de lactancia
"""

LUNG_CRITERIA = """Inclusion Criteria:
- Non-small cell lung cancer with an activating EGFR mutation
- ECOG performance status 0-2

Exclusion Criteria:
- Prior treatment with an EGFR tyrosine kinase inhibitor
"""


def trial_record(nct_id: str = "NCT90000001", **fields: object) -> TrialRecord:
    values: dict[str, object] = {
        "title": "Palbociclib and letrozole for HER2-negative advanced breast cancer",
        "summary": "A phase 2 study in hormone receptor positive, HER2-negative breast cancer.",
        "conditions": ("Breast Cancer",),
        "interventions": ("Palbociclib", "Letrozole"),
        "phase": "Phase 2",
        "status": "recruiting",
        "min_age_years": 18.0,
        "max_age_years": 75.0,
        "sex": "all",
        "eligibility_text": BREAST_CRITERIA,
        "source": "test",
    }
    values.update(fields)
    return TrialRecord(nct_id=nct_id, **values)  # type: ignore[arg-type]


def lung_record(nct_id: str = "NCT90000002") -> TrialRecord:
    return trial_record(
        nct_id,
        title="Osimertinib in EGFR-mutant non-small cell lung cancer",
        summary="Phase 3 study of osimertinib in EGFR mutated lung adenocarcinoma.",
        conditions=("Non-small Cell Lung Cancer",),
        interventions=("Osimertinib",),
        phase="Phase 3",
        eligibility_text=LUNG_CRITERIA,
    )


def import_trials(*records: TrialRecord) -> TrialCorpusImport:
    """Import records through the real service (BM25 only: tests do not load MiniLM)."""
    record = TrialCorpusImport.objects.create(
        source=TrialCorpusImport.Source.COMMAND, original_name="test records"
    )
    trial_index_reset()
    return trial_corpus_import_records(record=record, outcome=ReadOutcome(tuple(records), ()))


def trial(nct_id: str = "NCT90000001", **fields: object) -> Trial:
    import_trials(trial_record(nct_id, **fields))
    return Trial.objects.get(nct_id=nct_id)


def recent(days: int = 3) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)


class LabResultFactory(clinical_factories.LabResultFactory):
    """Total bilirubin of 10 umol/L (upper limit 21), three days old, on a case of its own."""

    case = factory.SubFactory(CaseFactory)
    analyte_key = "bilirubin"
    category = "cmp"
    value = 10.0
    unit_original = "umol/L"
    collected_at = factory.LazyFunction(recent)


class BiomarkerFactory(clinical_factories.BiomarkerFactory):
    """HER2 negative by IHC (1+), twenty days old, on a case of its own."""

    case = factory.SubFactory(CaseFactory)
    name = "HER2"
    value_text = "1+"
    status = "negative"
    # Dated from today, where the therapy factory's date is fixed: the trial facts carry the date.
    measured_on = factory.LazyFunction(  # type: ignore[assignment]
        lambda: timezone.localdate() - dt.timedelta(days=20)
    )


class VariantFactory(clinical_factories.VariantFactory):
    """EGFR L858R, reported a month ago, on a case of its own."""

    case = factory.SubFactory(CaseFactory)
    protein_short = "L858R"
    reported_on = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=30))


class WorkListEntryFactory(factory.django.DjangoModelFactory[WorkListEntry]):
    class Meta:
        model = WorkListEntry

    trial = factory.LazyFunction(lambda: trial())
    case = factory.SubFactory(CaseFactory)


def fit_breast_case(case: Case) -> Case:
    """Give a breast case everything the breast trial asks for: it should be eligible."""
    today = timezone.localdate()
    case.ecog = 1
    case.ecog_date = today - dt.timedelta(days=5)
    case.save()
    LabResultFactory.create(case=case)  # bilirubin 10 umol/L, ULN 21
    # Name, unit and upper limit (7.5) from the catalogue.
    LabResultFactory.create(case=case, analyte_key="neutrophils", value=2.4, unit_original="10^9/L")
    BiomarkerFactory.create(case=case)  # HER2 negative
    TimelineEvent.objects.create(
        case=case,
        kind=TimelineEvent.Kind.SYSTEMIC_THERAPY,
        date=today - dt.timedelta(days=200),
        end_date=today - dt.timedelta(days=100),
        regimen="AC-T",
        line_number=1,
    )
    return case
