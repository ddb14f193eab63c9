from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    return {
        "site_name": settings.SITE_NAME,
        "is_administrator": bool(
            user is not None and user.is_authenticated and user.has_perm("core.view_audit")
        ),
    }
