"""Build ``demo/demo_patients.json``, the demo patients, from real public records.

Usage (from the repository root)::

    python demo/build_demo.py                # rewrite demo/demo_patients.json
    python demo/build_demo.py --check        # exit 1 if the committed file differs from a rebuild
    python demo/build_demo.py --data DIR     # shared data folder (default ../shared/data)

Sources (see ``demo/ATTRIBUTION.md`` for licences and every derivation):

* ``tcga-porpoise-multimodal``: TCGA cases (age, sex, OncoTree code, overall survival,
  censorship, gene-panel mutation flags);
* ``tcga-survpath-pathways``: the TCGA stage group and grade of the same case IDs, where listed;
* ``metabric-cbioportal``: METABRIC breast cancer patients (age, ER IHC, HER2 copy number,
  histology, surgery / chemotherapy / endocrine therapy / radiotherapy flags, survival).

The file keeps source facts plus a few seeded offsets (birth day within the year, days between
the end of follow-up and the seeding day); ``manage.py seed_demo`` turns them into dates relative
to the day it runs, so no event ever lies in the future. The random generator has a fixed seed,
so the file is byte-identical from one build to the next.
"""

from __future__ import annotations

import argparse
import csv
import functools
import gzip
import io
import json
import math
import random
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data"
DEFAULT_OUT = REPO_ROOT / "demo" / "demo_patients.json"
DEFAULT_EXPRESSION_OUT = REPO_ROOT / "demo" / "demo_expression.csv.gz"
ONCOTREE_TSV = REPO_ROOT / "oncology_ui" / "patients" / "vocab" / "oncotree_2025_10_03_flat.tsv"
SEED = 20_251_003
FORMAT_VERSION = 1
# TCGA survival is in months; a month is taken as the mean Gregorian month.
DAYS_PER_MONTH = 30.4375
MAX_MUTATIONS = 8

# Obviously invented names: nobody should mistake a demo patient for a person under care.
GIVEN_NAMES = (
    "Alex", "Sam", "Robin", "Jordan", "Casey", "Morgan", "Taylor", "Jamie", "Riley", "Avery",
    "Quinn", "Charlie", "Drew", "Emery", "Finley", "Harper", "Kendall", "Logan", "Parker", "Rowan",
)  # fmt: skip
FAMILY_NAMES = (
    "Example", "Sample", "Placeholder", "Specimen", "Testcase",
    "Fictional", "Synthetic", "Mockup", "Dummy", "Demonstration",
)  # fmt: skip

BREAST, THORACIC, GI, NEURO, URO, GYNAE = (
    "Breast MDT",
    "Thoracic MDT",
    "GI MDT",
    "Neuro-oncology MDT",
    "Uro-oncology MDT",
    "Gynae-oncology MDT",
)
TEAMS = (BREAST, THORACIC, GI, NEURO, URO, GYNAE)
# Teams whose first living patient is put on the coming board, so the board filter has content.
BOARD_TEAMS = (BREAST, THORACIC, GI, NEURO)


@dataclass(frozen=True)
class TcgaPick:
    cohort: str  # PORPOISE file name part
    project: str  # TCGA project (or PORPOISE's merged cohort) shown to users
    oncotree: str
    team: str
    icd10: str  # for the male-breast case the code is switched below


