"""The in-silico experiment form: one change, chosen from what makes sense for this case."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms

from inference.generative.next_test import COMMON_DRIVERS
from inference.generative.profile import InSilicoChange
from inference.hallmarks.gene_sets import hallmark_sets
from inference.hallmarks.profile import set_label

#: Above this many learnt genes the type's list is a panel, not its common drivers.
MAX_TYPE_GENES = 40


def change_choices(
    observation: dict[str, Any], learnt: Sequence[str] | None = None
) -> list[tuple[str, list[tuple[str, str]]]]:
    """Grouped choices: lose an alteration the case has, acquire a common driver it lacks,
    inhibit a hallmark programme. ``learnt``: the genes the model learnt for the case's type
    (from its last profile), when known; others would only be refused."""
    mutations = observation.get("mutations") or {}
    usable = {g.upper() for g in learnt} if learnt else None
    has = sorted(g for g, v in mutations.items() if v and (usable is None or g in usable))
    drivers = [g for g in COMMON_DRIVERS if usable is None or g in usable]
    if learnt and len(learnt) <= MAX_TYPE_GENES:
        # A short list is the type's own frequently mutated genes (the model's training table).
        drivers += sorted(set(usable or ()) - set(drivers))
    lacks = [g for g in drivers if not mutations.get(g)]
    return [
        ("Alterations this tumour has", [(f"lose:{g}", f"loses its {g} mutation") for g in has]),
        (
            "Drivers it is not known to carry" if learnt else "Common cancer drivers",
            [(f"acquire:{g}", f"acquires a {g} mutation") for g in lacks],
        ),
        (
            "Inhibit a hallmark programme",
            [(f"inhibit:{name}", set_label(name)) for name in hallmark_sets().names],
        ),
    ]


class ExperimentForm(forms.Form):
    change = forms.ChoiceField(label="What if this tumour…")

    def __init__(
        self,
        *args: Any,
        observation: dict[str, Any],
        learnt: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["change"]
        assert isinstance(field, forms.ChoiceField)
        choices = change_choices(observation, learnt)
        field.choices = [(group, items) for group, items in choices if items]

    def the_change(self) -> InSilicoChange:
        action, _, feature = str(self.cleaned_data["change"]).partition(":")
        if action == "lose":
            return InSilicoChange.lose(feature)
        if action == "acquire":
            return InSilicoChange.acquire(feature)
        return InSilicoChange.inhibit(feature)
