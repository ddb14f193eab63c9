"""``manage.py seed_demo``: demo care teams, one account per role, and demo patients.

Idempotent: a rerun keeps existing accounts (and their passwords) and creates nothing twice.
Passwords are generated randomly for this database and printed once, for the local demo only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import (
    BaseCommand,
    CommandError,
    CommandParser,
    OutputWrapper,
)

from oncology_ui.core.jobs import jobs_in_process_drain
from oncology_ui.demodata.notes import demo_notes_seed
from oncology_ui.demodata.seed import (
    DEMO_AUTHOR,
    DEMO_DATA_FILE,
    IMAGES_MRN,
    demo_board_cases_prepare,
    demo_expression_import,
    demo_images_case,
    demo_molecular_import,
    demo_records_load,
    demo_seed,
)


class Command(BaseCommand):
    help = "Create demo care teams, demo users for every role and demo patients (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--data-file",
            type=Path,
            default=DEMO_DATA_FILE,
            help="demo data built by demo/build_demo.py (default: demo/demo_patients.json)",
        )
        parser.add_argument(
            "--password-file",
            type=Path,
            help="also write the passwords set by this run to this file as JSON (mode 600), "
            "for scripted logins in tests and screenshots",
        )
        parser.add_argument(
            "--without-reference-data",
            action="store_true",
            help="skip the shipped trial corpus and therapy knowledge base (tests of the seed)",
        )
        parser.add_argument(
            "--reset-passwords",
            action="store_true",
            help="give existing demo accounts new random passwords too",
        )
        parser.add_argument(
            "--allow-https",
            action="store_true",
            help="seed although the site is configured for HTTPS (a shared demo server)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # HTTPS on and DEBUG off is how production is configured: demo accounts whose passwords
        # went to a console have no place next to real patients.
        if settings.HTTPS and not settings.DEBUG and not options["allow_https"]:
            raise CommandError(
                "seed_demo is for the local demo (HTTPS=false): it creates accounts and prints "
                "their passwords. Pass --allow-https for a dedicated demo server."
            )
        data = demo_records_load(options["data_file"])
        report = demo_seed(data=data, reset_passwords=options["reset_passwords"])
        molecular = demo_molecular_import(
            data=data,
            mrns=report.patients_created,
            author=User.objects.get(username=DEMO_AUTHOR),
        )
        expression = demo_expression_import(
            data=data,
            mrns=report.patients_created,
            author=User.objects.get(username=DEMO_AUTHOR),
        )
        documents = demo_notes_seed(
            mrns=report.patients_created, author=User.objects.get(username=DEMO_AUTHOR)
        )
        out = self.stdout
        out.write(
            f"Teams: {len(report.teams_created)} created, "
            f"{len(data['teams']) - len(report.teams_created)} already there."
        )
        out.write(f"Users: {len(report.users_created)} created, {len(report.users_existing)} kept.")
        out.write(
            f"Demo patients: {len(report.patients_created)} created, "
            f"{len(report.patients_existing)} already there"
            + (
                f"; on the next board: {', '.join(report.cases_on_board)}."
                if report.cases_on_board
                else "."
            )
        )
        if molecular:
            out.write(f"Molecular results (variants, ER) imported for {molecular} demo patients.")
        if expression:
            out.write(f"Expression (TCGA z-scores) imported for {expression} demo patients.")
        if documents:
            out.write(
                f"Synthetic notes and pathology reports read: {documents}; their facts wait in "
                "the review queue (nothing is used until accepted)."
            )
        if not options["without_reference_data"]:
            images = demo_images_case(author=User.objects.get(username=DEMO_AUTHOR))
            if images is not None:
                out.write(
                    f"Composed imaging demo case {IMAGES_MRN}: sarcoma CT/PET with contour and an "
                    "H&E slide from another public source (see its notes)."
                )
        if not options["without_reference_data"]:
            _reference_data_load(self)
            self.stdout.write("Board cases: running the analysis, therapy ranking and trials...")
            prepared = demo_board_cases_prepare(author=User.objects.get(username=DEMO_AUTHOR))
            if prepared:
                out.write(
                    f"Board cases prepared (prognosis, therapy options, trial matches): "
                    f"{', '.join(prepared)}."
                )
        if options["password_file"]:
            _write_private(options["password_file"], report.passwords)
            out.write(f"Passwords set by this run written to {options['password_file']}.")
        # Last, so they are on the screen when the command ends, not scrolled away by the load
        # or by the log lines of jobs the in-process runner still finishes.
        jobs_in_process_drain()
        if report.passwords:
            out.write("")
            out.write(
                self.style.WARNING(
                    "LOCAL DEMO ONLY: these passwords were generated randomly for this database "
                    "and are shown once. Never use demo accounts on a server that holds real "
                    "patients."
                )
            )
            width = max(len(name) for name in report.passwords)
            for username, password in report.passwords.items():
                out.write(f"  {username.ljust(width)}  {password}")
        elif report.users_existing:
            out.write(
                "Existing demo accounts keep their passwords "
                "(run with --reset-passwords to print new ones)."
            )


def _write_private(path: Path, passwords: dict[str, str]) -> None:
    """Write the file readable by its owner only, from the moment it exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(passwords, handle, indent=1, sort_keys=True)
        handle.write("\n")
    path.chmod(0o600)


def _reference_data_load(command: BaseCommand) -> None:
    """The shipped reference data the demo shows, loaded once (a rerun leaves it alone)."""
    from django.core.management import call_command

    from oncology_ui.trials.imports import trial_corpus_load_shipped
    from oncology_ui.trials.models import Trial

    # Same files -> the same version is re-activated; changed files -> a new version.
    call_command("load_therapy_kb", stdout=command.stdout)

    if Trial.objects.exists():
        command.stdout.write(
            "Trials: a corpus is already loaded (refresh with load_shipped_trials)."
        )
    else:
        command.stdout.write("Trials: loading the shipped corpus (a few minutes)...")
        record = trial_corpus_load_shipped(progress=ProgressPrinter(command.stdout, "Trials"))
        command.stdout.write(f"Trials: {record.message} Vectors: {record.embeddings}.")


class ProgressPrinter:
    """A job progress callback that writes a console line each time the work moves on.

    The trial load reports progress per trial; one line per ``step`` percent (and whenever the
    stage's message changes words, e.g. parsing -> embedding) keeps the console alive without
    flooding it.
    """

    def __init__(self, stream: OutputWrapper, label: str, *, step: int = 5) -> None:
        self.stream = stream
        self.label = label
        self.step = step
        self._last_percent = -step
        self._last_stage = ""

    def __call__(self, percent: int, message: str) -> None:
        stage = "".join(c for c in message if not c.isdigit())
        if percent - self._last_percent < self.step and stage == self._last_stage:
            return
        self._last_percent, self._last_stage = percent, stage
        self.stream.write(f"  {self.label}: {percent:3d}%  {message}")
