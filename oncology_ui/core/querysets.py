"""Team scoping: the one rule for which rows a user may see."""

from __future__ import annotations

from typing import Any, ClassVar, Self, TypeVar

from django.contrib.auth.models import AnonymousUser, User
from django.db import models
from django.http import HttpRequest

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

    def visible_or_denied(
        self, request: HttpRequest, pk: int, *, permission: str, category: str, kind: str
    ) -> M:
        """The row ``pk`` if the user's teams reach it and their role has ``permission``.

        Anything else answers 404 (never 403: existence is not revealed) and writes one
        ``denied`` audit row naming ``kind:pk``.
        """
        from oncology_ui.core.audit import access_denied  # audit's models import this module

        found = self.visible_to(request.user).filter(pk=pk).first()
        if found is None or not request.user.has_perm(permission):
            raise access_denied(request, category=category, object_ref=f"{kind}:{pk}")
        return found