# ICD-10-CM codes are chosen at the "unspecified site / laterality" level because the tables say
# nothing about subsite or side; the choice is documented in ATTRIBUTION.md.
TCGA_PLAN = (
    TcgaPick("brca", "TCGA-BRCA", "IDC", BREAST, "C50.919"),
    TcgaPick("brca", "TCGA-BRCA", "ILC", BREAST, "C50.919"),
    TcgaPick("luad", "TCGA-LUAD", "LUAD", THORACIC, "C34.90"),
    TcgaPick("luad", "TCGA-LUAD", "LUAD", THORACIC, "C34.90"),
    TcgaPick("lusc", "TCGA-LUSC", "LUSC", THORACIC, "C34.90"),
    TcgaPick("coadread", "TCGA-COADREAD", "COAD", GI, "C18.9"),
    TcgaPick("coadread", "TCGA-COADREAD", "READ", GI, "C20"),
    TcgaPick("stad", "TCGA-STAD", "STAD", GI, "C16.9"),
    TcgaPick("lihc", "TCGA-LIHC", "HCC", GI, "C22.0"),
    TcgaPick("gbmlgg", "TCGA-GBMLGG", "ODG", NEURO, "C71.9"),
    TcgaPick("gbmlgg", "TCGA-GBMLGG", "ASTR", NEURO, "C71.9"),
    TcgaPick("kirc", "TCGA-KIRC", "CCRCC", URO, "C64.9"),
    TcgaPick("blca", "TCGA-BLCA", "BLCA", URO, "C67.9"),
    TcgaPick("ucec", "TCGA-UCEC", "UEC", GYNAE, "C54.1"),
)
# SurvPath lists stage (and for some cohorts grade) for these PORPOISE cohorts.
SURVPATH_COHORTS = {"brca": "brca", "coadread": "coadread", "stad": "stad", "blca": "blca"}

# METABRIC histological subtype -> OncoTree code (the same mapping cBioPortal uses for the study).
METABRIC_ONCOTREE = {"Ductal/NST": "IDC", "Lobular": "ILC", "Mixed": "MDLC"}
METABRIC_LATERALITY_ICD = {"Left": "C50.912", "Right": "C50.911"}
# (histology, survival outcome) strata so the demo shows living and deceased patients.
METABRIC_PLAN = (
    ("Ductal/NST", "Living"),
    ("Ductal/NST", "Died of Disease"),
    ("Lobular", "Living"),
    ("Mixed", "Died of Other Causes"),
    ("Ductal/NST", "Living"),
    ("Lobular", "Died of Disease"),
)


def _oncotree_names() -> dict[str, str]:
    with ONCOTREE_TSV.open(newline="", encoding="utf-8") as handle:
        return {row["code"]: row["name"] for row in csv.DictReader(handle, delimiter="\t")}


def _cancer_genes(data: Path) -> frozenset[str]:
    """Tumour suppressors and oncogenes of the PORPOISE signature table (listed first)."""
    path = data / "tcga-porpoise-multimodal" / "signatures.csv"
    genes: set[str] = set()
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            for column in ("Tumor Suppressor Genes", "Oncogenes"):
                if _known(row.get(column)):
                    genes.add(row[column].strip())
    return frozenset(genes)


_TCGA_FIELDS = ("case_id", "age", "survival_months", "censorship", "is_female", "oncotree_code")


@functools.cache
def _tcga_rows(data: Path, cohort: str) -> tuple[dict[str, str], ...]:
    """The clinical columns and the ``*_mut`` flags of one cohort, one dict per slide row.

    The tables also hold thousands of CNV and RNA columns; only the needed ones are kept, and
    each cohort is read once although several picks come from it.
    """
    path = (
        data
        / "tcga-porpoise-multimodal"
        / "datasets_csv_mutsig"
        / f"tcga_{cohort}_all_clean.csv.zip"
    )
    # The archive's one member is the CSV itself, although its name ends in .csv.zip.
    with zipfile.ZipFile(path) as archive, archive.open(archive.namelist()[0]) as raw:
        reader = csv.reader(io.TextIOWrapper(raw, encoding="utf-8", newline=""))
        header = next(reader)
        keep = [
            (index, name)
            for index, name in enumerate(header)
            if name in _TCGA_FIELDS or name.endswith("_mut")
        ]
        return tuple({name: row[index] for index, name in keep} for row in reader)


def _survpath_clinical(data: Path, cohort: str) -> dict[str, dict[str, str]]:
    name = SURVPATH_COHORTS.get(cohort)
    if name is None:
        return {}
    path = (
        data
        / "tcga-survpath-pathways"
        / "datasets_csv"
        / "clinical_data"
        / f"tcga_{name}_clinical.csv"
    )
    with path.open(newline="", encoding="utf-8") as handle:
        return {row["case_id"]: row for row in csv.DictReader(handle)}


def _known(value: str | None) -> str:
    """The value, or "" for the tables' spellings of missing."""
    text = (value or "").strip()
    return "" if text.upper() in {"", "NA", "N/A", "NAN", "GX"} else text


