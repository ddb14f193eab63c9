"""Somatic variants from VCF (single or tumour/normal), TCGA-style MAF and a simple CSV.

Each reader streams its file line by line, checks every row, and returns canonical records:
official gene symbols, protein changes in both HGVS forms, ``chr``-prefixed chromosomes.
``vcf`` reads VCF, ``tables`` reads MAF and the variant CSV, ``normalise`` holds what they share
(chromosomes, genes, protein changes, copy-number levels), ``records`` the record they return.
"""

from __future__ import annotations

from oncology_ui.clinical.parsers.variants.normalise import (
    copy_number_level,
    is_non_coding,
    normalise_chromosome,
)
from oncology_ui.clinical.parsers.variants.records import VariantRecord
from oncology_ui.clinical.parsers.variants.tables import (
    VARIANT_CSV_COLUMNS,
    VARIANT_CSV_EXAMPLE_ROWS,
    parse_maf,
    parse_variant_csv,
)
from oncology_ui.clinical.parsers.variants.vcf import parse_vcf

__all__ = [
    "VARIANT_CSV_COLUMNS",
    "VARIANT_CSV_EXAMPLE_ROWS",
    "VariantRecord",
    "copy_number_level",
    "is_non_coding",
    "normalise_chromosome",
    "parse_maf",
    "parse_variant_csv",
    "parse_vcf",
]
