"""Reads of the model registry: which rows serve a case, the pages' lists, shadow output."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from oncology_ui.modelregistry.models import ModelStateChange, RegisteredModel, ShadowPrediction


def registered_models_serving(
    cancer_type: str | None, *, state: str = RegisteredModel.State.ACTIVE
) -> list[RegisteredModel]:
    """Rows in ``state`` that serve a case of this OncoTree code, most specific first.

    1. Rows that list the code, fewest listed codes first (a model for breast cancer before one
       for thirteen types), newest first among equals. Among active rows there is at most one:
       an activation retires the active rows whose lists share a code with it.
    2. Rows for any type (no list), newest first: the fallback.

    A listed code serves that code only (no OncoTree inheritance): a model is validated at the
    level of the codes it lists.
    """
    rows = [row for row in RegisteredModel.objects.filter(state=state) if row.serves(cancer_type)]
    rows.sort(key=lambda row: (not row.cancer_types, len(row.cancer_types), -row.pk))
    return rows


def rows_replaced_by(model: RegisteredModel) -> list[RegisteredModel]:
    """Active rows that an activation of ``model`` retires.

    A row listing OncoTree codes replaces every active row that lists any of them (one active
    model per code); a row for any type replaces the active row for any type.
    """
    listed = set(model.cancer_types)
    return [
        other
        for other in RegisteredModel.objects.filter(state=RegisteredModel.State.ACTIVE)
        if other.pk != model.pk
        and ((not listed and not other.cancer_types) or bool(listed & set(other.cancer_types)))
    ]


def registered_models_list() -> QuerySet[RegisteredModel]:
    """Every row with its counts of predictions, shadow predictions and pending changes."""
    return RegisteredModel.objects.select_related("parent").annotate(
        prediction_count=Count("predictions", distinct=True),
        shadow_count=Count("shadow_predictions", distinct=True),
        pending_count=Count(
            "changes", filter=Q(changes__status=ModelStateChange.Status.PENDING), distinct=True
        ),
    )


def state_changes_pending() -> QuerySet[ModelStateChange]:
    return ModelStateChange.objects.filter(status=ModelStateChange.Status.PENDING).select_related(
        "model", "requested_by", "reverses"
    )


def state_change_history(model: RegisteredModel | None = None) -> list[ModelStateChange]:
    """Every change, newest first; those that moved ``model`` (itself or displaced) if given.

    Filtered in Python: JSON containment is not portable to the embedded SQLite database, and
    a committee's history is short.
    """
    changes = ModelStateChange.objects.select_related(
        "model", "requested_by", "approved_by", "reverses"
    )
    if model is None:
        return list(changes)
    return [
        change
        for change in changes
        if change.model_id == model.pk or any(t["model"] == model.pk for t in change.transitions)
    ]


def state_change_rolled_back(change: ModelStateChange) -> bool:
    """Whether an approved rollback of ``change`` exists."""
    return change.rollbacks.filter(status=ModelStateChange.Status.APPROVED).exists()


def shadow_predictions_for(
    *,
    model: RegisteredModel | None = None,
    case_id: int | None = None,
    run_id: int | None = None,
) -> QuerySet[ShadowPrediction]:
    """Shadow predictions (model committee and monitoring only; never on a clinician's page).

    Each comes with its run, so ``run.prediction`` (the active model's output on the same
    snapshot) is one attribute away for a comparison.
    """
    rows = ShadowPrediction.objects.select_related("registered_model", "run", "case")
    if model is not None:
        rows = rows.filter(registered_model=model)
    if case_id is not None:
        rows = rows.filter(case_id=case_id)
    if run_id is not None:
        rows = rows.filter(run_id=run_id)
    return rows


def state_change_preview(change: ModelStateChange) -> list[tuple[RegisteredModel, str, str]]:
    """Each row a change moves, with its state before and after.

    For an applied change, what it moved; for a pending one, what approving it would move now
    (the rows an activation replaces, or every row of the change a rollback undoes).
    """
    if change.status == ModelStateChange.Status.APPROVED:
        moves = [(t["model"], t["from"], t["to"]) for t in change.transitions]
    elif change.reverses is not None:
        moves = [(t["model"], t["to"], t["from"]) for t in change.reverses.transitions]
    else:
        moves = [(change.model_id, change.from_state, change.to_state)]
        if change.to_state == RegisteredModel.State.ACTIVE:
            moves += [
                (row.pk, row.state, RegisteredModel.State.RETIRED)
                for row in rows_replaced_by(change.model)
            ]
    rows = RegisteredModel.objects.in_bulk([model_id for model_id, _, _ in moves])
    return [
        (rows[model_id], before, after) for model_id, before, after in moves if model_id in rows
    ]