def _tcga_candidates(data: Path, pick: TcgaPick) -> list[dict[str, Any]]:
    """One candidate per TCGA case (the table has one row per slide) with the facts we keep."""
    cancer_genes = _cancer_genes(data)
    by_case: dict[str, dict[str, Any]] = {}
    for row in _tcga_rows(data, pick.cohort):
        if row["oncotree_code"] != pick.oncotree or row["case_id"] in by_case:
            continue
        try:
            age = float(row["age"])
            months = float(row["survival_months"])
            censored = float(row["censorship"]) >= 0.5
            female = float(row["is_female"]) >= 0.5
        except (KeyError, ValueError):
            continue
        # RAS_mut is a pathway aggregate in the table, not a gene.
        genes = sorted(
            (
                key[: -len("_mut")]
                for key, value in row.items()
                if key.endswith("_mut") and key != "RAS_mut" and _flag(value)
            ),
            # Known cancer genes first, so the few shown are the ones a board would look at.
            key=lambda gene: (gene not in cancer_genes, gene),
        )
        if math.isnan(age) or math.isnan(months) or months < 3 or not genes:
            continue
        by_case[row["case_id"]] = {
            "case_id": row["case_id"],
            "age": age,
            "months": months,
            "censored": censored,
            "female": female,
            "genes": genes,
        }
    return [by_case[key] for key in sorted(by_case)]


def _flag(value: str | None) -> bool:
    try:
        return float(value or "nan") >= 0.5
    except ValueError:
        return False


def _tcga_records(data: Path, rng: random.Random, names: dict[str, str]) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    used: set[str] = set()
    for pick in TCGA_PLAN:
        clinical = _survpath_clinical(data, pick.cohort)
        candidates = [c for c in _tcga_candidates(data, pick) if c["case_id"] not in used]
        if clinical:
            # Prefer cases whose stage is known, so the demo shows staged cases where it can.
            staged = [c for c in candidates if _known(clinical.get(c["case_id"], {}).get("stage"))]
            candidates = staged or candidates
        if not candidates:
            raise SystemExit(f"no usable {pick.oncotree} case in tcga_{pick.cohort}")
        chosen = rng.choice(candidates)
        used.add(chosen["case_id"])
        extra = clinical.get(chosen["case_id"], {})
        stage = _known(extra.get("stage"))
        if stage == "0":
            stage = ""  # stage 0 in these tables marks missing data for invasive cancers
        grade = _known(extra.get("grade"))
        icd10 = pick.icd10
        if pick.oncotree in {"IDC", "ILC"} and not chosen["female"]:
            icd10 = "C50.929"
        survival_days = round(chosen["months"] * DAYS_PER_MONTH)
        histology = names[pick.oncotree] + (f", grade {grade}" if grade else "")
        facts = [
            "Somatic mutations flagged in the table's gene panel: "
            + ", ".join(chosen["genes"][:MAX_MUTATIONS])
            + (" and more" if len(chosen["genes"]) > MAX_MUTATIONS else "")
            + ".",
            f"Overall survival {chosen['months']:.1f} months, "
            + ("censored at last follow-up." if chosen["censored"] else "ending in death."),
        ]
        if stage:
            facts.append(
                f"Stage group {stage} as listed by TCGA (SurvPath clinical table); the AJCC "
                "edition is not given there."
            )
        records.append(
            {
                "source": pick.project,
                "source_record": chosen["case_id"],
                "demo_source": f"{pick.project} {chosen['case_id']} (PORPOISE table)",
                "team": pick.team,
                "sex": "female" if chosen["female"] else "male",
                "age_at_diagnosis_years": int(chosen["age"]),
                # TCGA gives whole years only: the birthday within that year is seeded.
                "birth_offset_days": rng.randrange(0, 365),
                "survival_days": survival_days,
                "died": not chosen["censored"],
                "death_title": "" if chosen["censored"] else "Cause not recorded",
                "death_detail": ""
                if chosen["censored"]
                else "Overall-survival event in the TCGA table.",
                "case": {
                    "primary_diagnosis": names[pick.oncotree],
                    "oncotree_code": pick.oncotree,
                    "icd10_code": icd10,
                    "histology": histology,
                    "stage_group": stage,
                    # TCGA staged with the AJCC edition current at collection (mostly 6th/7th);
                    # 7 is recorded as an approximation where a stage is shown (ATTRIBUTION.md).
                    "ajcc_edition": 7 if stage else None,
                    "grade": _TCGA_GRADE.get(grade),
                },
                "mutations": chosen["genes"][:MAX_MUTATIONS],
                "facts": facts,
                "therapies": [],
            }
        )
    return records


