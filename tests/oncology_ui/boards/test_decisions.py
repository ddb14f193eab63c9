"""Decision record, electronic sign-off, locking, amendment and discordance."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from oncology_ui.boards import options, services
from oncology_ui.boards.models import SIGNATURE_MEANING, Decision
from oncology_ui.boards.selectors import discordance_register
from oncology_ui.patients.models import Case
from tests.factories import PASSWORD
from tests.oncology_ui.boards.conftest import BoardCast
from tests.oncology_ui.boards.helpers import prediction_create
from tests.oncology_ui.conftest import Cast

pytestmark = pytest.mark.django_db


def _draft(cast: Cast, boards: BoardCast, **fields: object) -> Decision:
    values: dict[str, object] = {"therapy": "Letrozole + palbociclib", "discussion_notes": "ok"}
    values.update(fields)
    return services.decision_record(
        case=cast.case,
        created_by=cast.oncologist,
        meeting=boards.meeting,
        agreeing=[cast.oncologist, cast.pathologist],
        **values,
    )


def test_a_decision_stores_the_models_prognosis_beside_it(cast: Cast, boards: BoardCast) -> None:
    prediction = prediction_create(cast.case, one_year=0.82)
    decision = _draft(cast, boards)
    assert decision.status == Decision.Status.DRAFT
    assert decision.prediction == prediction
    assert decision.model_prognosis["survival_at"][0]["survival"] == 0.82
    assert decision.model_prognosis["model"] == "oncofusion 1.4.0"


def test_a_decision_needs_at_least_one_recommendation(cast: Cast, boards: BoardCast) -> None:
    with pytest.raises(ValidationError):
        _draft(cast, boards, therapy="", discussion_notes="talked")


def test_signing_with_a_wrong_password_signs_nothing(cast: Cast, boards: BoardCast) -> None:
    decision = _draft(cast, boards)
    with pytest.raises(ValidationError):
        services.decision_sign(decision_id=decision.pk, user=cast.oncologist, password="wrong")
    decision.refresh_from_db()
    assert decision.status == Decision.Status.DRAFT
    assert decision.signed_at is None


def test_signing_stores_name_utc_time_meaning_and_content_hash_and_locks(
    cast: Cast, boards: BoardCast
) -> None:
    decision = _draft(cast, boards)
    signed = services.decision_sign(
        decision_id=decision.pk, user=cast.oncologist, password=PASSWORD
    )
    assert signed.status == Decision.Status.SIGNED
    assert signed.signed_name == cast.oncologist.get_full_name()
    assert signed.signed_at is not None
    assert str(signed.signed_at.tzinfo) == "UTC"
    assert signed.signature_meaning == SIGNATURE_MEANING
    assert signed.content_hash == services.decision_hash(signed)
    cast.case.refresh_from_db()
    # Changing the signed content afterwards no longer matches the stored hash.
    signed.therapy = "Something else"
    assert services.decision_hash(signed) != signed.content_hash
    with pytest.raises(ValidationError, match="locked"):
        services.decision_update(decision=signed, user=cast.oncologist, therapy="Tamoxifen")
    assert Decision.objects.get(pk=signed.pk).therapy == "Letrozole + palbociclib"


def test_signing_twice_is_a_conflict(cast: Cast, boards: BoardCast) -> None:
    decision = _draft(cast, boards)
    services.decision_sign(decision_id=decision.pk, user=cast.oncologist, password=PASSWORD)
    with pytest.raises(services.SignConflict, match="already signed"):
        services.decision_sign(decision_id=decision.pk, user=cast.oncologist, password=PASSWORD)


def test_an_amendment_is_a_new_version_and_supersedes_the_old_once_signed(
    cast: Cast, boards: BoardCast
) -> None:
    first = _draft(cast, boards)
    services.decision_sign(decision_id=first.pk, user=cast.oncologist, password=PASSWORD)
    first.refresh_from_db()
    amendment = services.decision_amend(decision=first, user=cast.oncologist)
    assert (amendment.version, amendment.status, amendment.supersedes_id) == (2, "draft", first.pk)
    assert services.decision_amend(decision=first, user=cast.oncologist) == amendment
    first.refresh_from_db()
    assert first.status == Decision.Status.SIGNED  # still in force until the amendment is signed
    services.decision_update(decision=amendment, user=cast.oncologist, therapy="Tamoxifen")
    services.decision_sign(decision_id=amendment.pk, user=cast.oncologist, password=PASSWORD)
    first.refresh_from_db()
    amendment.refresh_from_db()
    assert first.status == Decision.Status.SUPERSEDED
    assert first.therapy == "Letrozole + palbociclib"
    assert (amendment.status, amendment.therapy) == (Decision.Status.SIGNED, "Tamoxifen")


def test_a_draft_cannot_be_amended(cast: Cast, boards: BoardCast) -> None:
    with pytest.raises(services.SignConflict):
        services.decision_amend(decision=_draft(cast, boards), user=cast.oncologist)


def test_a_choice_different_from_the_models_top_option_needs_a_reason(
    cast: Cast, boards: BoardCast, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(options, "therapy_option_labels", lambda case: ["Pembrolizumab", "FOLFOX"])
    with pytest.raises(ValidationError, match="say why"):
        _draft(cast, boards, therapy="FOLFOX")
    decision = _draft(cast, boards, therapy="FOLFOX", discordance_reason="Autoimmune hepatitis")
    assert decision.is_discordant
    assert decision.model_top_option == "Pembrolizumab"
    services.decision_sign(decision_id=decision.pk, user=cast.oncologist, password=PASSWORD)
    assert [d.pk for d in discordance_register()] == [decision.pk]


def test_following_the_models_top_option_is_concordant(
    cast: Cast, boards: BoardCast, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(options, "therapy_option_labels", lambda case: ["Pembrolizumab"])
    decision = _draft(cast, boards, therapy="pembrolizumab ")
    assert not decision.is_discordant
    services.decision_sign(decision_id=decision.pk, user=cast.oncologist, password=PASSWORD)
    assert discordance_register() == []


def test_the_board_can_declare_discordance_without_a_ranked_option(
    cast: Cast, boards: BoardCast
) -> None:
    decision = _draft(cast, boards, is_discordant=True, discordance_reason="Patient preference")
    assert decision.is_discordant and decision.model_top_option == ""


def test_signing_moves_a_ready_case_to_discussed(cast: Cast, boards: BoardCast) -> None:
    Case.objects.filter(pk=cast.case.pk).update(status=Case.Status.READY)
    decision = _draft(cast, boards)
    services.decision_sign(decision_id=decision.pk, user=cast.oncologist, password=PASSWORD)
    cast.case.refresh_from_db()
    assert cast.case.status == Case.Status.DISCUSSED
