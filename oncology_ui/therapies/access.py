"""Who may see a stored ranking: the one helper every view with a ranking id uses."""

from __future__ import annotations

from django.http import HttpRequest

from oncology_ui.therapies.models import TherapyRanking


def ranking_for_user(
    request: HttpRequest, ranking_id: int, *, permission: str = "therapies.view_therapyranking"
) -> TherapyRanking:
    """The ranking if its case is in the user's teams and the role allows; else 404 + audit."""
    return TherapyRanking.objects.select_related("case__patient").visible_or_denied(
        request, ranking_id, permission=permission, category="therapies", kind="ranking"
    )
