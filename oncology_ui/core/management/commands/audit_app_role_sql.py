from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from oncology_ui.core.audit_sql import app_role_grants


class Command(BaseCommand):
    help = (
        "Print the GRANT statements for the app's non-owner PostgreSQL role: DML on the app's "
        "tables, SELECT and INSERT only on the access log. The owner runs them after each migrate."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("role", help="the app's database role, e.g. oncoboard_app")

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("Database roles and grants are PostgreSQL's; DATABASE_URL is not.")
        try:
            statements = app_role_grants(options["role"], connection.introspection.table_names())
        except ValueError as error:
            raise CommandError(str(error)) from None
        self.stdout.write("\n".join(statements))
