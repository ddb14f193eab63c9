"""VCF, MAF and variant CSV import; gene and HGVS normalisation; CIViC and oncoref annotation."""

from __future__ import annotations

import io

import pytest

from oncology_ui.clinical.models import Biomarker, ClinicalImport, Variant
from oncology_ui.clinical.parsers import ImportRejected, Limits
from oncology_ui.clinical.parsers.annotate import VariantQuery, best_level, civic_evidence
from oncology_ui.clinical.parsers.biomarkers import (
    BiomarkerError,
    BiomarkerRecord,
    normalise_biomarker,
)
from oncology_ui.clinical.parsers.genes import HgvsError, normalise_gene, normalise_protein_change
from oncology_ui.clinical.parsers.variants import parse_maf, parse_vcf
from oncology_ui.clinical.selectors import clinical_model_inputs
from tests.oncology_ui.clinical.conftest import run_import
from tests.oncology_ui.conftest import Cast

VCF_HEADER = (
    "##fileformat=VCFv4.2\n"
    "##source=Mutect2\n"
    "##tumor_sample=TUMOUR_01\n"
    "##normal_sample=NORMAL_01\n"
    '##INFO=<ID=ANN,Number=.,Type=String,Description="Functional annotations">\n'
    '##FORMAT=<ID=AF,Number=A,Type=Float,Description="Allele fractions">\n'
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tNORMAL_01\tTUMOUR_01\n"
)


def _ann(allele: str, gene: str, hgvs_c: str, hgvs_p: str, effect: str = "missense_variant") -> str:
    fields = (allele, effect, "MODERATE", gene, "ENSG", "transcript", "ENST0001")
    return "ANN=" + "|".join((*fields, "protein_coding", "1/1", hgvs_c, hgvs_p))


def _vcf(*rows: str, header: str = VCF_HEADER) -> bytes:
    return (header + "".join(row + "\n" for row in rows)).encode()


def _call(
    chrom: str, pos: int, change: str, annotation: str, tumour: str, filt: str = "PASS"
) -> str:
    """One VCF data line: ``change`` is ``REF>ALT``, ``annotation`` the ANN's gene, c. and p."""
    ref, alt = change.split(">")
    gene, hgvs_c, hgvs_p = annotation.split()
    info = _ann(alt, gene, hgvs_c, hgvs_p)
    return f"{chrom}\t{pos}\t.\t{ref}\t{alt}\t.\t{filt}\t{info}\tAF:DP\t0:40\t{tumour}"


EGFR = _call("chr7", 55259515, "T>G", "EGFR c.2573T>G p.Leu858Arg", "0.31:120")
BRAF = _call("7", 140453136, "A>T", "BRAF c.1799T>A p.Val600Glu", "0.22:90")
KRAS = _call("chr12", 25398285, "C>A", "KRAS c.34G>T p.G12C", "0.4:70")
FILTERED = _call("chr17", 7577120, "C>T", "TP53 c.818G>A p.R273H", "0.05:70", "weak_evidence")


@pytest.mark.parametrize(
    ("text", "short", "long"),
    [
        ("V600E", "p.V600E", "p.Val600Glu"),
        ("p.V600E", "p.V600E", "p.Val600Glu"),
        ("p.Val600Glu", "p.V600E", "p.Val600Glu"),
        ("p.(Val600Glu)", "p.V600E", "p.Val600Glu"),
        ("ENSP00000288602.6:p.Val600Glu", "p.V600E", "p.Val600Glu"),
        ("p.L858R", "p.L858R", "p.Leu858Arg"),
        ("p.R213*", "p.R213*", "p.Arg213Ter"),
        ("p.R213X", "p.R213*", "p.Arg213Ter"),
        ("p.Glu746_Ala750del", "p.E746_A750del", "p.Glu746_Ala750del"),
        ("p.A763_Y764insFQEA", "p.A763_Y764insFQEA", "p.Ala763_Tyr764insPheGlnGluAla"),
        ("p.Leu747ProfsTer5", "p.L747Pfs*5", "p.Leu747ProfsTer5"),
        ("p.V600=", "p.V600=", "p.Val600="),
    ],
)
def test_protein_changes_are_one_change_in_both_forms(text: str, short: str, long: str) -> None:
    change = normalise_protein_change(text)
    assert (change.short, change.long) == (short, long)


@pytest.mark.parametrize("text", ["hello", "p.", "=1+1", "p.V", "V600ZZ"])
def test_text_that_is_not_hgvs_is_refused(text: str) -> None:
    with pytest.raises(HgvsError):
        normalise_protein_change(text)


def test_gene_symbols_and_synonyms_become_official_symbols() -> None:
    assert normalise_gene("HER2") == "ERBB2"
    assert normalise_gene("pd-l1") == "CD274"
    assert normalise_gene("egfr") == "EGFR"
    assert normalise_gene("NOTAGENE1") is None


