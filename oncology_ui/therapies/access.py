"""Who may see a stored ranking: the one helper every view with a ranking id uses."""

from __future__ import annotations

from django.http import HttpRequest

from oncology_ui.core.audit import access_denied
from oncology_ui.therapies.models import TherapyRanking


def ranking_for_user(
    request: HttpRequest, ranking_id: int, *, permission: str = "therapies.view_therapyranking"
) -> TherapyRanking:
    """The ranking if its case is in the user's teams and the role allows; else 404 + audit."""
    ranking = (
        TherapyRanking.objects.visible_to(request.user)
        .select_related("case__patient")
        .filter(pk=ranking_id)
        .first()
    )
    if ranking is None or not request.user.has_perm(permission):
        raise access_denied(request, category="therapies", object_ref=f"ranking:{ranking_id}")
    return ranking
