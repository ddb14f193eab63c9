"""Somatic and germline variants named in prose: "KRAS G12D", "EGFR exon 19 deletion", "EML4-ALK
fusion", "HER2 amplification", "TP53 c.524G>A (p.R175H)", "KRAS wild-type".

A gene is taken only when it is an NCBI official symbol or synonym (the shipped HGNC/NCBI table,
:func:`oncology_ui.clinical.parsers.genes.normalise_gene`) and is followed by an alteration: a
protein change (validated as HGVS ``p.`` and normalised to both forms), a ``c.`` change, an exon
deletion or insertion, a fusion or rearrangement, an amplification, or the plain words
"mutation"/"mutated"/"mutant". A gene named alone ("EGFR testing sent") is not a variant, nor is
"EGFR mutation testing" or "mutation status" (a test, not a result).

"Wild-type" and "not detected" are results too: the proposal carries the negated flag (set here
for "wild-type", by ConText for "no ... detected"), and review turns an accepted one into the
"gene sequenced without a variant" fact the FHIR importer writes for a panel's studied region.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from oncology_ui.clinical.parsers.genes import HgvsError, normalise_gene, normalise_protein_change
from oncology_ui.notes.reading.proposal import VARIANT, Flags, Proposal

# Upper-case words that are NCBI aliases of some gene but, in a note, are something else
# (tests, units, scores, receptors read by the biomarker reader).
_NOT_GENES = frozenset(
    {
        "AND", "CT", "MRI", "PET", "IHC", "FISH", "ISH", "NGS", "PCR", "DNA", "RNA", "ER", "PR",
        "PGR", "TPS", "CPS", "MSI", "MSS", "TMB", "MMR", "ECOG", "TNM", "CEA", "PSA", "LDH", "ALT",
        "AST", "ALP", "GGT", "HB", "WBC", "ANC", "PLT", "INR", "BMI", "IV", "PO", "BID", "TID",
        "CNS", "ICU", "ED", "MD", "DR", "OR", "NO", "IN", "AT", "CR", "PD", "SD", "PFS", "OS",
        "HR", "NA", "PS", "KPS", "MDT", "VUS", "HRD", "LOH", "CN", "SNV", "CNV", "T", "N", "M",
    }
)  # fmt: skip

# A hyphen continues a symbol only before digits ("NKX3-1"): "EML4-ALK" is two genes.
_GENE = r"(?:HER-?2(?:/neu)?|[A-Z][A-Z0-9]{1,7}(?:-\d{1,2}(?![\w-]))?)"
_AA = r"(?:[A-Z][a-z]{2}|[A-Z])"
_PROTEIN = (
    rf"(?:p\.)?\(?{_AA}\d{{1,5}}(?:_{_AA}\d{{1,5}})?"
    rf"(?:delins{_AA}+|del|dup|ins{_AA}+|{_AA}?fs(?:\*|Ter)?\d*|{_AA}|\*|=)\)?"
)
_CDNA = r"c\.[0-9_+\-*]+(?:[ACGT]>[ACGT]|del[ACGT]*|dup[ACGT]*|ins[ACGT]+|delins[ACGT]+)"
_MUTATION_WORD = (
    r"(?:mutations?|mutated|mutant|variants?|alterations?)"
    # "EGFR mutation testing", "KRAS mutation status": a test ordered, not a result.
    r"(?!\s+(?:testing|tests?|analysis|status|panel|screening|results?|sequencing|assay))"
)
_ALTERATION = re.compile(
    r"[ \t]*(?:gene[ \t]+)?[:-]?[ \t]*(?:"
    rf"(?P<cdna>{_CDNA})(?:[ \t]*\(?(?P<pc>{_PROTEIN})\)?)?"
    rf"|(?P<protein>{_PROTEIN})(?![\w>])"
    r"|exon[ \t]*(?P<exon>\d{1,2})[ \t]+(?P<exon_change>deletions?|del|insertions?|ins|"
    r"skipping|mutations?)"
    r"|(?P<fusion>fusion|rearrangements?|rearranged|translocation)"
    r"|(?P<amplification>amplification|amplified)"
    r"|(?P<wild>wild[- ]?type|WT)(?![\w-])"
    rf"|(?P<mutation>{_MUTATION_WORD})(?![\w-])"
    r")"
    rf"(?:[ \t]*-?[ \t]*{_MUTATION_WORD}(?![\w-]))?",
)
# One or more genes, "EGFR, KRAS or BRAF", with an optional fusion partner "EML4-ALK" or
# "EML4::ALK" (the 5' partner first, as HGVS and the fusion nomenclature write it).
_GENES = re.compile(
    rf"(?<![\w/-])(?P<genes>{_GENE}(?:(?:[ \t]*,[ \t]*|[ \t]+(?:or|and|nor)[ \t]+|/){_GENE})*)"
    rf"(?:(?:::|-)(?P<partner3>{_GENE}))?(?![\w/])"
)
# "V600E mutation": the change of the gene before it, not a gene.
_PROTEIN_LIKE = re.compile(r"[A-Z]\d{1,5}[A-Z*]")
_GERMLINE = re.compile(r"(?<![\w-])germ-?line(?![\w-])", re.I)
_GENE_TOKEN = re.compile(_GENE)


#: Official symbols of the genes oncology notes name most (checked against the NCBI table by a
#: test), so the 106,000-row table (about 0.3 s to load) is read only for a gene outside them.
COMMON_GENES = frozenset(
    {
        "AKT1", "ALK", "APC", "AR", "ARID1A", "ATM", "ATRX", "BAP1", "BRAF", "BRCA1", "BRCA2",
        "CCND1", "CDH1", "CDK4", "CDKN2A", "CHEK2", "CTNNB1", "EGFR", "ERBB2", "ERBB3", "ESR1",
        "EZH2", "FGFR1", "FGFR2", "FGFR3", "FLT3", "GATA3", "HRAS", "IDH1", "IDH2", "JAK2", "KIT",
        "KMT2C", "KMT2D", "KRAS", "MAP2K1", "MAP3K1", "MDM2", "MET", "MLH1", "MSH2", "MSH6",
        "MYC", "MYCN", "NF1", "NOTCH1", "NPM1", "NRAS", "NRG1", "NTRK1", "NTRK2", "NTRK3",
        "PALB2", "PDGFRA", "PIK3CA", "PMS2", "POLE", "PTEN", "RAD51C", "RAD51D", "RB1", "RET",
        "ROS1", "SETD2", "SMAD4", "STK11", "TERT", "TP53", "TSC1", "TSC2", "VHL",
    }
)  # fmt: skip


def _official(written: str) -> str | None:
    """The official symbol of ``written`` (a symbol or an NCBI synonym), or None."""
    key = written.upper()
    if key in _NOT_GENES or _PROTEIN_LIKE.fullmatch(key):
        return None
    if key.startswith("HER") and "2" in key:
        return "ERBB2"
    if key in COMMON_GENES:
        return key
    return normalise_gene(written)


def _protein(text: str) -> tuple[str, str]:
    # Drop the brackets around "(p.R175H)" but keep the HGVS "predicted" ones of "p.(Val600Glu)".
    text = text.removeprefix("(")
    if text.count(")") > text.count("("):
        text = text[:-1]
    try:
        change = normalise_protein_change(text)
    except HgvsError:
        return "", ""
    return change.short, change.long


def variant_proposals(text: str) -> Iterator[Proposal]:
    """Every gene-plus-alteration in ``text``; flags other than "wild-type" are ConText's."""
    for match in _GENES.finditer(text):
        alteration = _ALTERATION.match(text, match.end())
        if alteration is None:
            continue
        g0 = match.start("genes")
        written_genes = [
            (m.group(0), g0 + m.start()) for m in _GENE_TOKEN.finditer(match.group("genes"))
        ]
        partner = ""
        if match.group("partner3"):
            # "EML4-ALK fusion": ALK is the gene the fusion is reported (and targeted) under.
            if not alteration.group("fusion"):
                continue
            partner = written_genes[-1][0]
            written_genes = [(match.group("partner3"), match.start("genes"))]
        # A protein or cDNA change belongs to one gene, not to a list.
        if len(written_genes) > 1 and (
            alteration.group("protein") or alteration.group("cdna") or alteration.group("exon")
        ):
            written_genes = written_genes[-1:]
        before = text[max(0, match.start() - 40) : match.start()]
        origin = "germline" if _GERMLINE.search(before + alteration.group(0)) else "somatic"
        for written, offset in written_genes:
            gene = _official(written)
            if gene is None:
                continue
            if written.upper().startswith("HER") and alteration.group("amplification") == (
                "amplified"
            ):
                continue  # "HER2 amplified" is the biomarker reader's ISH result

            proposal = _proposal(offset, alteration, gene, written, partner, origin)
            if proposal is not None:
                yield proposal


