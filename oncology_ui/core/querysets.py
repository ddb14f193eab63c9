"""Team scoping: the one rule for which rows a user may see."""

from __future__ import annotations

from typing import Any, ClassVar, Self, TypeVar

from django.contrib.auth.models import AnonymousUser, User
from django.db import models

M = TypeVar("M", bound=models.Model)


class TeamScopedQuerySet(models.QuerySet[M]):
    """Rows reachable from a care team the user belongs to; nothing for anonymous users.

    Subclasses name the lookup from their model to the team's members, for example
    ``"patient__teams__members"`` for a case.
    """

    members_lookup: ClassVar[str]

    def visible_to(self, user: User | AnonymousUser) -> Self:
        if not isinstance(user, User):
            return self.none()
        filters: dict[str, Any] = {self.members_lookup: user}
        return self.filter(**filters).distinct()
