"""Two signers at the same moment on PostgreSQL: exactly one signature is stored."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from oncology_ui.boards import services
from oncology_ui.boards.models import Decision
from tests.factories import PASSWORD
from tests.oncology_ui.boards.conftest import BoardCast
from tests.oncology_ui.conftest import Cast


@pytest.mark.django_db(transaction=True)
def test_two_signers_at_once_one_succeeds_the_other_gets_a_conflict(
    cast: Cast, boards: BoardCast
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    second = cast.pathologist
    # The second signer needs the permission only in views; the service is what races here.
    decision = services.decision_record(
        case=cast.case, created_by=cast.oncologist, meeting=boards.meeting, therapy="Letrozole"
    )
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def sign(user_name: str) -> None:
        user = cast.oncologist if user_name == "onco" else second
        try:
            barrier.wait(timeout=10)
            services.decision_sign(decision_id=decision.pk, user=user, password=PASSWORD)
            outcomes[user_name] = "signed"
        except services.SignConflict as conflict:
            outcomes[user_name] = f"conflict: {conflict}"
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sign, args=(name,)) for name in ("onco", "path")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(value.split(":")[0] for value in outcomes.values()) == ["conflict", "signed"]
    conflict = next(value for value in outcomes.values() if value.startswith("conflict"))
    assert "already signed by" in conflict
    decision.refresh_from_db()
    winner = next(name for name, value in outcomes.items() if value == "signed")
    expected = cast.oncologist if winner == "onco" else second
    assert decision.status == Decision.Status.SIGNED
    assert decision.signed_by_id == expected.pk
    assert decision.content_hash == services.decision_hash(decision)
