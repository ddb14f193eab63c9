"""What a bundle import produces (plain records, no FHIR models) and what its extractors share."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from oncology_ui.clinical.parsers.biomarkers import BiomarkerRecord
from oncology_ui.clinical.parsers.fhir.concepts import display, first_coding, source
from oncology_ui.clinical.parsers.labs import LabRecord
from oncology_ui.clinical.parsers.variants.records import VariantRecord

if TYPE_CHECKING:
    from fhir.resources.R4B.codeableconcept import CodeableConcept
    from fhir.resources.R4B.resource import Resource

    from oncology_ui.clinical.parsers import ProblemLog
    from oncology_ui.clinical.parsers.catalogue import Catalogue
    from oncology_ui.clinical.parsers.fhir.bundle import BundleIndex
    from oncology_ui.clinical.parsers.labs import PatientContext

_Date = date


@dataclass
class FactRecord:
    """A clinical fact that is not a lab value, biomarker or variant."""

    source_ref: str
    source_key: str
    kind: str
    display: str
    code_system: str = ""
    code: str = ""
    value_text: str = ""
    value_number: float | None = None
    date: _Date | None = None
    end_date: _Date | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def coded_fact(
    resource: Resource,
    kind: str,
    concept: CodeableConcept | None,
    *,
    start: _Date | None,
    end: _Date | None = None,
    value_text: str = "",
    detail: dict[str, Any],
) -> FactRecord:
    """A fact named by a coded concept (a condition, a medication, a procedure)."""
    ident, key = source(resource)
    system, code = first_coding(concept)
    return FactRecord(
        ident,
        key,
        kind,
        display(concept)[:200],
        code_system=system[:100],
        code=code[:40],
        value_text=value_text,
        date=start,
        end_date=end,
        detail=detail,
    )


@dataclass
class BundleContents:
    patient: dict[str, str]
    facts: list[FactRecord] = field(default_factory=list)
    labs: list[LabRecord] = field(default_factory=list)
    biomarkers: list[BiomarkerRecord] = field(default_factory=list)
    variants: list[VariantRecord] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, resource_type: str) -> None:
        """Count a resource read but not kept (the import summary lists these per type)."""
        self.skipped[resource_type] = self.skipped.get(resource_type, 0) + 1


@dataclass
class Extraction:
    """What every extractor works with: the bundle it reads and the records and log it writes."""

    bundle: BundleIndex
    contents: BundleContents
    log: ProblemLog
    catalogue: Catalogue
    context: PatientContext
