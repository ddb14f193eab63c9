"""Any table in the schema can be evaluated (issue #20 item 7): a shipped checkpoint scored on a
table that lacks some of its inputs masks them and says how many it had."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from inference.models import load_members
from inference.runtime import sha256_of
from inference.training import evaluate
from inference.training.cohorts import load_cohort
from inference.training.evaluate import columns_for, input_coverage
from inference.training.tables import cohort_from_table, load_table
from inference.weights import SHIPPED

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"
needs_data = pytest.mark.skipif(
    not (DATA / "deepsurv-survival-h5").exists(), reason="shared data folder not mounted"
)


def _metabric_table(path: Path, *, drop: tuple[str, ...]) -> Path:
    """The METABRIC test rows written in the table schema, without the ``drop`` features."""
    cohort = load_cohort("metabric", DATA)
    rows = cohort.splits[0].test
    frame = pd.DataFrame({"time_months": cohort.times[rows], "event": cohort.events[rows]})
    for modality, names in cohort.names.items():
        for j, name in enumerate(names):
            if name not in drop:
                frame[f"{modality}.{name}"] = cohort.tabular[modality][rows, j]
    assert cohort.treatment is not None
    for j, name in enumerate(cohort.treatments):
        frame[f"treatment.{name}"] = cohort.treatment[rows, j]
    frame["split"] = "test"
    frame.to_csv(path, index=False)
    return path


@needs_data
def test_a_checkpoint_scores_a_table_lacking_some_genes(tmp_path: Path) -> None:
    table = _metabric_table(tmp_path / "site.csv", drop=("MKI67", "EGFR"))
    cohort = cohort_from_table(table)
    shipped = SHIPPED["oncoboard-metabric"]
    path = shipped.path
    members, _ = load_members(path, expected_sha256=shipped.sha256)
    config = members[0].config
    columns = columns_for(cohort, config)  # used to raise KeyError('MKI67')
    assert (columns["expression"] == -1).sum() == 2
    coverage = input_coverage(cohort, config)
    assert coverage["by_modality"]["expression"] == {"present": 2, "inputs": 4}
    assert coverage["present"] == coverage["inputs"] - 2

    out = tmp_path / "reports"
    code = evaluate.main(
        ["--table", str(table), "--checkpoint", str(path), "--no-rsf", "--out", str(out),
         "--data", str(DATA), "--threads", "1"]
    )  # fmt: skip
    assert code == 0
    report = json.loads((out / "site.json").read_text())
    assert report["input_coverage"]["present"] == coverage["present"]
    c_masked = report["splits"][0]["model"]["c_index"]
    # Masked, not zero-filled: the model still ranks patients on what the table has.
    assert 0.55 < c_masked < 0.75


def test_a_table_without_outcomes_is_refused_with_the_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("time_months,clinical.age\n3,50\n")
    with pytest.raises(ValueError, match="missing column"):
        load_table(path)
    path.write_text("time_months,event\n3,1\n-1,0\n")
    with pytest.raises(ValueError, match="row 3"):
        load_table(path)


def test_an_unknown_cohort_or_a_bad_table_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere.csv"
    data = tmp_path
    with pytest.raises(SystemExit) as stopped:
        evaluate.main(["--table", str(missing), "--data", str(data)])
    assert stopped.value.code == 2
    assert "is not a file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        evaluate.main(["--cohort", "not_a_cohort", "--data", str(data)])
    assert "unknown cohort" in capsys.readouterr().err


def test_bare_columns_are_clinical_and_treatment_columns_are_treatments(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    frame = pd.DataFrame(
        {
            "time_months": [1.0, 2.0, 3.0, 4.0, 5.0],
            "event": [1, 0, 1, 0, 1],
            "age_years": [50, 60, np.nan, 70, 80],
            "treatment.chemotherapy": [1, 0, 1, 0, 1],
            "diagnosis_day": [0, 1, 2, 3, 4],
        }
    )
    frame.to_csv(path, index=False)
    cohort = cohort_from_table(path)
    assert cohort.names == {"clinical": ("age_years",)}
    assert cohort.treatments == ("chemotherapy",)
    assert np.isnan(cohort.tabular["clinical"][2, 0])
    assert len(cohort.splits[0].train) == 4


def test_the_recalibrate_command_fits_on_a_site_table(tmp_path: Path) -> None:
    """Real men of SurvSet's prostateSurvival in the site table's schema (some fields absent)."""
    from inference.training import recalibrate
    from inference.training.portrait_loaders import survset_table

    rows = survset_table("prostateSurvival").sample(400, random_state=3).reset_index(drop=True)
    table = pd.DataFrame(
        {
            "time_months": rows["time"].astype(float),
            "event": rows["event"],
            "cancer_type": "PRAD",
            "age_years": rows["fac_ageGroup"].map(
                {"66-69": 67, "70-74": 72, "75-79": 77, "80+": 82}
            ),
            "sex_female": 0.0,
            "grade": rows["fac_grade"].map({"mode": 2.0, "poor": 3.0}),
            "diagnosis_day": np.arange(len(rows)),
        }
    )
    path = tmp_path / "site_training_table.csv"
    table.to_csv(path, index=False)
    out = tmp_path / "recal.json"
    assert recalibrate.main(["--table", str(path), "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["split"]["older"] == 200 and result["split"]["newer"] == 200
    models = result["report"]["models"]
    assert models["candidate"]["citl_abs_error"] < 0.5 * models["active"]["citl_abs_error"]


@needs_data
def test_train_takes_a_table_by_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from inference.training import train

    table = _metabric_table(tmp_path / "site.csv", drop=("EGFR",))
    frame = pd.read_csv(table).drop(columns=["split"])  # no split column: a seeded 80/20 split
    frame.to_csv(table, index=False)
    out = tmp_path / "site.pt"
    argv = ["--table", str(table), "--out", str(out), "--members", "1", "--epochs", "3"]
    assert train.main([*argv, "--data", str(DATA), "--threads", "1"]) == 0
    members, meta = load_members(out, expected_sha256=sha256_of(out))
    assert members[0].config.expression is not None
    assert "EGFR" not in members[0].config.expression.features.names
    assert "held-out table: C" in capsys.readouterr().out
    assert meta["extras"]["metrics"]["model"]["c_index"] > 0.55
