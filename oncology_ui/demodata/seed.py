"""Demo care teams, users and patients for the local demo (``manage.py seed_demo``).

Patients come from ``demo/demo_patients.json``, built by ``demo/build_demo.py`` from real public
research records (TCGA, METABRIC; see ``demo/ATTRIBUTION.md``). Every write goes through the
services of :mod:`oncology_ui.patients.services`, so the demo passes the same validation as data
typed in by a clinician. Seeding is idempotent: teams, users and patients that exist are kept as
they are and nothing is created twice.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import logging
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from oncology_ui.analysis.services import analysis_request, prediction_latest
from oncology_ui.boards import services as boards
from oncology_ui.boards.models import AgendaItem, Board, Meeting
from oncology_ui.clinical.expression import expression_options
from oncology_ui.clinical.models import ClinicalImport
from oncology_ui.clinical.services import import_receive
from oncology_ui.core import roles
from oncology_ui.core.jobs import job_run
from oncology_ui.core.models import Team
from oncology_ui.imaging.services import upload_receive
from oncology_ui.pathology.services import slide_receive_file
from oncology_ui.patients import services
from oncology_ui.patients.models import Case, Patient, TimelineEvent
from oncology_ui.therapies.selectors import ranking_latest
from oncology_ui.therapies.services import RankingUnavailable, ranking_compute
from oncology_ui.trials.services import trial_match_latest, trial_match_request

logger = logging.getLogger(__name__)

DEMO_SITE = "demo"
DEMO_DATA_FILE = Path(settings.BASE_DIR) / "demo" / "demo_patients.json"
DEMO_EXPRESSION_FILE = Path(settings.BASE_DIR) / "demo" / "demo_expression.csv.gz"
# Tumor boards meet on one weekday; demo cases "ready for board" go to the next one.
BOARD_WEEKDAY = 2  # Wednesday


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    role: str
    # None: every demo team; () : no team (administrators manage, they do not treat).
    teams: tuple[str, ...] | None = None


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("demo.oncologist", "Demo", "Oncologist", roles.ONCOLOGIST),
    DemoUser("demo.pathologist", "Demo", "Pathologist", roles.PATHOLOGIST),
    DemoUser("demo.radiologist", "Demo", "Radiologist", roles.RADIOLOGIST),
    DemoUser("demo.trials", "Demo", "Trial Coordinator", roles.TRIAL_COORDINATOR),
    DemoUser("demo.admin", "Demo", "Administrator", roles.ADMINISTRATOR, teams=()),
    # Sees the Breast MDT only: shows that care teams scope what a clinician can open.
    DemoUser("demo.breast", "Demo", "Breast Oncologist", roles.ONCOLOGIST, teams=("Breast MDT",)),
)
# The account that "created" the demo record (services want an author).
DEMO_AUTHOR = "demo.oncologist"


@dataclass
class SeedReport:
    """What one seeding run did; passwords only for accounts whose password it set."""

    teams_created: list[str] = field(default_factory=list)
    users_created: list[str] = field(default_factory=list)
    users_existing: list[str] = field(default_factory=list)
    passwords: dict[str, str] = field(default_factory=dict)
    patients_created: list[str] = field(default_factory=list)
    patients_existing: list[str] = field(default_factory=list)
    cases_on_board: list[str] = field(default_factory=list)
    board_meetings: list[str] = field(default_factory=list)


def demo_records_load(path: Path = DEMO_DATA_FILE) -> dict[str, Any]:
    """The demo data file, checked for the format this module understands."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("format") != 1 or not isinstance(data.get("patients"), list):
        raise ValueError(f"{path} is not a demo data file of format 1")
    return dict(data)


def next_board_date(today: date) -> date:
    """The next board day strictly after ``today`` (so always within the coming week)."""
    days = (BOARD_WEEKDAY - today.weekday()) % 7 or 7
    return today + timedelta(days=days)


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)


def _new_password() -> str:
    # 120 random bits, URL-safe so it can be typed and pasted; never stored in the repository.
    return secrets.token_urlsafe(15)


