"""Accepting a variant or a diagnosis read from a document: the rows the importers write.

A variant becomes the ``Variant`` row a molecular file import creates (official symbol, both
HGVS protein forms, evidence attached by the same annotator), so the molecular table, therapy
ranking and trial matching read it like any other. A negated variant ("no KRAS mutation
detected", "KRAS wild-type") becomes the ``genomic_region`` fact a FHIR panel's "region studied"
writes: a gene looked at and found without a variant, which matching reads as wild type.

A diagnosis becomes the ``primary_cancer`` fact the FHIR importer writes for a primary cancer
condition, coded with OncoTree. The case's own OncoTree code changes only when the accepted code
refines it (the case says "Invasive Breast Carcinoma", the report "Breast Invasive Ductal
Carcinoma"): a note naming another cancer is recorded, never silently made the case's diagnosis.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from oncology_ui.clinical import facts
from oncology_ui.clinical.models import Variant
from oncology_ui.clinical.parsers.genes import HgvsError, normalise_gene, normalise_protein_change
from oncology_ui.notes.models import ProposedFact
from oncology_ui.notes.rows import clinical_fact, proposal_key, provenance
from oncology_ui.patients.services import validated_update
from oncology_ui.patients.vocabularies import (
    ONCOTREE_RELEASE,
    icd10_is_neoplasm,
    icd10_lookup,
    icd10_normalise,
    oncotree_lineage,
    oncotree_lookup,
)

_VARIANT_KINDS = {
    "mutation": Variant.Kind.MUTATION,
    "fusion": Variant.Kind.FUSION,
    "copy_number": Variant.Kind.COPY_NUMBER,
}


def _gene(written: str, what: str) -> str:
    gene = normalise_gene(written)
    if gene is None:
        raise ValidationError(f"{what} “{written[:30]}” is not an HGNC/NCBI gene symbol.")
    return gene


def write_variant(proposal: ProposedFact, user: User, value: dict[str, Any]) -> str:
    """The ``Variant`` (or, negated, the wild-type ``genomic_region`` fact) for ``value``."""
    gene = _gene(str(value.get("gene") or ""), "The gene")
    kind = _VARIANT_KINDS.get(str(value.get("variant_kind") or ""))
    if kind is None:
        raise ValidationError("The variant kind is mutation, fusion or copy_number.")
    if proposal.negated:
        what = {"fusion": "fusion", "copy_number": "amplification"}.get(kind, "mutation")
        row = clinical_fact(
            proposal,
            user,
            kind="genomic_region",
            display=f"{gene}: no {what} detected (wild type)",
            detail={"genes": [gene], "as_written": proposal.label},
        )
        return f"fact:{row.pk}"
    short = long = ""
    if value.get("protein"):
        try:
            change = normalise_protein_change(str(value["protein"]))
        except HgvsError as exc:
            raise ValidationError(str(exc)) from None
        short, long = change.short, change.long
    partner = str(value.get("partner_gene") or "")
    partner = _gene(partner, "The fusion partner") if partner else ""
    origin = "germline" if value.get("origin") == "germline" else "somatic"
    recorded = _already_recorded(proposal, kind, gene, short, partner)
    if recorded is not None:
        # The note repeats what an import (or an earlier note) already recorded: point the
        # proposal at that row instead of recording the same variant twice.
        return f"variant:{recorded.pk}"
    variant = Variant(
        case=proposal.case,
        source_ref=provenance(proposal.document, user),
        source_key=proposal_key(proposal),
        kind=kind,
        gene=gene,
        gene_as_reported=str(value.get("gene_as_reported") or gene)[:40],
        protein_short=short[:100],
        protein_long=long[:200],
        hgvs_c=str(value.get("hgvs_c") or "")[:100],
        consequence=str(value.get("exon_change") or "")[:80],
        origin=origin,
        partner_gene=partner,
        # An amplification named in prose has no copy number; level 2 is what "amplified" means.
        copy_number_level=2 if kind == Variant.Kind.COPY_NUMBER else None,
        reported_on=proposal.document.document_date,
    )
    variant.full_clean()
    variant.save()
    facts.variant_annotate(variant=variant)
    return f"variant:{variant.pk}"


def _already_recorded(
    proposal: ProposedFact, kind: str, gene: str, protein_short: str, partner: str
) -> Variant | None:
    """The case's variant row that says what the note says, if one exists.

    The same gene and kind, and the same protein change when the note names one (a note that
    says only "KRAS mutated" adds nothing to a recorded KRAS G12D); for a fusion the same
    partner when named.
    """
    rows = Variant.objects.filter(case=proposal.case, gene=gene, kind=kind).order_by("pk")
    if protein_short:
        rows = rows.filter(protein_short=protein_short)
    if partner:
        rows = rows.filter(partner_gene=partner)
    return rows.first()


def write_diagnosis(proposal: ProposedFact, user: User, value: dict[str, Any]) -> str:
    """The ``primary_cancer`` fact; the case's codes too when the code refines the case's."""
    code = str(value.get("oncotree_code") or "").strip().upper()
    node = oncotree_lookup(code)
    if node is None:
        raise ValidationError(f"“{code[:20]}” is not an OncoTree code ({ONCOTREE_RELEASE}).")
    icd = icd10_normalise(str(value.get("icd10") or "")) if value.get("icd10") else ""
    if icd and (icd10_lookup(icd) is None or not icd10_is_neoplasm(icd)):
        raise ValidationError(f"“{icd[:10]}” is not an ICD-10-CM neoplasm code.")
    row = clinical_fact(
        proposal,
        user,
        kind="primary_cancer",
        display=node.name,
        code_system="OncoTree",
        code=code,
        detail={
            "oncotree_release": ONCOTREE_RELEASE,
            "icd10": icd,
            "body_site": str(value.get("laterality") or "")[:20],
            "as_written": str(value.get("as_written") or "")[:200],
        },
    )
    case = proposal.case
    lineage = oncotree_lineage(code) or ()
    if case.oncotree_code != code and case.oncotree_code.upper() in lineage:
        validated_update(case, {"oncotree_code": code})
    return f"fact:{row.pk}"
