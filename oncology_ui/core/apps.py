from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import m2m_changed, post_migrate, pre_save


class CoreConfig(AppConfig):
    name = "oncology_ui.core"
    label = "core"
    verbose_name = "OncoBoard core"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.contrib.auth import signals as auth_signals

        from oncology_ui.core import signals
        from oncology_ui.core.middleware import session_mark_login
        from oncology_ui.core.models import Team

        post_migrate.connect(signals.create_roles_after_migrate, dispatch_uid="oncoboard-roles")
        auth_signals.user_logged_in.connect(session_mark_login, dispatch_uid="oncoboard-clock")
        auth_signals.user_logged_in.connect(signals.audit_login, dispatch_uid="oncoboard-login")
        auth_signals.user_logged_out.connect(signals.audit_logout, dispatch_uid="oncoboard-logout")
        auth_signals.user_login_failed.connect(
            signals.audit_login_failed, dispatch_uid="oncoboard-login-failed"
        )
        from allauth.account.signals import user_logged_in as allauth_logged_in
        from axes.models import AccessAttempt
        from axes.signals import user_locked_out
        from django.db.models.signals import post_delete

        from oncology_ui.core.sso import apply_claims_on_sso_login

        allauth_logged_in.connect(apply_claims_on_sso_login, dispatch_uid="oncoboard-sso-claims")
        user_locked_out.connect(signals.audit_locked_out, dispatch_uid="oncoboard-locked-out")
        post_delete.connect(
            signals.audit_lock_cleared, sender=AccessAttempt, dispatch_uid="oncoboard-unlocked"
        )
        pre_save.connect(
            signals.end_sessions_on_deactivation,
            sender=get_user_model(),
            dispatch_uid="oncoboard-deactivation",
        )
        m2m_changed.connect(
            signals.end_sessions_on_team_change,
            sender=Team.members.through,
            dispatch_uid="oncoboard-team-change",
        )
