"""``manage.py seed_demo`` and the demo data file it reads."""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import json
import stat
import sys
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from types import ModuleType

import pytest
from django.conf import LazySettings, settings
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.core.management.base import OutputWrapper

from oncology_ui.core import roles
from oncology_ui.core.models import Team
from oncology_ui.demodata.seed import DEMO_SITE, demo_records_load, next_board_date
from oncology_ui.patients.models import Case, Patient, TimelineEvent
from oncology_ui.patients.vocabularies import oncotree_lookup

REPO_ROOT = Path(settings.BASE_DIR)
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"

pytestmark = pytest.mark.django_db


def _seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", "--without-reference-data", *args, stdout=out)
    return out.getvalue()


def _counts() -> dict[str, int]:
    return {
        "users": get_user_model().objects.count(),
        "teams": Team.objects.count(),
        "patients": Patient.objects.count(),
        "cases": Case.objects.count(),
        "events": TimelineEvent.objects.count(),
        "memberships": Team.members.through.objects.count(),
    }


def test_it_creates_a_user_for_every_role_with_staff_only_for_administrators() -> None:
    _seed()
    users = get_user_model().objects.filter(username__startswith="demo.")
    by_role = {
        role: [u for u in users if u.groups.filter(name=role).exists()] for role in roles.ROLES
    }
    assert all(by_role[role] for role in roles.ROLES), by_role
    for user in users:
        assert user.is_staff == user.groups.filter(name=roles.ADMINISTRATOR).exists()
        clinical = not user.groups.filter(name=roles.ADMINISTRATOR).exists()
        assert user.care_teams.exists() == clinical, user.username


@pytest.mark.slow
def test_it_creates_twelve_or_more_demo_patients_all_marked_with_their_source() -> None:
    _seed()
    patients = Patient.objects.all()
    assert patients.count() >= 12
    for patient in patients:
        assert patient.is_demo
        assert patient.site == DEMO_SITE and patient.mrn.startswith("DEMO-")
        assert patient.demo_source.startswith(("TCGA-", "METABRIC "))
        assert patient.teams.exists()
    sources = {patient.demo_source.split()[0] for patient in patients}
    assert "METABRIC" in sources and any(s.startswith("TCGA-") for s in sources)


@pytest.mark.slow
def test_every_demo_case_and_patient_passes_full_clean() -> None:
    _seed()
    cases = list(Case.objects.select_related("patient"))
    assert len(cases) >= 12
    for case in cases:
        case.full_clean()
        case.patient.full_clean()
        assert oncotree_lookup(case.oncotree_code) is not None
        for event in case.events.all():
            event.full_clean()


@pytest.mark.slow
def test_rerunning_creates_nothing_new_and_keeps_passwords() -> None:
    first = _seed()
    before = _counts()
    hashes = dict(get_user_model().objects.values_list("username", "password"))
    second = _seed()
    assert _counts() == before
    assert dict(get_user_model().objects.values_list("username", "password")) == hashes
    assert "LOCAL DEMO ONLY" in first
    assert "LOCAL DEMO ONLY" not in second
    assert "0 created" in second


def test_timelines_carry_outcomes_that_match_the_patient_fields() -> None:
    _seed()
    today = dt.date.today()
    records = {r["mrn"]: r for r in demo_records_load()["patients"]}
    for patient in Patient.objects.prefetch_related("cases__events"):
        deceased = patient.vital_status == Patient.VitalStatus.DECEASED
        assert deceased == records[patient.mrn]["died"], patient.mrn
        (case,) = patient.cases.all()
        kinds = [event.kind for event in case.events.all()]
        assert kinds[0] == TimelineEvent.Kind.DIAGNOSIS
        assert patient.last_contact_date is not None and patient.last_contact_date <= today
        if patient.vital_status == Patient.VitalStatus.DECEASED:
            assert kinds[-1] == TimelineEvent.Kind.DEATH
            assert patient.date_of_death == patient.last_contact_date
        else:
            assert kinds[-1] == TimelineEvent.Kind.LAST_FOLLOW_UP
    assert Patient.objects.filter(vital_status=Patient.VitalStatus.DECEASED).exists()
    assert Patient.objects.filter(vital_status=Patient.VitalStatus.ALIVE).exists()


def test_age_at_diagnosis_matches_the_source_record() -> None:
    _seed()
    records = {r["mrn"]: r for r in demo_records_load()["patients"]}
    for case in Case.objects.select_related("patient"):
        assert case.age_at_diagnosis == records[case.patient.mrn]["age_at_diagnosis_years"]


