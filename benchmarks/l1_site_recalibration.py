"""L1: the outcomes flywheel on a public cohort entered as the site's own patients.

The cohort: SurvSet's ``prostateSurvival`` (asaur; Lu-Yao et al. 2009, SEER-Medicare): men of 66
and over with localised prostate cancer (stage T1a/b, T1c, T2), grade moderately or poorly
differentiated, age group, and months from diagnosis to prostate-cancer death (other deaths are
censored in this table). The active prognosis model for prostate cancer, the clinical portrait
(``inference/weights/portrait/portrait.md``), learnt PRAD only from the Byar trial (stage III/IV,
death from any cause): it never saw this cohort, and its baseline risk is far worse than this
site's (3-year survival about 0.44 predicted against about 0.95 observed), while it still ranks
the men by age, grade and T. That is the situation a site recalibration is for.

1. A throwaway PostgreSQL database ``<DATABASE_URL's name>_l1`` is created afresh and migrated
   (the registry's sync registers the shipped checkpoints; the portrait model is active).
2. A seeded sample of the cohort is entered through the app's services, as a registrar would:
   patient, case (OncoTree PRAD, cT, grade) and an outcome timeline event (death, or last
   follow-up) at the recorded time. The table has no calendar dates, so each man gets a seeded
   diagnosis date between 2008 and 2015 (the order in time is therefore random, which a real
   site's is not); age is the middle of his age group.
3. ``export_training_table`` writes the de-identified table; the recalibration job (temporal
   split at the median diagnosis date) registers a candidate with its site report.
4. The candidate goes to shadow (requested by one administrator, approved by a second with
   their password); new analyses of newer cases store shadow predictions beside the active ones.
5. Activation: the requester cannot approve their own request; the second person does; routing
   now serves the candidate. Rollback: two people again; routing serves the portrait model again.

Reported: on the newer cases (diagnosed after the cut), calibration-in-the-large error at the main
horizon (|Kaplan-Meier - mean predicted S(36 months)|) and Harrell's C, active model against the
recalibrated candidate. Goal: error at most half, C not lower.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from benchmarks import _web_server as web
from benchmarks._app_in_process import django_in_process
from benchmarks.common import BenchmarkResult, result_line

ID = "L1"
TITLE = "outcomes flywheel: site recalibration on a cohort entered as site patients"
SEED = 20
PATIENTS, QUICK_PATIENTS = 1200, 300
PASSWORD = "l1-committee-password-" + "z" * 8
AGE_OF_GROUP = {"66-69": 67, "70-74": 72, "75-79": 77, "80+": 82}
GRADE = {"mode": 2, "poor": 3}
T_OF_STAGE = {"T1ab": "cT1b", "T1c": "cT1c", "T2": "cT2"}


def _database(base: str) -> tuple[str, str]:
    import psycopg
    from psycopg import sql

    name = f"{urlsplit(base).path.lstrip('/') or 'oncoboard'}_l1"
    url = web.bench_database_url(base, database=name, bench_id=ID)
    with psycopg.connect(web.maintenance_url(url), autocommit=True, connect_timeout=5) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
    web.create_database(url, name)
    return url, name


def cohort_sample(n: int) -> Any:
    from inference.training.portrait_loaders import survset_table

    table = survset_table("prostateSurvival")
    rng = np.random.default_rng(SEED)
    rows = table.iloc[np.sort(rng.choice(len(table), size=n, replace=False))].copy()
    start, span = dt.date(2008, 1, 1), (dt.date(2015, 12, 31) - dt.date(2008, 1, 1)).days
    rows["diagnosis_date"] = [start + dt.timedelta(days=int(d)) for d in rng.integers(0, span, n)]
    return rows


def enter_site_patients(rows: Any, user: Any, team: Any) -> int:
    """Patients, cases and outcomes through the app's services (validation, timeline, outcome)."""
    from oncology_ui.patients.models import TimelineEvent
    from oncology_ui.patients.services import case_create, patient_create, timeline_event_create

    for row in rows.itertuples():
        diagnosed: dt.date = row.diagnosis_date
        age = AGE_OF_GROUP[str(row.fac_ageGroup)]
        patient = patient_create(
            teams=[team], created_by=user, site="l1", mrn=f"PS{row.pid:06d}",
            given_name="Site", family_name=f"Patient {row.pid}", sex="male",
            birth_date=diagnosed - dt.timedelta(days=round((age + 0.5) * 365.25)),
        )  # fmt: skip
        case = case_create(
            patient=patient, created_by=user, primary_diagnosis="Prostate adenocarcinoma",
            oncotree_code="PRAD", icd10_code="C61", diagnosis_date=diagnosed,
            clinical_t=T_OF_STAGE[str(row.fac_stage)], grade=GRADE[str(row.fac_grade)],
        )  # fmt: skip
        end = diagnosed + dt.timedelta(days=round(float(row.time) * 365.25 / 12))
        timeline_event_create(
            case=case, created_by=user, date=end,
            kind=TimelineEvent.Kind.DEATH if row.event else TimelineEvent.Kind.LAST_FOLLOW_UP,
            title="Death" if row.event else "Last follow-up",
        )  # fmt: skip
    return len(rows)