@transaction.atomic
def demo_seed(
    *,
    data: dict[str, Any],
    today: date | None = None,
    reset_passwords: bool = False,
) -> SeedReport:
    """Create what is missing of the demo teams, users and patients.

    1. Make sure the role groups exist (``roles_setup`` is idempotent).
    2. Create missing teams.
    3. Create missing users with a random password; with ``reset_passwords`` existing demo users
       get a new one too. Group and team membership are (re)added, never removed.
    4. Create each patient whose demo MRN does not exist yet, with its case and timeline.
    """
    today = today or timezone.localdate()
    report = SeedReport()
    roles.roles_setup()
    teams: dict[str, Team] = {}
    for name in data["teams"]:
        team, created = Team.objects.get_or_create(
            name=name, defaults={"description": "Demo care team (local demo data)"}
        )
        teams[name] = team
        if created:
            report.teams_created.append(name)
    users = {spec.username: _demo_user(spec, teams, report, reset_passwords) for spec in DEMO_USERS}
    author = users[DEMO_AUTHOR]
    board_day = next_board_date(today)
    for record in data["patients"]:
        if Patient.objects.filter(site=DEMO_SITE, mrn=record["mrn"]).exists():
            report.patients_existing.append(record["mrn"])
            continue
        case = _demo_patient(record, teams=teams, author=author, today=today)
        report.patients_created.append(record["mrn"])
        if record.get("board_ready"):
            case = services.case_update(case=case, board_date=board_day)
            services.case_set_status(case=case, status=Case.Status.READY)
            report.cases_on_board.append(record["mrn"])
    report.board_meetings = demo_boards_seed(teams=list(teams.values()), author=author)
    return report


def demo_board_name(team: Team) -> str:
    return f"{team.name.removesuffix(' MDT')} tumor board"


def demo_boards_seed(*, teams: list[Team], author: User) -> list[str]:
    """A tumor board for each demo care team, and the meetings its ready cases are marked for.

    1. Create each team's board if missing (one per team: a board's agenda holds only the
       patients of its care team).
    2. For every demo case marked "ready for board" with a board date, create the meeting of its
       team's board on that date if missing, with the team's demo clinicians attending.
    3. Put the case on that meeting's agenda, presented by the demo author, if it is not there.

    Runs on every seed (idempotent), so a database seeded before boards existed gets them too.

    Returns:
        The meetings created, as ``"<board> <date>"``.
    """
    by_team: dict[int, Board] = {}
    for team in teams:
        board = Board.objects.filter(team=team, site=DEMO_SITE).first()
        if board is None:
            board = boards.board_create(
                name=demo_board_name(team),
                site=DEMO_SITE,
                specialty=team.name.removesuffix(" MDT"),
                team=team,
            )
        by_team[team.pk] = board
    created: list[str] = []
    ready = (
        Case.objects.filter(
            patient__site=DEMO_SITE, status=Case.Status.READY, board_date__isnull=False
        )
        .select_related("patient")
        .prefetch_related("patient__teams")
        .order_by("board_date", "pk")
    )
    for case in ready:
        assert case.board_date is not None  # filtered above
        for team in case.patient.teams.all():
            board = by_team.get(team.pk)
            if board is None:
                continue
            meeting = Meeting.objects.filter(board=board, date=case.board_date).first()
            if meeting is None:
                clinicians = team.members.filter(username__startswith="demo.").exclude(
                    groups__name=roles.ADMINISTRATOR
                )
                meeting = boards.meeting_create(
                    board=board,
                    date=case.board_date,
                    title="Weekly meeting (demo)",
                    created_by=author,
                    attendees=list(clinicians),
                )
                created.append(f"{board.name} {meeting.date:%Y-%m-%d}")
            if not AgendaItem.objects.filter(meeting=meeting, case=case).exists():
                presenter = author if team.members.filter(pk=author.pk).exists() else None
                boards.agenda_item_add(meeting=meeting, case=case, presenter=presenter)
    return created


def _demo_user(
    spec: DemoUser, teams: dict[str, Team], report: SeedReport, reset_passwords: bool
) -> User:
    user, created = User.objects.get_or_create(
        username=spec.username,
        defaults={
            "first_name": spec.first_name,
            "last_name": spec.last_name,
            "email": f"{spec.username}@demo.invalid",
            "is_staff": spec.role == roles.ADMINISTRATOR,
        },
    )
    if created or reset_passwords:
        password = _new_password()
        user.set_password(password)
        user.save()
        report.passwords[spec.username] = password
    (report.users_created if created else report.users_existing).append(spec.username)
    user.groups.add(Group.objects.get(name=spec.role))
    member_of = teams.values() if spec.teams is None else [teams[name] for name in spec.teams]
    for team in member_of:
        team.members.add(user)
    return user