#: METABRIC's inferred menopausal state -> the case field (NA stays blank).
_METABRIC_MENOPAUSE = {"Post": "post", "Pre": "pre"}
#: TCGA histologic grade as listed (G1-G4; GX and blanks are not a grade).
_TCGA_GRADE = {"G1": 1, "G2": 2, "G3": 3, "G4": 4, "1": 1, "2": 2, "3": 3, "4": 4}


def _count(value: str | None) -> int | None:
    """A whole count from a table cell, None when the cell is missing or not a count."""
    text = _known(value)
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if number.is_integer() and number >= 0 else None


def _read_tsv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def _metabric_records(
    data: Path, rng: random.Random, names: dict[str, str]
) -> list[dict[str, Any]]:
    folder = data / "metabric-cbioportal"
    clinical = {row["patientId"]: row for row in _read_tsv(folder / "metabric_clinical.tsv")}
    survival = {row["patientId"]: row for row in _read_tsv(folder / "metabric_survival.tsv")}
    mutations: dict[str, list[str]] = {}
    for row in _read_tsv(folder / "metabric_mutations.tsv"):
        change = _known(row.get("proteinChange"))
        label = f"{row['hugoGeneSymbol']} {change}".strip()
        mutations.setdefault(row["patientId"], []).append(label)

    needed = (
        "AGE_AT_DIAGNOSIS", "BREAST_SURGERY", "CHEMOTHERAPY", "HORMONE_THERAPY", "RADIO_THERAPY",
        "ER_IHC", "HER2_SNP6", "HISTOLOGICAL_SUBTYPE", "LATERALITY",
    )  # fmt: skip
    usable = sorted(
        pid
        for pid, row in clinical.items()
        if all(_known(row.get(col)) for col in needed)
        and pid in survival
        and float(survival[pid]["time"]) >= 180
        and pid in mutations
    )
    records: list[dict[str, Any]] = []
    used: set[str] = set()
    for histology, outcome in METABRIC_PLAN:
        candidates = [
            pid
            for pid in usable
            if pid not in used
            and clinical[pid]["HISTOLOGICAL_SUBTYPE"] == histology
            and survival[pid]["event_str"] == outcome
        ]
        pid = rng.choice(candidates)
        used.add(pid)
        row, surv = clinical[pid], survival[pid]
        # event: 0 living, 1 died of disease, 2 died of other causes (a competing risk).
        died = surv["event"] in {"1", "2"}
        age = float(row["AGE_AT_DIAGNOSIS"])
        oncotree = METABRIC_ONCOTREE[histology]
        er = "positive" if row["ER_IHC"].lower().startswith("pos") else row["ER_IHC"].lower()

        def given(column: str, row: dict[str, str] = row) -> str:
            return _known(row.get(column)) or "not given"

        facts = [
            f"ER by IHC: {er}. HER2 copy number (SNP6 array): {row['HER2_SNP6'].lower()} — a "
            "copy-number call, not a clinical HER2 IHC/ISH result.",
            f"PAM50 + claudin-low subtype: {given('CLAUDIN_SUBTYPE')}; "
            f"3-gene classifier: {given('THREEGENE')}.",
            f"Positive lymph nodes examined: {given('LYMPH_NODES_EXAMINED_POSITIVE')}; "
            f"Nottingham prognostic index: {given('NPI')}; "
            f"cellularity: {given('CELLULARITY')}; "
            f"inferred menopausal state: {given('INFERRED_MENOPAUSAL_STATE')}.",
            "Somatic mutations (METABRIC targeted sequencing): "
            + ", ".join(mutations[pid][:MAX_MUTATIONS])
            + (" and more" if len(mutations[pid]) > MAX_MUTATIONS else "")
            + ".",
            f"Overall survival {int(float(surv['time']))} days; outcome: {surv['event_str']}.",
        ]
        records.append(
            {
                "source": "METABRIC",
                "source_record": pid,
                "demo_source": f"METABRIC {pid} (cBioPortal brca_metabric)",
                "team": BREAST,
                "sex": "female",
                "age_at_diagnosis_years": int(age),
                # METABRIC gives age to 1/100 year: the fraction sets the birthday.
                "birth_offset_days": min(364, round((age - int(age)) * 365.25)),
                "survival_days": int(float(surv["time"])),
                "died": died,
                "death_title": surv["event_str"].capitalize() if died else "",
                "death_detail": f"METABRIC outcome: {surv['event_str']}." if died else "",
                "case": {
                    "primary_diagnosis": names[oncotree],
                    "oncotree_code": oncotree,
                    "icd10_code": METABRIC_LATERALITY_ICD[row["LATERALITY"]],
                    "histology": f"{histology} (METABRIC histological subtype)",
                    "stage_group": "",  # not in this METABRIC table
                    # No stage, so no edition: the app's default stays and means nothing here.
                    "ajcc_edition": None,
                    "nodes_positive": _count(row.get("LYMPH_NODES_EXAMINED_POSITIVE")),
                    "menopausal_status": _METABRIC_MENOPAUSE.get(
                        _known(row.get("INFERRED_MENOPAUSAL_STATE")), ""
                    ),
                },
                "mutations": mutations[pid][:MAX_MUTATIONS],
                "facts": facts,
                "therapies": _metabric_therapies(row),
            }
        )
    return records