@pytest.mark.parametrize(
    ("query", "level", "drug"),
    [
        (VariantQuery("EGFR", "mutation", "L858R", "L858"), "A", "Erlotinib"),
        (VariantQuery("BRAF", "mutation", "V600E", "V600"), "A", "Vemurafenib"),
        (VariantQuery("KRAS", "mutation", "G12C", "G12"), "B", ""),
        (VariantQuery("ERBB2", "copy_number", copy_number_level=2), "A", "Trastuzumab"),
    ],
)
def test_civic_annotates_known_variants(query: VariantQuery, level: str, drug: str) -> None:
    evidence = civic_evidence(query)
    best = best_level(evidence)
    assert best is not None and best.level == level
    assert drug in best.drugs
    assert best.url.startswith("https://civicdb.org/links/evidence_items/")


def test_a_silent_change_gets_no_evidence() -> None:
    assert civic_evidence(VariantQuery("BRAF", "mutation", "V600=", "V600", silent=True)) == []


def test_a_tumour_normal_vcf_is_read_with_the_tumour_sample() -> None:
    records, log = parse_vcf(io.BytesIO(_vcf(EGFR, BRAF, FILTERED)), limits=Limits())
    assert [(r.gene, r.protein_short, r.chromosome, r.vaf) for r in records] == [
        ("EGFR", "p.L858R", "chr7", 0.31),
        ("BRAF", "p.V600E", "chr7", 0.22),
    ]
    assert records[0].sample == "TUMOUR_01"
    assert "1 variants did not pass" in log.warnings[0].message


def test_a_single_sample_vcf_with_vep_csq() -> None:
    header = (
        "##fileformat=VCFv4.2\n"
        "##INFO=<ID=CSQ,Number=.,Type=String,"
        'Description="Consequence. Format: Allele|Consequence|SYMBOL|Feature|HGVSc|HGVSp">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n"
    )
    row = (
        "chr12\t25398285\t.\tC\tA\t50\t.\tCSQ=A|missense_variant|KRAS|ENST00000256078|"
        "ENST00000256078.4:c.34G>T|ENSP00000256078.4:p.Gly12Cys\tAD:DP\t30,20:50"
    )
    (record,) = parse_vcf(io.BytesIO(_vcf(row, header=header)), limits=Limits())[0]
    assert (record.gene, record.protein_short, record.hgvs_c, record.vaf) == (
        "KRAS",
        "p.G12C",
        "c.34G>T",
        0.4,
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"##fileformat=VCF4\n#CHROM\tPOS\n", "line 1: is not a VCF header"),
        (
            b"##fileformat=VCFv4.2\n##INFO=<ID=DP,Number=1\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n",
            "line 2: is a malformed VCF header line",
        ),
        (
            b"##fileformat=VCFv4.2\n#CHROM POS ID REF ALT QUAL FILTER INFO\n",
            "line 2: the column header must start",
        ),
        (b"##fileformat=VCFv4.2\n1\t1\t.\tA\tT\t.\tPASS\t.\n", "line 2: data before the #CHROM"),
        (
            b"##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tA\tB\n",
            "two samples but no way to tell which is the tumour",
        ),
    ],
)
def test_malformed_vcf_headers_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(ImportRejected) as caught:
        parse_vcf(io.BytesIO(data), limits=Limits())
    problem = caught.value.problems[0]
    assert f"{problem.where}: {problem.message}".startswith(message) or message in problem.message


def test_non_standard_chromosome_names_are_refused_by_line() -> None:
    rows = [EGFR, EGFR.replace("chr7", "chrUn_gl000220"), EGFR.replace("chr7", "HLA-A*01:01")]
    with pytest.raises(ImportRejected) as caught:
        parse_vcf(io.BytesIO(_vcf(*rows)), limits=Limits())
    assert [p.where for p in caught.value.problems] == ["line 9", "line 10"]
    assert "chrUn_gl000220" in caught.value.problems[0].message


def test_a_tcga_maf_is_read() -> None:
    maf = (
        b"#version 2.4\n"
        b"Hugo_Symbol\tChromosome\tStart_Position\tReference_Allele\tTumor_Seq_Allele2\tVariant_Classification\tHGVSp_Short\tTumor_Sample_Barcode\tt_alt_count\tt_depth\n"
        b"BRAF\t7\t140453136\tA\tT\tMissense_Mutation\tp.V600E\tTCGA-XX-0001-01\t30\t100\n"
        b"HER2\t17\t37880220\tT\tC\tMissense_Mutation\tp.L755S\tTCGA-XX-0001-01\t10\t80\n"
        b"Unknown\t1\t1000\tA\tG\tIGR\t\tTCGA-XX-0001-01\t3\t30\n"
    )
    records, log = parse_maf(io.BytesIO(maf), limits=Limits())
    assert [(r.gene, r.gene_as_reported, r.protein_long, r.vaf) for r in records] == [
        ("BRAF", "BRAF", "p.Val600Glu", 0.3),
        ("ERBB2", "HER2", "p.Leu755Ser", 0.125),
    ]
    assert "intergenic" in log.warnings[0].message