def _demo_patient(
    record: dict[str, Any], *, teams: dict[str, Team], author: User, today: date
) -> Case:
    """One patient with one case; dates count back from the end of follow-up (see ATTRIBUTION)."""
    follow_up_end = today - timedelta(days=int(record["follow_up_lag_days"]))
    diagnosis = follow_up_end - timedelta(days=int(record["survival_days"]))
    # Whole years of age at diagnosis, then the seeded or source-given days within the year.
    birth = _years_before(diagnosis, int(record["age_at_diagnosis_years"])) - timedelta(
        days=int(record["birth_offset_days"])
    )
    patient = services.patient_create(
        teams=[teams[record["team"]]],
        created_by=author,
        site=DEMO_SITE,
        mrn=record["mrn"],
        given_name=record["given_name"],
        family_name=record["family_name"],
        birth_date=birth,
        sex=record["sex"],
        is_demo=True,
        demo_source=record["demo_source"],
    )
    spec = record["case"]
    notes = "\n".join(
        [
            f"Demo case from public research records: {record['demo_source']}. "
            "Dates are derived from survival times, not taken from the source.",
            *record["facts"],
        ]
    )
    case_fields: dict[str, Any] = {
        "primary_diagnosis": spec["primary_diagnosis"],
        "oncotree_code": spec["oncotree_code"],
        "icd10_code": spec["icd10_code"],
        "histology": spec["histology"],
        "stage_group": spec["stage_group"],
        "diagnosis_date": diagnosis,
        "notes": notes,
    }
    if spec.get("ajcc_edition") is not None:
        case_fields["ajcc_edition"] = spec["ajcc_edition"]
    # Pathology the source tables record (nodes and menopause in METABRIC, grade in TCGA).
    for name in ("grade", "nodes_positive", "menopausal_status"):
        if spec.get(name) not in (None, ""):
            case_fields[name] = spec[name]
    case = services.case_create(patient=patient, created_by=author, **case_fields)
    for therapy in record["therapies"]:
        # Illustrative dates never pass the end of follow-up.
        day = min(int(therapy["day"]), int(record["survival_days"]))
        services.timeline_event_create(
            case=case,
            created_by=author,
            kind=therapy["kind"],
            date=diagnosis + timedelta(days=day),
            title=therapy["title"],
            regimen=therapy["regimen"],
            detail=therapy["detail"],
        )
    if record["died"]:
        services.timeline_event_create(
            case=case,
            created_by=author,
            kind=TimelineEvent.Kind.DEATH,
            date=follow_up_end,
            title=record["death_title"],
            detail=record["death_detail"] + " Date derived from the survival time.",
        )
    else:
        services.timeline_event_create(
            case=case,
            created_by=author,
            kind=TimelineEvent.Kind.LAST_FOLLOW_UP,
            date=follow_up_end,
            title="Alive",
            detail="End of follow-up in the source, censored; date derived from the survival time.",
        )
    return case


_PROTEIN_CHANGE = re.compile(r"^([A-Z0-9-]+) ([A-Z*]\d+[A-Za-z*\d]*)$")
_ER_FACT = re.compile(r"ER by IHC: (positive|negative)")


def demo_molecular_csv(record: dict[str, Any], reported: date) -> bytes | None:
    """The record's protein changes and ER status as a variant CSV, or None when it has none.

    Gene-only entries (TCGA panel flags without a protein change) are left out: the importer
    needs the variant, and a demo must not invent one.
    """
    rows: list[dict[str, str]] = []
    for text in record.get("mutations", []):
        match = _PROTEIN_CHANGE.match(text.strip())
        if match:
            rows.append({"kind": "mutation", "gene": match[1], "protein_change": f"p.{match[2]}"})
    for fact in record.get("facts", []):
        er = _ER_FACT.search(fact)
        if er:
            rows.append({"kind": "biomarker", "biomarker": "ER", "method": "IHC", "status": er[1]})
    if not rows:
        return None
    out = io.StringIO()
    writer = csv.DictWriter(
        out, fieldnames=["kind", "gene", "protein_change", "biomarker", "method", "status", "date"]
    )
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "date": reported.isoformat()})
    return out.getvalue().encode()