#: The METABRIC treatment flags after surgery, in order: (column, timeline kind, title, regimen,
#: illustrative days until the next treatment).
_METABRIC_AFTER_SURGERY = (
    ("CHEMOTHERAPY", "systemic_therapy", "", "Chemotherapy (regimen not recorded)", 126),
    ("RADIO_THERAPY", "radiotherapy", "Radiotherapy (site and dose not recorded)", "", 42),
    ("HORMONE_THERAPY", "systemic_therapy", "", "Endocrine therapy (agent not recorded)", 0),
)


def _metabric_therapies(row: dict[str, str]) -> list[dict[str, Any]]:
    """Treatments METABRIC records as given; their days after diagnosis are illustrative."""
    illustrative = "; the date is illustrative (METABRIC records no treatment dates)."
    therapies: list[dict[str, Any]] = []
    surgery = row["BREAST_SURGERY"].lower()
    therapies.append(
        {
            "kind": "surgery",
            "day": 21,
            "title": "Mastectomy" if surgery == "mastectomy" else "Breast-conserving surgery",
            "regimen": "",
            "detail": f"METABRIC BREAST_SURGERY={row['BREAST_SURGERY']}{illustrative}",
        }
    )
    day = 49
    for column, kind, title, regimen, days_to_next in _METABRIC_AFTER_SURGERY:
        if row[column] == "YES":
            therapies.append(
                {
                    "kind": kind,
                    "day": day,
                    "title": title,
                    "regimen": regimen,
                    "detail": f"METABRIC {column}=YES{illustrative}",
                }
            )
            day += days_to_next
    return therapies


