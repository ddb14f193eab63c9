"""The shipped checkpoints are registered from their own files, once, with today's routing."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings

from inference.runtime import sha256_of
from oncology_ui.modelregistry.models import RegisteredModel
from oncology_ui.modelregistry.services import models_sync

pytestmark = pytest.mark.django_db

SHIPPED_NAMES = {
    "oncoboard-portrait",
    "oncoboard-portrait-commercial",
    "oncoboard-tcga-pancancer",
    "oncoboard-support",
    "oncoboard-metabric",
}


def test_migrate_registered_every_shipped_checkpoint_with_the_digest_of_its_file() -> None:
    rows = {row.name: row for row in RegisteredModel.objects.all()}
    assert set(rows) == SHIPPED_NAMES
    for row in rows.values():
        assert sha256_of(row.checkpoint_path) == row.sha256, row.name
        assert row.training_data and row.licence and row.validation_summary, row.name
    assert rows["oncoboard-portrait"].checkpoint == "portrait/portrait.pt"
    assert not rows["oncoboard-tcga-pancancer"].commercial_use  # the card says not cleared
    assert not rows["oncoboard-portrait"].commercial_use
    assert rows["oncoboard-portrait-commercial"].commercial_use
    assert rows["oncoboard-support"].validation_summary["harrell_c"] == 0.621  # model card


def test_the_initial_states_reproduce_routing_before_the_registry() -> None:
    states = dict(RegisteredModel.objects.values_list("name", "state"))
    assert states == {
        "oncoboard-portrait": "active",
        "oncoboard-portrait-commercial": "candidate",
        "oncoboard-tcga-pancancer": "active",
        "oncoboard-support": "candidate",
        "oncoboard-metabric": "candidate",
    }
    portrait = RegisteredModel.objects.get(name="oncoboard-portrait")
    commercial = RegisteredModel.objects.get(name="oncoboard-portrait-commercial")
    assert {"IDC", "LUAD", "STAD", "HNSC"} <= set(portrait.cancer_types)
    assert "STAD" not in commercial.cancer_types and "IDC" in commercial.cancer_types
    assert RegisteredModel.objects.get(name="oncoboard-tcga-pancancer").cancer_types == []
    for name in ("oncoboard-support", "oncoboard-metabric"):
        assert "no" in RegisteredModel.objects.get(name=name).notes.lower()


def test_models_sync_is_idempotent_and_keeps_the_committees_states() -> None:
    RegisteredModel.objects.filter(name="oncoboard-support").update(state="shadow")
    before = list(RegisteredModel.objects.order_by("pk").values())
    assert models_sync() == []
    out = StringIO()
    call_command("models_sync", stdout=out)
    assert "already holds every shipped checkpoint" in out.getvalue()
    assert list(RegisteredModel.objects.order_by("pk").values()) == before


@override_settings(PROGNOSIS_PORTRAIT_CHECKPOINT="commercial")
def test_a_first_sync_under_the_commercial_setting_activates_the_commercial_portrait() -> None:
    RegisteredModel.objects.all().delete()
    created = {row.name: row.state for row in models_sync()}
    assert created["oncoboard-portrait-commercial"] == "active"
    assert created["oncoboard-portrait"] == "candidate"


def test_a_row_whose_digest_differs_from_the_shipped_file_stops_the_sync() -> None:
    RegisteredModel.objects.filter(name="oncoboard-support").update(sha256="0" * 64)
    with pytest.raises(ValueError, match="register the new file under a new version"):
        models_sync()