def _approve(change: Any, approver: Any) -> Any:
    from oncology_ui.modelregistry.services import state_change_approve

    return state_change_approve(change_id=change.pk, user=approver, password=PASSWORD)


def _move(model: Any, to_state: str, requester: Any, approver: Any) -> Any:
    from oncology_ui.modelregistry.services import state_change_request

    change = state_change_request(model=model, to_state=to_state, user=requester, reason="L1")
    return _approve(change, approver)


def _served_by(case: Any, user: Any) -> str:
    """Run a clinician's analysis and name the registry row that served it."""
    from oncology_ui.analysis.models import Prediction
    from oncology_ui.analysis.services import analysis_request
    from oncology_ui.core.jobs import jobs_in_process_drain

    run = analysis_request(case=case, user=user)
    jobs_in_process_drain()
    prediction = Prediction.objects.select_related("registered_model").get(run=run)
    return prediction.registered_model.label if prediction.registered_model else "none"


def _wait(job: Any) -> Any:
    from oncology_ui.core.jobs import jobs_in_process_drain

    jobs_in_process_drain()
    job.refresh_from_db()
    if job.status != job.Status.SUCCEEDED:
        raise SystemExit(f"recalibration job {job.pk} {job.status}: {job.error}")
    return job


def _fmt(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def run(args: argparse.Namespace) -> BenchmarkResult:
    started = time.perf_counter()
    n = QUICK_PATIENTS if getattr(args, "quick", False) else PATIENTS
    url, name = _database(os.environ.get("DATABASE_URL", web.DEFAULT_DATABASE_URL))
    with tempfile.TemporaryDirectory(prefix="l1-") as folder:
        work = Path(folder)
        django_in_process(work, url, bench_id=ID)
        from django.contrib.auth.models import Group, User
        from django.core.exceptions import PermissionDenied
        from django.core.management import call_command

        from inference.training.tables import load_table
        from oncology_ui.core import roles
        from oncology_ui.core.models import Team
        from oncology_ui.modelregistry.models import RegisteredModel, ShadowPrediction
        from oncology_ui.modelregistry.selectors import registered_models_serving
        from oncology_ui.modelregistry.services import state_change_rollback_request
        from oncology_ui.patients.models import Case
        from oncology_ui.sitelearn.services import recalibration_request

        team = Team.objects.create(name="Urology MDT")
        people = []
        for username in ("committee-chair", "committee-second"):
            user = User.objects.create_user(username, password=PASSWORD, is_staff=True)
            user.groups.add(Group.objects.get(name=roles.ADMINISTRATOR))
            people.append(user)
        chair, second = people
        oncologist = User.objects.create_user("urologist", password=PASSWORD)
        oncologist.groups.add(Group.objects.get(name=roles.ONCOLOGIST))
        team.members.add(oncologist)

        t0 = time.perf_counter()
        entered = enter_site_patients(cohort_sample(n), chair, team)
        enter_s = time.perf_counter() - t0
        active = registered_models_serving("PRAD")[0]
        print(
            f"entered {entered} site patients in {enter_s:.0f} s; active for PRAD: {active.label}"
        )

        call_command(
            "export_training_table", "--out", str(work / "export"), "--user", chair.username,
            stdout=io.StringIO(),
        )  # fmt: skip
        table = load_table(work / "export" / "site_training_table.csv").frame
        print(f"exported {len(table)} rows, {int(table['event'].sum())} deaths")

        t0 = time.perf_counter()
        job = _wait(recalibration_request(model=active, user=chair))
        fit_s = time.perf_counter() - t0
        candidate = RegisteredModel.objects.get(pk=job.result["candidate"])
        report = candidate.site_report or {}
        before, after = report["models"]["active"], report["models"]["candidate"]
        split = report["split"]

        _move(candidate, RegisteredModel.State.SHADOW, chair, second)
        newer = list(Case.objects.filter(diagnosis_date__gte=split["cut_date"]).order_by("pk")[:5])
        shadow_served = [_served_by(case, chair) for case in newer]
        shadows = ShadowPrediction.objects.filter(registered_model=candidate).count()

        from oncology_ui.modelregistry.services import state_change_request

        activation = state_change_request(
            model=candidate, to_state=RegisteredModel.State.ACTIVE, user=chair, reason="L1"
        )
        try:
            _approve(activation, chair)
            alone_refused = False
        except PermissionDenied:
            alone_refused = True
        activation = _approve(activation, second)
        served_after = _served_by(newer[0], chair)
        rollback = state_change_rollback_request(change=activation, user=chair, reason="L1")
        _approve(rollback, second)
        served_rolled_back = _served_by(newer[0], chair)
    error_before, error_after = before["citl_abs_error"], after["citl_abs_error"]
    c_before, c_after = before["c_index"], after["c_index"]
    horizon = report["horizon_months"]
    print(
        f"temporal split at {split['cut_date']}: fit on {split['older']} older cases, "
        f"judged on {split['newer']} newer ({before['events']} deaths)"
    )
    print(f"{'on the newer cases':34}{'active':>10}{'recalibrated':>14}")
    for label, key, digits in (
        (f"observed S({horizon:g} mo), Kaplan-Meier", "observed", 3),
        ("mean predicted S", "predicted", 3),
        ("|calibration-in-the-large|", "citl_abs_error", 3),
        ("calibration slope", "slope", 2),
        ("Harrell C", "c_index", 3),
        ("interval coverage", "interval_coverage", 2),
    ):
        print(f"{label:34}{_fmt(before[key], digits):>10}{_fmt(after[key], digits):>14}")
    print(
        f"shadow: {shadows} shadow predictions beside analyses served by "
        f"{sorted(set(shadow_served))}; one person alone refused: {alone_refused}; after "
        f"activation served by {served_after}; after rollback served by {served_rolled_back}"
    )
    flow_ok = (
        alone_refused
        and served_after == candidate.label
        and served_rolled_back == active.label
        and shadows >= 1
        and set(shadow_served) == {active.label}
    )
    ratio = error_after / error_before if error_before else None
    return result_line(
        id=ID,
        metric="calibration_in_the_large_abs_error_at_horizon",
        ours=round(error_after, 4),
        baseline=round(error_before, 4),
        ratio=round(ratio, 3) if ratio is not None else None,
        goal="<= 0.5 x active model's error on the newer cases, C not lower",
        met=bool(ratio is not None and ratio <= 0.5 and c_after >= c_before and flow_ok),
        c_before=round(c_before, 4),
        c_after=round(c_after, 4),
        horizon_months=horizon,
        cohort="SurvSet prostateSurvival (asaur; SEER-Medicare localised prostate cancer)",
        patients=entered,
        fit_cases=split["older"],
        newer_cases=split["newer"],
        flow_ok=flow_ok,
        seconds=round(time.perf_counter() - started, 1),
        fit_seconds=round(fit_s, 1),
        database=f"PostgreSQL {name}",
    )