def build(data: Path) -> dict[str, Any]:
    """The demo data set: deterministic for a given data folder."""
    for folder in ("tcga-porpoise-multimodal", "tcga-survpath-pathways", "metabric-cbioportal"):
        if not (data / folder).is_dir():
            raise SystemExit(f"{data / folder} is missing; pass --data pointing at the shared data")
    rng = random.Random(SEED)
    names = _oncotree_names()
    records = _metabric_records(data, rng, names) + _tcga_records(data, rng, names)
    on_board: set[str] = set()
    for index, record in enumerate(records):
        record["mrn"] = f"DEMO-{index + 1:04d}"
        record["given_name"] = GIVEN_NAMES[index % len(GIVEN_NAMES)]
        record["family_name"] = FAMILY_NAMES[index % len(FAMILY_NAMES)]
        ready = (
            record["team"] in BOARD_TEAMS and record["team"] not in on_board and not record["died"]
        )
        if ready:
            on_board.add(record["team"])
        record["board_ready"] = ready
        # Days from the end of follow-up to the seeding day: recent for cases going to the board.
        record["follow_up_lag_days"] = rng.randrange(7, 30) if ready else rng.randrange(30, 400)
        if record["case"]["oncotree_code"] not in names:
            raise SystemExit(f"{record['case']['oncotree_code']} is not in {ONCOTREE_TSV.name}")
    ordered_keys = (
        "mrn", "given_name", "family_name", "sex", "team", "source", "source_record",
        "demo_source", "age_at_diagnosis_years", "birth_offset_days", "survival_days",
        "died", "death_title", "death_detail", "follow_up_lag_days", "board_ready", "case",
        "therapies", "mutations", "facts",
    )  # fmt: skip
    return {
        "format": FORMAT_VERSION,
        "seed": SEED,
        "teams": list(TEAMS),
        "patients": [{key: record[key] for key in ordered_keys} for record in records],
    }


def expression_table(data: Path, built: dict[str, Any]) -> bytes:
    """The TCGA demo patients' RNA z-scores as one gzipped CSV (source_record, gene, zscore).

    Values are PORPOISE's ``<GENE>_rnaseq`` columns as listed (the first slide row of the case);
    ``seed_demo`` imports each patient's rows through the expression importer as z-scores against
    the TCGA cohort, which clips them to [-10, 10] as the reference does. UCEC has no RNA there.
    """
    wanted: dict[str, set[str]] = {}
    for patient in built["patients"]:
        if patient["source"].startswith("TCGA-"):
            cohort = patient["source"].removeprefix("TCGA-").lower()
            wanted.setdefault(cohort, set()).add(patient["source_record"])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["source_record", "gene", "zscore"])
    for cohort in sorted(wanted):
        path = data / "tcga-porpoise-multimodal" / "datasets_csv_mutsig"
        with (
            zipfile.ZipFile(path / f"tcga_{cohort}_all_clean.csv.zip") as archive,
            archive.open(archive.namelist()[0]) as raw,
        ):
            reader = csv.reader(io.TextIOWrapper(raw, encoding="utf-8", newline=""))
            header = next(reader)
            case_at = header.index("case_id")
            genes = [
                (i, n.removesuffix("_rnaseq"))
                for i, n in enumerate(header)
                if n.endswith("_rnaseq")
            ]
            done: set[str] = set()
            for row in reader:
                case = row[case_at]
                if case not in wanted[cohort] or case in done or not genes:
                    continue
                done.add(case)
                for index, gene in genes:
                    if _known(row[index]):
                        writer.writerow([case, gene, f"{float(row[index]):.4f}"])
    return gzip.compress(out.getvalue().encode("utf-8"), mtime=0)


def render(data: Path) -> str:
    """One patient per line: small, and a rebuild's diff shows which patients changed."""
    built = build(data)
    head = {key: value for key, value in built.items() if key != "patients"}
    lines = [json.dumps(patient, ensure_ascii=False) for patient in built["patients"]]
    body = ",\n  ".join(lines)
    return json.dumps(head, ensure_ascii=False)[:-1] + ', "patients": [\n  ' + body + "\n]}\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shared data folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="file to write")
    parser.add_argument(
        "--expression-out", type=Path, default=DEFAULT_EXPRESSION_OUT, help="expression file"
    )
    parser.add_argument("--check", action="store_true", help="compare with --out, write nothing")
    args = parser.parse_args(argv)
    text = render(args.data)
    expression = expression_table(args.data, build(args.data))
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        stored = args.expression_out.read_bytes() if args.expression_out.exists() else b""
        if current != text or stored != expression:
            sys.stderr.write("the demo files are out of date; run python demo/build_demo.py\n")
            return 1
        return 0
    args.out.write_text(text, encoding="utf-8")
    args.expression_out.write_bytes(expression)
    sys.stdout.write(f"wrote {args.out} ({len(text)} bytes) and {args.expression_out}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
