from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from oncology_ui.core import views as core_views
from oncology_ui.patients import views as patients_views

admin.site.site_header = "OncoBoard administration"
admin.site.site_title = "OncoBoard administration"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="patients-list", permanent=False), name="home"),
    path("login/", core_views.login_view, name="core-login"),
    path("logout/", core_views.logout_view, name="core-logout"),
    path("account/second-factor/", core_views.mfa_verify, name="core-mfa-verify"),
    path("account/second-factor/enrol/", core_views.mfa_enrol, name="core-mfa-enrol"),
    path(
        "account/second-factor/passkey/options/",
        core_views.passkey_verify_options,
        name="core-passkey-verify-options",
    ),
    path("account/second-factor/passkey/", core_views.passkey_verify, name="core-passkey-verify"),
    path(
        "account/passkeys/new/options/",
        core_views.passkey_register_options,
        name="core-passkey-register-options",
    ),
    path("account/passkeys/new/", core_views.passkey_register, name="core-passkey-register"),
    path("account/password/", core_views.password_change_view, name="core-password-change"),
    path(
        "account/password/done/",
        core_views.password_change_done_view,
        name="core-password-change-done",
    ),
    path("health/", core_views.health, name="core-health"),
    path("jobs/<int:job_id>/", core_views.job_status, name="core-job-status"),
    path("audit/", core_views.audit_list, name="core-audit"),
    path("break-glass/", patients_views.break_glass, name="core-break-glass"),
    path("break-glass/review/", core_views.break_glass_list, name="core-break-glass-list"),
    path(
        "break-glass/<int:grant_id>/review/",
        core_views.break_glass_review,
        name="core-break-glass-review",
    ),
    path("patients/", include("oncology_ui.patients.urls")),
    path("patients/", include("oncology_ui.casepage.urls")),
    path("analysis/", include("oncology_ui.analysis.urls")),
    path("registry/", include("oncology_ui.modelregistry.urls")),
    path("clinical/", include("oncology_ui.clinical.urls")),
    path("notes/", include("oncology_ui.notes.urls")),
    path("boards/", include("oncology_ui.boards.urls")),
    path("reports/", include("oncology_ui.reports.urls")),
    path("pathology/", include("oncology_ui.pathology.urls")),
    path("imaging/", include("oncology_ui.imaging.urls")),
    path("therapies/", include("oncology_ui.therapies.urls")),
    path("trials/", include("oncology_ui.trials.urls")),
    path("site-learning/", include("oncology_ui.sitelearn.urls")),
    path("cohorts/", include("oncology_ui.cohorts.urls")),
    path("generative/", include("oncology_ui.generative.urls")),
    path("admin/", admin.site.urls),
    # Single sign-on: only allauth's OpenID Connect round trip (start and callback), not its
    # account pages, so no second password sign-in page exists beside /login/.
    path("accounts/", include("allauth.socialaccount.providers.openid_connect.urls")),
    path(
        "accounts/login/",
        RedirectView.as_view(pattern_name="core-login", permanent=False),
        name="account_login",
    ),
]

handler404 = "oncology_ui.core.errors.not_found"
handler500 = "oncology_ui.core.errors.server_error"