def _demo_import(
    case: Case,
    author: User,
    payload: bytes,
    *,
    mrn: str,
    what: str,
    kind: str,
    options: dict[str, str] | None = None,
) -> bool:
    """Receive one demo file through the clinical importer and run its job here, synchronously
    (the dispatch after commit then finds it finished). True when it succeeded."""
    with transaction.atomic():
        imported = import_receive(
            case=case,
            user=author,
            upload=io.BytesIO(payload),
            name=f"demo-{mrn}-{what}.csv",
            size=len(payload),
            kind=kind,
            options=options,
        )
        if imported.job_id is not None and job_run(imported.job_id) == "succeeded":
            return True
    logger.warning("demo %s import for %s did not succeed", what, mrn)
    return False


def demo_molecular_import(*, data: dict[str, Any], mrns: list[str], author: User) -> int:
    """Import the molecular results of newly created demo patients through the clinical importer.

    The import job runs here, synchronously, so the demo is complete when the command ends;
    the dispatch after commit then finds the job finished and leaves it alone.

    Returns:
        The number of imports that succeeded.
    """
    done = 0
    records = {record["mrn"]: record for record in data["patients"]}
    for mrn in mrns:
        case = Case.objects.filter(patient__site=DEMO_SITE, patient__mrn=mrn).first()
        payload = demo_molecular_csv(records[mrn], case.diagnosis_date) if case else None
        if case is None or payload is None:
            continue
        done += _demo_import(
            case, author, payload, mrn=mrn, what="molecular", kind=ClinicalImport.Kind.VARIANT_CSV
        )
    return done


def demo_expression_files(path: Path = DEMO_EXPRESSION_FILE) -> dict[str, bytes]:
    """Per TCGA case id, its RNA z-scores as the CSV a laboratory would upload (gene, zscore)."""
    rows: dict[str, list[str]] = {}
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            rows.setdefault(row["source_record"], []).append(f"{row['gene']},{row['zscore']}")
    return {
        case: ("gene,zscore\n" + "\n".join(lines) + "\n").encode() for case, lines in rows.items()
    }


def demo_expression_import(*, data: dict[str, Any], mrns: list[str], author: User) -> int:
    """Import the TCGA demo patients' expression (z-scores against their TCGA cohort) through
    the expression importer, as :func:`demo_molecular_import` does for variants.

    Returns:
        The number of imports that succeeded.
    """
    if not DEMO_EXPRESSION_FILE.exists():
        return 0
    files = demo_expression_files()
    records = {record["mrn"]: record for record in data["patients"]}
    done = 0
    for mrn in mrns:
        payload = files.get(records[mrn].get("source_record", ""))
        case = Case.objects.filter(patient__site=DEMO_SITE, patient__mrn=mrn).first()
        if case is None or payload is None:
            continue
        done += _demo_import(
            case,
            author,
            payload,
            mrn=mrn,
            what="expression",
            kind=ClinicalImport.Kind.EXPRESSION,
            options=expression_options(case=case, unit="zscore", scale="tcga"),
        )
    return done


def demo_board_cases_prepare(*, author: User) -> list[str]:
    """Run the model analysis, therapy ranking and trial matching of the demo cases on the next
    board, so board mode shows prognosis, options and trials from the first click.

    Needs the reference data (therapy knowledge base, trial corpus) loaded first. Each job runs
    here inside the transaction that created it, as the other demo imports do; the dispatch after
    commit then finds it finished. A case that already has a result keeps it (idempotent).

    Returns:
        The MRNs of the cases that were prepared.
    """
    prepared: list[str] = []
    cases = Case.objects.filter(
        patient__site=DEMO_SITE, status=Case.Status.READY, board_date__isnull=False
    ).select_related("patient")
    for case in cases:
        with transaction.atomic():
            if prediction_latest(case) is None:
                run = analysis_request(case=case, user=author)
                if run.job_id is None or job_run(run.job_id) != "succeeded":
                    logger.warning("demo analysis of %s did not succeed", case.patient.mrn)
        if ranking_latest(case) is None:
            try:
                ranking_compute(case=case, user=author)
            except RankingUnavailable:
                logger.warning("demo ranking of %s: no knowledge base loaded", case.patient.mrn)
        with transaction.atomic():
            if trial_match_latest(case) is None:
                result = trial_match_request(case=case, user=author)
                if result.job_id is None or job_run(result.job_id) != "succeeded":
                    logger.warning("demo trial matching of %s did not succeed", case.patient.mrn)
        prepared.append(case.patient.mrn)
    return prepared


