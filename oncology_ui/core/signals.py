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