def _proposal(
    start: int, alteration: re.Match[str], gene: str, written: str, partner: str, origin: str
) -> Proposal | None:
    """The proposal for one gene of a match, its span from the gene to the alteration's end."""
    end = alteration.end()
    kind, short, long, hgvs_c, detail = "mutation", "", "", "", ""
    flags = Flags()
    if alteration.group("cdna"):
        hgvs_c = alteration.group("cdna")
        if alteration.group("pc"):
            short, long = _protein(alteration.group("pc"))
    elif alteration.group("protein"):
        short, long = _protein(alteration.group("protein"))
        if not short:
            return None  # "T2" after a gene is not a protein change
    elif alteration.group("exon"):
        change = alteration.group("exon_change").lower()
        word = "deletion" if change.startswith("del") else change.rstrip("s")
        word = "insertion" if word in {"ins", "insertion"} else word
        detail = f"exon {alteration.group('exon')} {word}"
    elif alteration.group("fusion"):
        kind = "fusion"
    elif alteration.group("amplification"):
        kind = "copy_number"
    elif alteration.group("wild"):
        flags = Flags(negated=True)
    partner_gene = (normalise_gene(partner) or "") if partner else ""
    shown = {
        "mutation": " ".join(p for p in (short, hgvs_c if not short else "", detail) if p)
        or "mutation",
        "fusion": f"{partner_gene}::{gene} fusion" if partner_gene else "fusion/rearrangement",
        "copy_number": "amplification",
    }[kind]
    label = f"{gene} {shown}"
    if flags.negated:
        label = f"{gene} wild-type"
    if origin == "germline":
        label += " (germline)"
    if written.upper() != gene:
        label += f" [written {written}]"
    return Proposal(
        VARIANT,
        label,
        {
            "gene": gene,
            "gene_as_reported": written,
            "variant_kind": kind,
            "protein": short,
            "protein_long": long,
            "hgvs_c": hgvs_c,
            "exon_change": detail,
            "partner_gene": partner_gene,
            "origin": origin,
        },
        start,
        end,
        flags=flags,
    )
