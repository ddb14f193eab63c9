from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = (
        "Run an RQ worker for OncoBoard's job queue with the JSON serializer the queue uses. "
        "Prefer this over a bare rqworker, whose default pickle serializer cannot read our jobs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--burst", action="store_true", help="run queued jobs, then exit")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.JOBS_BACKEND != "rq":
            raise CommandError("REDIS_URL is not set: jobs run in-process, no worker is needed.")
        call_command(
            "rqworker",
            settings.JOBS_QUEUE,
            serializer="rq.serializers.JSONSerializer",
            burst=options["burst"],
        )
