"""Conditions: the primary cancer, secondary (metastatic) cancers, and comorbidities."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from oncology_ui.clinical.parsers.fhir.concepts import display, joined_displays, profiles, when
from oncology_ui.clinical.parsers.fhir.records import Extraction, coded_fact
from oncology_ui.clinical.parsers.fhir.validation import CheckedResource

if TYPE_CHECKING:
    from fhir.resources.R4B.condition import Condition

HISTOLOGY_EXTENSION = "histology-morphology-behavior"
_SECONDARY = re.compile(r"(?i)secondary|metasta")
_CANCER = re.compile(r"(?i)neoplasm|cancer|carcinoma|sarcoma|lymphoma|leuk")


def condition_fact(run: Extraction, checked: CheckedResource) -> None:
    """Add the condition, its kind told by its mCODE profile or else by its name."""
    condition: Condition = checked.model
    shown = display(condition.code)
    declared = profiles(condition)
    if "secondary-cancer-condition" in declared or _SECONDARY.search(shown):
        kind = "secondary_cancer"
    elif "primary-cancer-condition" in declared or _CANCER.search(shown):
        kind = "primary_cancer"
    else:
        kind = "comorbidity"
    histology = ""
    for extension in condition.extension or []:
        if str(extension.url or "").endswith(HISTOLOGY_EXTENSION):
            histology = display(extension.valueCodeableConcept)
    stages = [display(stage.summary) for stage in condition.stage or []]
    run.contents.facts.append(
        coded_fact(
            condition,
            kind,
            condition.code,
            start=when(condition, "onsetDateTime", "onsetPeriod", "recordedDate")[0],
            detail={
                "histology": histology[:200],
                "body_site": joined_displays(condition.bodySite),
                "clinical_status": display(condition.clinicalStatus),
                "stage": [s[:60] for s in stages if s],
            },
        )
    )
