"""The Observation in hand: what every observation extractor reads about it."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from oncology_ui.clinical.parsers.fhir.concepts import (
    display,
    loinc_codes,
    profiles,
    source,
    when,
)
from oncology_ui.clinical.parsers.fhir.records import FactRecord
from oncology_ui.clinical.parsers.fhir.validation import CheckedResource

if TYPE_CHECKING:
    from fhir.resources.R4B.observation import Observation


class Observed:
    """What every observation extractor needs to know about the observation in hand."""

    def __init__(self, checked: CheckedResource) -> None:
        self.resource: Observation = checked.model
        self.values = checked.values
        self.ident, self.key = source(self.resource)
        self.codes = loinc_codes(self.resource.code)
        self.profiles = profiles(self.resource)
        self.display = display(self.resource.code)
        self.when: date | None = when(
            self.resource, "effectiveDateTime", "effectivePeriod", "issued"
        )[0]

    def fact(
        self,
        kind: str,
        *,
        value_text: str = "",
        detail: dict[str, Any] | None = None,
        shown: str = "",
        code: str = "",
        value_number: float | None = None,
    ) -> FactRecord:
        """A fact dated and sourced from this observation, shown by its code's display."""
        return FactRecord(
            self.ident,
            self.key,
            kind,
            shown or self.display[:200],
            code=code,
            value_text=value_text,
            value_number=value_number,
            date=self.when,
            detail=detail or {},
        )
