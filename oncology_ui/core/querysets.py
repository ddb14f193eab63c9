"""Team scoping: the one rule for which rows a user may see."""

from __future__ import annotations

from typing import Any, ClassVar, Self, TypeVar

from django.contrib.auth.models import AnonymousUser, User
from django.db import models
from django.db.models import Q
from django.http import HttpRequest

M = TypeVar("M", bound=models.Model)
_PATIENT_TEAMS = "teams__members"


BREAK_GLASS_SESSION_KEY = "oncoboard_break_glass"


def break_glass_from_session(user: User, session: Any) -> None:
    """Give the request's user the grants its session opened, so pages cost no extra query.

    A grant belongs to the session that opened it (the session row is server-side, so it
    cannot be forged); ``SessionTimeoutMiddleware`` calls this on every signed-in request.
    """
    from datetime import UTC, datetime

    stored = session.get(BREAK_GLASS_SESSION_KEY) or []
    user._break_glass_grants = [  # type: ignore[attr-defined]
        (int(patient_id), datetime.fromtimestamp(float(until), UTC)) for patient_id, until in stored
    ]


def break_glass_patient_ids(user: User) -> list[int]:
    """Patients ``user`` holds an active break-glass grant to, read once per user object.

    ``visible_to`` runs many times per page; the grant list is cached on the (per-request)
    user with its expiry times, so an expired grant stops counting even mid-request. Web
    requests take it from the session (:func:`break_glass_from_session`); elsewhere (jobs,
    commands) it is read from the grants table.
    """
    from django.utils import timezone

    from oncology_ui.core.models import BreakGlassAccess  # models import this module

    cached: list[tuple[int, Any]] | None = getattr(user, "_break_glass_grants", None)
    now = timezone.now()
    if cached is None:
        cached = list(
            BreakGlassAccess.objects.filter(user=user, expires_at__gt=now).values_list(
                "patient_id", "expires_at"
            )
        )
        user._break_glass_grants = cached  # type: ignore[attr-defined]
    return [patient_id for patient_id, expires_at in cached if expires_at > now]


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
        team_rows = Q(**filters)
        # Rows reached through a patient's teams are also visible under an active break-glass
        # grant to that patient; other scopes (a board's team) are not.
        if self.members_lookup.endswith(_PATIENT_TEAMS):
            granted = break_glass_patient_ids(user)
            if granted:
                prefix = self.members_lookup.removesuffix(_PATIENT_TEAMS)
                team_rows |= Q(**{f"{prefix}pk__in": granted})
        return self.filter(team_rows).distinct()

    def visible_or_denied(
        self, request: HttpRequest, pk: int, *, permission: str, category: str, kind: str
    ) -> M:
        """The row ``pk`` if the user's teams reach it and their role has ``permission``.

        Anything else answers 404 (see :func:`one_or_denied`).
        """
        return one_or_denied(
            request,
            self.visible_to(request.user),
            pk,
            permission=permission,
            category=category,
            kind=kind,
        )


def one_or_denied(
    request: HttpRequest,
    rows: models.QuerySet[M],
    pk: int,
    *,
    permission: str,
    category: str,
    kind: str,
) -> M:
    """The row ``pk`` of ``rows`` (already narrowed to what the user may see) if their role has
    ``permission``.

    Anything else answers 404 (never 403: existence is not revealed) and writes one ``denied``
    audit row in ``category`` naming ``kind:pk``.
    """
    from oncology_ui.core.audit import access_denied  # audit's models import this module

    found = rows.filter(pk=pk).first()
    if found is None or not request.user.has_perm(permission):
        raise access_denied(request, category=category, object_ref=f"{kind}:{pk}")
    return found


class CaseScopedQuerySet(TeamScopedQuerySet[M]):
    """Rows that belong to one case: visible through the teams of the case's patient.

    Most records hang off a case (uploads, imports, rankings, matches), so they share this
    one lookup instead of each spelling it again.
    """

    members_lookup = "case__patient__teams__members"