IMAGES_MRN = "DEMO-IMG1"
IMAGES_TEAM = "Sarcoma MDT"
_FIXTURES = Path(settings.BASE_DIR) / "tests" / "fixtures"
IMAGES_STUDY = _FIXTURES / "dicom" / "sts_002"
IMAGES_SLIDE = _FIXTURES / "slides" / "CMU-1-Small-Region.svs"
IMAGES_STUDY_DATE = date(2006, 1, 28)  # StudyDate of STS_002 as TCIA distributes it


def demo_images_case(*, author: User) -> Case | None:
    """One composed demo patient showing the image capabilities; None when it already exists.

    No public cohort has slides, scans, labs and genomics of the same person, so this case
    combines sources and says so on the page: the CT, FDG-PET and tumour contour of TCIA
    soft-tissue-sarcoma patient STS_002 (CC BY 3.0) and the H&E slide CMU-1-Small-Region
    (OpenSlide test data, CC0), which does not come from that patient. The source gives no age.
    """
    if Patient.objects.filter(site=DEMO_SITE, mrn=IMAGES_MRN).exists():
        return None
    team, _ = Team.objects.get_or_create(
        name=IMAGES_TEAM, defaults={"description": "Demo care team (local demo data)"}
    )
    for user in User.objects.filter(username__startswith="demo."):
        if not user.groups.filter(name=roles.ADMINISTRATOR).exists():
            team.members.add(user)
    with transaction.atomic():
        patient = services.patient_create(
            teams=[team],
            created_by=author,
            site=DEMO_SITE,
            mrn=IMAGES_MRN,
            given_name="Imaging",
            family_name="Demo",
            birth_date=_years_before(IMAGES_STUDY_DATE, 60),
            sex="male",
            is_demo=True,
            demo_source="Composed: TCIA Soft-tissue-Sarcoma STS_002 images + OpenSlide CMU-1 slide",
        )
        case = services.case_create(
            patient=patient,
            created_by=author,
            primary_diagnosis="Soft tissue sarcoma of the extremity",
            oncotree_code="SOFT_TISSUE",
            icd10_code="C49.9",
            histology="Not stated in the source",
            stage_group="",
            diagnosis_date=IMAGES_STUDY_DATE,
            notes=(
                "Composed demo case: CT, FDG-PET (SUV) and the GTV contour of TCIA "
                "soft-tissue-sarcoma patient STS_002 (CC BY 3.0); the H&E slide is OpenSlide's "
                "CMU-1-Small-Region (CC0) and is not from this patient. The source gives no age "
                "and no diagnosis date: the age (60) is a placeholder and the diagnosis is dated "
                "on the day of the study as TCIA distributes it."
            ),
        )
    files = sorted(p for p in IMAGES_STUDY.rglob("*.dcm"))
    handles = [p.open("rb") for p in files]
    # Each job runs here inside the transaction that created it, so the dispatch after commit
    # finds it finished: the seed ends with the images processed, and nothing runs beside it.
    try:
        with transaction.atomic():
            upload = upload_receive(
                case=case,
                user=author,
                files=[
                    File(h, name=p.relative_to(IMAGES_STUDY).as_posix())
                    for h, p in zip(handles, files, strict=True)
                ],
            )
            if upload.job_id is not None:
                job_run(upload.job_id)
    finally:
        for handle in handles:
            handle.close()
    with IMAGES_SLIDE.open("rb") as fh, transaction.atomic():
        slide = slide_receive_file(case=case, user=author, upload=File(fh), name=IMAGES_SLIDE.name)
        if slide.job_id is not None:
            job_run(slide.job_id)
    return case