def test_a_maf_with_an_unknown_gene_names_the_line() -> None:
    maf = (
        b"Hugo_Symbol\tChromosome\tStart_Position\tReference_Allele\tTumor_Seq_Allele2\n"
        b"NOTAGENE9\t1\t5\tA\tT\n"
    )
    with pytest.raises(ImportRejected) as caught:
        parse_maf(io.BytesIO(maf), limits=Limits())
    assert caught.value.problems[0].where == "line 2"


def _scored_biomarker(name: str, method: str, value: str) -> BiomarkerRecord:
    """A biomarker reported as a bare score: no unit, no status, no date."""
    return normalise_biomarker(
        name=name,
        method=method,
        value=value,
        unit="",
        status="",
        measured_on=None,
        source_ref="x",
        source_key="k",
    )


@pytest.mark.parametrize(
    ("name", "method", "value", "status"),
    [
        ("HER2", "IHC", "3+", "positive"),
        ("HER2", "IHC", "2+", "equivocal"),
        ("HER2", "ISH", "2.4", "positive"),
        ("ER", "IHC", "80%", "positive"),
        ("PR", "IHC", "0", "negative"),
        ("PD-L1", "TPS", "60%", "high"),
        ("PD-L1", "CPS", "12", "positive"),
        ("MSI", "PCR", "MSI-H", "high"),
        ("MMR", "IHC", "dMMR", "deficient"),
        ("TMB", "NGS", "12.5", "high"),
    ],
)
def test_biomarker_status_from_score(name: str, method: str, value: str, status: str) -> None:
    assert _scored_biomarker(name, method, value).status == status


def test_implausible_biomarkers_are_refused() -> None:
    with pytest.raises(BiomarkerError):
        _scored_biomarker("ER", "IHC", "180%")


@pytest.mark.django_db
def test_a_vcf_import_annotates_and_is_idempotent(cast: Cast) -> None:
    data = _vcf(EGFR, BRAF, KRAS)
    record = run_import(cast.case, data, "tumour.vcf")
    assert record.status == ClinicalImport.Status.IMPORTED, record.problems
    assert record.kind == ClinicalImport.Kind.VCF
    levels = dict(Variant.objects.filter(case=cast.case).values_list("gene", "best_level"))
    assert levels == {"EGFR": "A", "BRAF": "A", "KRAS": "B"}
    egfr = Variant.objects.get(case=cast.case, gene="EGFR")
    assert egfr.evidence.filter(source="civic", match="exact").exists()
    assert egfr.evidence.filter(source="oncoref").exists()
    again = run_import(cast.case, data, "tumour-again.vcf")
    assert again.summary["variants"] == {"new": 0, "already_present": 3}
    assert Variant.objects.filter(case=cast.case).count() == 3


@pytest.mark.django_db
def test_a_variant_csv_with_copy_number_fusion_and_biomarkers(cast: Cast) -> None:
    data = (
        b"kind,gene,protein_change,partner_gene,copy_number,vaf,biomarker,method,value,date\n"
        b"mutation,EGFR,p.Leu858Arg,,,34%,,,,2024-03-05\n"
        b"amplification,HER2,,,12,,,,,2024-03-05\n"
        b"fusion,EML4-ALK,,,,,,,,2024-03-05\n"
        b"biomarker,,,,,,PD-L1,TPS,60%,2024-03-05\n"
        b"biomarker,,,,,,TMB,NGS,12.5,2024-03-05\n"
    )
    record = run_import(cast.case, data, "panel.csv")
    assert record.status == ClinicalImport.Status.IMPORTED, record.problems
    erbb2 = Variant.objects.get(case=cast.case, gene="ERBB2")
    assert (erbb2.copy_number_level, erbb2.best_level) == (2, "A")
    fusion = Variant.objects.get(case=cast.case, kind="fusion")
    assert (fusion.partner_gene, fusion.gene, fusion.best_level) == ("EML4", "ALK", "A")
    assert set(Biomarker.objects.filter(case=cast.case).values_list("name", "status")) == {
        ("PD-L1", "high"),
        ("TMB", "high"),
    }
    inputs = clinical_model_inputs(cast.case)
    assert inputs["molecular"] == {
        "mutations": {"EGFR": 1.0},
        "copy_number": {"ERBB2": 2.0},
        "expression": {},
    }
    assert inputs["extra_clinical"]["biomarkers"]["PD-L1"]["status"] == "high"


@pytest.mark.django_db
def test_a_bad_variant_csv_imports_nothing(cast: Cast) -> None:
    data = b"gene,protein_change\nEGFR,p.L858R\nNOTAGENE1,p.V600E\nBRAF,p.Hello\n"
    record = run_import(cast.case, data, "panel.csv")
    assert record.status == ClinicalImport.Status.FAILED
    assert [p["where"] for p in record.problems] == ["line 3", "line 4"]
    assert not Variant.objects.exists()
