"""Hospital single sign-on (OpenID Connect through allauth): roles and care teams from claims.

The hospital directory decides who is an oncologist, a pathologist, ... and which care teams
they belong to; every SSO sign-in brings OncoBoard's groups and team memberships in line with
the ``roles`` and ``teams`` claims. Names the app does not know are ignored (and logged), never
created: a directory typo must not invent a care team with access to patients.
"""

from __future__ import annotations

import logging
from typing import Any

from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.http import HttpRequest

from oncology_ui.core import roles
from oncology_ui.core.audit import audit_record
from oncology_ui.core.models import AccessLog, Team

logger = logging.getLogger(__name__)


def sso_claims(extra_data: dict[str, Any]) -> dict[str, Any]:
    """The claims allauth kept for an OpenID Connect account (userinfo, else the ID token)."""
    for key in ("userinfo", "id_token"):
        value = extra_data.get(key)
        if isinstance(value, dict) and value:
            return value
    return extra_data


def _names(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, list):
        return {str(item) for item in value}
    return set()


@transaction.atomic
def user_directory_apply(*, user: User, claims: dict[str, Any]) -> None:
    """Set the user's roles and care teams to what the directory's claims say.

    1. Roles: the known role groups named in ``roles``; other role groups are removed.
    2. Teams: membership of the existing teams named in ``teams``; other teams are left.
    3. ``is_staff`` (the admin site) follows the administrator role.
    """
    claimed_roles = _names(claims.get("roles")) & set(roles.ROLES)
    claimed_teams = _names(claims.get("teams"))
    unknown = (_names(claims.get("roles")) - claimed_roles) | (
        claimed_teams
        - set(Team.objects.filter(name__in=claimed_teams).values_list("name", flat=True))
    )
    if unknown:
        logger.warning("SSO claims name %d unknown role(s) or team(s); ignored", len(unknown))
    groups = user.groups
    groups.remove(*Group.objects.filter(name__in=set(roles.ROLES) - claimed_roles))
    groups.add(*Group.objects.filter(name__in=claimed_roles))
    teams = Team.objects.filter(name__in=claimed_teams)
    for team in Team.objects.filter(members=user).exclude(pk__in=teams):
        team.members.remove(user)
    for team in teams:
        team.members.add(user)
    is_staff = roles.ADMINISTRATOR in claimed_roles
    if user.is_staff != is_staff:
        user.is_staff = is_staff
        user.save(update_fields=["is_staff"])


def apply_claims_on_sso_login(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    """allauth's ``user_logged_in``: after an SSO sign-in, sync roles and teams."""
    sociallogin = kwargs.get("sociallogin")
    if sociallogin is not None:
        user_directory_apply(user=user, claims=sso_claims(sociallogin.account.extra_data))


class HospitalSocialAccountAdapter(DefaultSocialAccountAdapter):
    def on_authentication_error(
        self,
        request: HttpRequest,
        provider: Any,
        error: Any = None,
        exception: Any = None,
        extra_context: Any = None,
    ) -> None:
        """A refused or broken SSO round trip is a failed sign-in in the audit trail."""
        audit_record(
            request=request,
            action=AccessLog.Action.LOGIN_FAILED,
            category="sso",
            outcome=AccessLog.Outcome.FAILURE,
            object_ref=f"sso:{getattr(provider, 'id', '')}:{error or ''}"[:80],
        )
        super().on_authentication_error(request, provider, error, exception, extra_context)
