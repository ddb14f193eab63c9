from __future__ import annotations

from typing import Any

from django.apps import AppConfig, apps
from django.http import HttpRequest


def create_roles_after_migrate(sender: AppConfig, **kwargs: Any) -> None:
    """Keep the role groups in step with the matrix after every migrate.

    post_migrate is sent once per app, in INSTALLED_APPS order, and each app's permissions are
    created on its own signal; acting on the last app's signal means every permission exists.
    """
    # Apps without a models module get no post_migrate signal, so they cannot be "last".
    with_models = [config for config in apps.get_app_configs() if config.models_module is not None]
    if sender.label != with_models[-1].label:
        return
    from oncology_ui.core.roles import roles_setup

    roles_setup()


def audit_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    from oncology_ui.core.audit import audit_record
    from oncology_ui.core.models import AccessLog

    audit_record(request=request, action=AccessLog.Action.LOGIN, category="session")


def audit_logout(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    from oncology_ui.core.audit import audit_record
    from oncology_ui.core.models import AccessLog

    if user is not None:
        audit_record(
            request=request,
            action=AccessLog.Action.LOGOUT,
            category="session",
            username=user.get_username(),
        )


def audit_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    from oncology_ui.core.audit import audit_record
    from oncology_ui.core.models import AccessLog

    audit_record(
        request=request,
        action=AccessLog.Action.LOGIN_FAILED,
        category="session",
        outcome=AccessLog.Outcome.FAILURE,
        username=str(credentials.get("username", ""))[:150],
    )


def audit_locked_out(
    sender: Any, request: HttpRequest | None, username: str | None, **kwargs: Any
) -> None:
    """One audit row when a lock begins (axes sends its signal again for each refused try)."""
    from oncology_ui.core.audit import audit_record
    from oncology_ui.core.models import AccessLog

    # Axes counts the failures only on the attempt that reaches the limit; a try refused during
    # the lock leaves the count unset and is already audited as a failed login.
    if request is not None and getattr(request, "axes_failures_since_start", None) is None:
        return
    audit_record(
        request=request,
        action=AccessLog.Action.LOCKED_OUT,
        category="lockout",
        outcome=AccessLog.Outcome.DENIED,
        username=str(username or "")[:150],
    )


def audit_lock_cleared(sender: Any, instance: Any, **kwargs: Any) -> None:
    """A lock that ends (administrator reset, ``axes_reset``, or its cool-off) is audited."""
    from axes.helpers import get_failure_limit

    from oncology_ui.core.audit import audit_record
    from oncology_ui.core.models import AccessLog

    if instance.failures_since_start < get_failure_limit(None, None):
        return  # counted failures below the limit were never a lock
    audit_record(
        request=None,
        action=AccessLog.Action.UNLOCKED,
        category="lockout",
        username=(instance.username or "")[:150],
        object_ref=f"address:{instance.ip_address or ''}",
    )


def end_sessions_on_deactivation(sender: Any, instance: Any, **kwargs: Any) -> None:
    """pre_save of the user model: deactivating someone signs them out everywhere."""
    update_fields = kwargs.get("update_fields")
    if instance.pk is None or instance.is_active:
        return
    if update_fields is not None and "is_active" not in update_fields:
        return  # a login's last_login update, for example
    was_active = type(instance).objects.filter(pk=instance.pk, is_active=True).exists()
    if was_active:
        from oncology_ui.core.services import user_sessions_end

        user_sessions_end(user=instance)


def end_sessions_on_team_change(
    sender: Any, instance: Any, action: str, reverse: bool, pk_set: set[int] | None, **kwargs: Any
) -> None:
    """m2m_changed of Team.members: a person whose teams change signs in again.

    What a person may see follows from their teams; a session opened under the old teams
    (and any page state built on them) ends with the change. Sent from both sides:
    ``team.members.remove(user)`` and ``user.care_teams.add(team)``.
    """
    from django.contrib.auth import get_user_model

    from oncology_ui.core.services import user_sessions_end

    if action == "pre_clear" and not reverse:
        # After a clear the members are gone and pk_set is None: remember them now.
        instance._members_before_clear = list(instance.members.all())
        return
    if action not in {"post_add", "post_remove", "post_clear"}:
        return
    if reverse:  # instance is the user
        users = [instance]
    elif action == "post_clear":
        users = getattr(instance, "_members_before_clear", [])
    else:
        users = list(get_user_model().objects.filter(pk__in=pk_set or ()))
    for user in users:
        user_sessions_end(user=user)
