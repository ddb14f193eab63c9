"""The in-silico experiment form: one change, chosen from what makes sense for this case."""

from __future__ import annotations

from typing import Any

from django import forms

from inference.generative.next_test import COMMON_DRIVERS
from inference.generative.profile import InSilicoChange
from inference.hallmarks.gene_sets import hallmark_sets
from inference.hallmarks.profile import set_label


def change_choices(observation: dict[str, Any]) -> list[tuple[str, list[tuple[str, str]]]]:
    """Grouped choices: lose an alteration the case has, acquire a common driver it lacks,
    inhibit a hallmark programme."""
    mutations = observation.get("mutations") or {}
    has = sorted(g for g, v in mutations.items() if v)
    lacks = [g for g in COMMON_DRIVERS if not mutations.get(g)]
    return [
        ("Alterations this tumour has", [(f"lose:{g}", f"loses its {g} mutation") for g in has]),
        (
            "Common cancer drivers it is not known to carry",
            [(f"acquire:{g}", f"acquires a {g} mutation") for g in lacks],
        ),
        (
            "Inhibit a hallmark programme",
            [(f"inhibit:{name}", set_label(name)) for name in hallmark_sets().names],
        ),
    ]


class ExperimentForm(forms.Form):
    change = forms.ChoiceField(label="What if this tumour…")

    def __init__(self, *args: Any, observation: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["change"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(group, items) for group, items in change_choices(observation) if items]

    def the_change(self) -> InSilicoChange:
        action, _, feature = str(self.cleaned_data["change"]).partition(":")
        if action == "lose":
            return InSilicoChange.lose(feature)
        if action == "acquire":
            return InSilicoChange.acquire(feature)
        return InSilicoChange.inhibit(feature)