def test_some_cases_are_ready_for_the_board_in_the_coming_week() -> None:
    _seed()
    today = dt.date.today()
    ready = Case.objects.filter(status=Case.Status.READY)
    assert ready.count() >= 3
    for case in ready:
        assert case.board_date == next_board_date(today)
        assert today < case.board_date <= today + dt.timedelta(days=7)


def test_password_file_holds_working_random_passwords_readable_by_owner_only(
    tmp_path: Path,
) -> None:
    path = tmp_path / "passwords.json"
    output = _seed("--password-file", str(path))
    passwords = json.loads(path.read_text())
    assert set(passwords) == set(
        get_user_model()
        .objects.filter(username__startswith="demo.")
        .values_list("username", flat=True)
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(set(passwords.values())) == len(passwords)
    for username, password in passwords.items():
        assert len(password) >= 16
        assert password in output
        assert _password_works(username, password)


def _password_works(username: str, password: str) -> bool:
    # The password itself, not a sign-in: authenticate() would need a request for the lockout.
    return bool(get_user_model().objects.get(username=username).check_password(password))


def test_reset_passwords_replaces_the_passwords_of_existing_accounts(tmp_path: Path) -> None:
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    _seed("--password-file", str(first))
    _seed("--reset-passwords", "--password-file", str(second))
    old, new = json.loads(first.read_text()), json.loads(second.read_text())
    assert set(old) == set(new)
    for username in old:
        assert old[username] != new[username]
        assert not _password_works(username, old[username])
        assert _password_works(username, new[username])


def test_the_breast_oncologist_sees_only_breast_patients() -> None:
    _seed()
    user = get_user_model().objects.get(username="demo.breast")
    visible = Patient.objects.visible_to(user)
    assert visible.exists()
    assert set(visible.values_list("teams__name", flat=True)) == {"Breast MDT"}
    assert visible.count() < Patient.objects.count()


@pytest.fixture(scope="module")
def build_demo() -> Iterator[ModuleType]:
    """``demo/build_demo.py``, a script rather than a package module, loaded by path."""
    name = "build_demo"
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "demo" / "build_demo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(name, None)


needs_shared_data = pytest.mark.skipif(
    not SHARED_DATA.is_dir(), reason="../shared/data is not available here"
)


@pytest.mark.slow
@needs_shared_data
def test_the_committed_demo_file_is_what_build_demo_builds(build_demo: ModuleType) -> None:
    committed = (REPO_ROOT / "demo" / "demo_patients.json").read_text(encoding="utf-8")
    assert build_demo.render(SHARED_DATA) == committed
    expression = (REPO_ROOT / "demo" / "demo_expression.csv.gz").read_bytes()
    assert build_demo.expression_table(SHARED_DATA, build_demo.build(SHARED_DATA)) == expression


@pytest.mark.slow
@needs_shared_data
def test_demo_outcomes_match_the_source_records() -> None:
    with (SHARED_DATA / "metabric-cbioportal" / "metabric_survival.tsv").open() as handle:
        metabric = {row["patientId"]: row for row in csv.DictReader(handle, delimiter="\t")}
    for record in demo_records_load()["patients"]:
        if record["source"] != "METABRIC":
            continue
        source = metabric[record["source_record"]]
        # "Died of Other Causes" is a death too (event 2, a competing risk), not a survivor.
        assert record["died"] == (source["event_str"] != "Living"), record["mrn"]
        assert record["survival_days"] == int(float(source["time"]))


def test_it_refuses_a_production_configuration_unless_told_otherwise(
    settings: LazySettings,
) -> None:
    settings.HTTPS, settings.DEBUG = True, False
    with pytest.raises(CommandError, match="local demo"):
        _seed()
    assert not Patient.objects.exists()
    assert not get_user_model().objects.filter(username__startswith="demo.").exists()
    _seed("--allow-https")
    assert Patient.objects.filter(is_demo=True).count() >= 12


@pytest.mark.slow
def test_a_loaded_trial_corpus_is_left_alone_by_the_seed() -> None:
    from oncology_ui.trials.models import Trial
    from tests.oncology_ui.trials.factories import trial

    trial("NCT90000009")
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert "a corpus is already loaded" in out.getvalue()
    assert "Therapy knowledge base" in out.getvalue() and "loaded" in out.getvalue()
    assert list(Trial.objects.values_list("nct_id", flat=True)) == ["NCT90000009"]


@pytest.mark.slow
def test_the_composed_imaging_case_has_a_processed_slide_and_study_and_says_their_sources() -> None:
    from oncology_ui.demodata.seed import IMAGES_MRN, demo_images_case, demo_records_load, demo_seed
    from oncology_ui.imaging.models import ImagingSeries
    from oncology_ui.pathology.models import Slide

    demo_seed(data=demo_records_load())
    author = get_user_model().objects.get(username="demo.oncologist")
    case = demo_images_case(author=author)
    assert case is not None and "not from this patient" in case.notes
    slide = Slide.objects.get(case=case)
    assert slide.status == "ready" and (slide.tile_count or 0) > 0
    modalities = set(
        ImagingSeries.objects.filter(study__case=case).values_list("modality", flat=True)
    )
    assert {"CT", "PT"} <= modalities
    assert demo_images_case(author=author) is None  # a rerun adds nothing
    assert Case.objects.filter(patient__mrn=IMAGES_MRN).count() == 1


def test_demo_protein_changes_and_er_status_arrive_through_the_clinical_importer() -> None:
    from oncology_ui.clinical.models import Biomarker, ClinicalImport, Variant

    output = _seed()
    assert "Molecular results (variants, ER) imported for 6 demo patients." in output
    assert ClinicalImport.objects.filter(status="imported", kind="variant_csv").count() == 6
    pik3ca = Variant.objects.get(case__patient__mrn="DEMO-0001", gene="PIK3CA")
    assert pik3ca.protein_short == "p.E545K"
    assert Biomarker.objects.get(case__patient__mrn="DEMO-0001", name="ER").status == "positive"
    # TCGA panel flags name a gene but no variant: nothing is invented for them.
    assert not Variant.objects.filter(case__patient__demo_source__startswith="TCGA").exists()
    _seed()
    assert ClinicalImport.objects.filter(kind="variant_csv").count() == 6  # nothing twice


def test_the_tcga_demo_patients_get_their_tcga_expression_through_the_importer() -> None:
    from oncology_ui.clinical.expression import measured_hallmarks
    from oncology_ui.clinical.models import ClinicalImport, ExpressionProfile

    output = _seed()
    # 14 TCGA patients; TCGA-UCEC has no RNA in the PORPOISE table.
    assert "Expression (TCGA z-scores) imported for 13 demo patients." in output
    expression = ClinicalImport.objects.filter(kind="expression")
    assert expression.count() == expression.filter(status="imported").count() == 13
    lung = ExpressionProfile.objects.get(case__patient__demo_source__contains="TCGA-55-8207")
    assert lung.reference_label == "TCGA-LUAD" and lung.genes_matched == 1555
    assert lung.unit == "zscore" and lung.genes_unmatched == 0
    hallmarks = measured_hallmarks(lung.case)
    assert hallmarks is not None and all(
        s.percentile is not None for s in hallmarks.profile.gene_sets if s.score is not None
    )
    _seed()
    assert ClinicalImport.objects.filter(kind="expression").count() == 13


def test_the_demo_passwords_are_the_last_thing_printed(tmp_path: Path) -> None:
    output = _seed("--password-file", str(tmp_path / "passwords.json")).rstrip().splitlines()
    passwords = json.loads((tmp_path / "passwords.json").read_text())
    tail = output[-len(passwords) :]
    assert sorted(line.split()[0] for line in tail) == sorted(passwords)
    assert "LOCAL DEMO ONLY" in output[-len(passwords) - 1]


@pytest.mark.slow
@pytest.mark.usefixtures("bm25_only_trials")
def test_the_trial_load_prints_its_progress_as_it_goes() -> None:
    """The real import service drives the printer that seed_demo hands to the shipped load."""
    from oncology_ui.demodata.management.commands.seed_demo import ProgressPrinter
    from oncology_ui.trials.imports import ReadOutcome, trial_corpus_import_records
    from oncology_ui.trials.models import TrialCorpusImport
    from tests.oncology_ui.trials.factories import trial_record

    # The import reports every 250 trials: 500 give two parse reports, then the later stages.
    records = tuple(trial_record(f"NCT9{n:07d}") for n in range(500))
    out = StringIO()
    trial_corpus_import_records(
        record=TrialCorpusImport.objects.create(
            source=TrialCorpusImport.Source.COMMAND, original_name="test records"
        ),
        outcome=ReadOutcome(records, ()),
        progress=ProgressPrinter(OutputWrapper(out), "Trials"),
    )
    lines = out.getvalue().splitlines()
    assert [line for line in lines if "Parsed criteria of" in line] == [
        "  Trials:  40%  Parsed criteria of 250 of 500 trials",
        "  Trials:  70%  Parsed criteria of 500 of 500 trials",
    ], lines
    percents = [int(line.split(":")[1].split("%")[0]) for line in lines]
    assert percents == sorted(percents)
