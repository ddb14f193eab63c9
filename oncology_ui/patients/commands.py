"""What the management commands that import files into one case share."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import CommandError

from oncology_ui.patients.models import Case


def case_and_user(options: dict[str, Any]) -> tuple[Case, User | None]:
    """The case of ``--case`` and the user of ``--user`` (None when it is not given)."""
    case = Case.objects.select_related("patient").filter(pk=options["case"]).first()
    if case is None:
        raise CommandError(f"There is no case {options['case']}.")
    if not options["user"]:
        return case, None
    user = User.objects.filter(username=options["user"]).first()
    if user is None:
        raise CommandError(f"There is no user {options['user']!r}.")
    return case, user
