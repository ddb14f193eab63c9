"""mCODE genomics: a genomic variant Observation becomes a variant; a region studied, its genes.

A variant's facts sit in its components, each named by a LOINC code (gene studied, amino-acid
change, DNA change, genomic position, origin, allele frequency, copy-number change).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from oncology_ui.clinical.parsers.fhir.concepts import codings, display, loinc_codes
from oncology_ui.clinical.parsers.fhir.observed import Observed
from oncology_ui.clinical.parsers.fhir.records import Extraction, FactRecord
from oncology_ui.clinical.parsers.genes import normalise_gene, normalise_protein_change
from oncology_ui.clinical.parsers.variants.normalise import normalise_chromosome
from oncology_ui.clinical.parsers.variants.records import VariantRecord

if TYPE_CHECKING:
    from fhir.resources.R4B.codeableconcept import CodeableConcept
    from fhir.resources.R4B.observation import ObservationComponent

GENETIC_VARIANT = {"69548-6"}
REGION_STUDIED = {"53041-0"}
GENE_STUDIED = "48018-6"
VARIANT_ABSENT = "LA9634-2"
#: HGNC ids of genes the mCODE examples name by id only; others fall back to the coding's display.
HGNC_SYMBOLS = {
    "HGNC:1097": "BRAF",
    "HGNC:1100": "BRCA1",
    "HGNC:1101": "BRCA2",
    "HGNC:3236": "EGFR",
    "HGNC:3430": "ERBB2",
    "HGNC:427": "ALK",
    "HGNC:6407": "KRAS",
    "HGNC:7989": "NRAS",
    "HGNC:8975": "PIK3CA",
    "HGNC:9588": "PTEN",
    "HGNC:11389": "STK11",
    "HGNC:11998": "TP53",
}
_GENOMIC_HGVS = re.compile(r"^NC_0+(\d{1,2})\.\d+:g\.(\d+)([ACGT]+)>([ACGT]+)$")


def is_genomic_variant(seen: Observed) -> bool:
    return bool(
        GENETIC_VARIANT & set(seen.codes)
        or "genetic-variant" in seen.profiles
        or "genomic-variant" in seen.profiles
    )


def is_region_studied(seen: Observed) -> bool:
    return bool(REGION_STUDIED & set(seen.codes) or "region-studied" in seen.profiles)


def region_studied_fact(seen: Observed) -> FactRecord:
    """The genes a panel looked at; a gene studied without a variant is wild type."""
    genes = [
        gene_of(c.valueCodeableConcept)
        for c in seen.resource.component or []
        if GENE_STUDIED in loinc_codes(c.code)
    ]
    return seen.fact(
        "genomic_region",
        shown=seen.display[:200] or "Genomic region studied",
        detail={"genes": sorted(g for g in genes if g)},
    )


def gene_of(concept: CodeableConcept | None) -> str:
    """The official symbol of a gene coding (an HGNC id, a symbol or a synonym), or empty."""
    for coding in codings(concept):
        code = str(coding.code or "")
        symbol = HGNC_SYMBOLS.get(code) or normalise_gene(str(coding.display or "") or code)
        if symbol:
            return symbol
    return normalise_gene(display(concept)) or ""


def variant_record(run: Extraction, seen: Observed) -> None:
    """Add the variant the Observation reports (a reported absence is only noted)."""
    if any(c.code == VARIANT_ABSENT for c in codings(seen.resource.valueCodeableConcept)):
        run.log.warn(seen.ident, "reports the variant as absent; not imported as a finding.")
        return
    record = VariantRecord(
        source_ref=seen.ident,
        source_key=seen.key,
        kind="mutation",
        gene="",
        gene_as_reported="",
        reported_on=seen.when,
    )
    for component in seen.resource.component or []:
        codes = loinc_codes(component.code)
        reader = next((read for code, read in _COMPONENT_READERS if code in codes), None)
        if reader is not None:
            reader(record, component, _component_text(component.valueCodeableConcept))
    if not record.gene:
        run.log.warn(seen.ident, "names no gene this importer can resolve; kept by position.")
    run.contents.variants.append(record)


def _component_text(concept: CodeableConcept | None) -> str:
    """A component's value as written: its first code, else its display."""
    return next((str(c.code) for c in codings(concept) if c.code), "") or display(concept)


def _gene(record: VariantRecord, component: ObservationComponent, text: str) -> None:
    record.gene = gene_of(component.valueCodeableConcept)
    record.gene_as_reported = text[:40]


def _amino_acid_change(record: VariantRecord, component: ObservationComponent, text: str) -> None:
    if text:
        change = normalise_protein_change(text)
        record.protein_short, record.protein_long = change.short, change.long


def _dna_change(record: VariantRecord, component: ObservationComponent, text: str) -> None:
    record.hgvs_c = text[:100]


def _genomic_change(record: VariantRecord, component: ObservationComponent, text: str) -> None:
    """``NC_000019.10:g.1171707G>A`` -> chr19, 1171707, G, A (other forms are not positions)."""
    match = _GENOMIC_HGVS.match(text)
    if match:
        number = int(match.group(1))
        record.chromosome = normalise_chromosome({23: "X", 24: "Y"}.get(number, str(number)))
        record.position = int(match.group(2))
        record.ref, record.alt = match.group(3), match.group(4)


def _origin(record: VariantRecord, component: ObservationComponent, text: str) -> None:
    origin = display(component.valueCodeableConcept).lower() + text
    record.origin = "germline" if "germline" in origin or "LA6683-2" in origin else "somatic"


def _allele_frequency(record: VariantRecord, component: ObservationComponent, text: str) -> None:
    """A fraction or a percentage (anything above 1 is read as a percentage)."""
    quantity = component.valueQuantity
    if quantity is not None and quantity.value is not None:
        fraction = float(quantity.value)
        record.vaf = fraction / 100 if fraction > 1 else fraction


def _copy_number(record: VariantRecord, component: ObservationComponent, text: str) -> None:
    shown = display(component.valueCodeableConcept).lower()
    record.kind = "copy_number"
    record.copy_number_level = (
        2 if "amplif" in shown else 1 if "gain" in shown else -2 if "deletion" in shown else -1
    )


#: Component LOINC codes and their readers, in the order they are tried.
_COMPONENT_READERS: tuple[
    tuple[str, Callable[[VariantRecord, ObservationComponent, str], None]], ...
] = (
    (GENE_STUDIED, _gene),
    ("48005-3", _amino_acid_change),
    ("48004-6", _dna_change),
    ("81290-9", _genomic_change),
    ("48002-0", _origin),
    ("81258-6", _allele_frequency),
    ("62378-5", _copy_number),
)
