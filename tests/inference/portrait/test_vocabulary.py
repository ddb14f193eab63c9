"""The clinical vocabulary: Karnofsky conversion, masking, validation, flat round trip."""

from __future__ import annotations

import math

import numpy as np
import pytest

from inference.portrait.vocabulary import (
    FEATURE_NAMES,
    ClinicalPortrait,
    Labs,
    Performance,
    Receptors,
    Staging,
    Tumour,
    ecog_from_karnofsky,
    encode,
    flat_values,
    portrait_from_flat,
)


@pytest.mark.parametrize(
    ("karnofsky", "ecog"),
    [
        (100, 0),
        (90, 0),
        (85, 1),
        (80, 1),
        (70, 1),
        (60, 2),
        (50, 2),
        (40, 3),
        (30, 3),
        (20, 4),
        (10, 4),
    ],
)
def test_it_converts_karnofsky_with_the_ecog_acrin_table(karnofsky: int, ecog: int) -> None:
    assert ecog_from_karnofsky(karnofsky) == ecog


def test_it_refuses_a_karnofsky_of_zero() -> None:
    with pytest.raises(ValueError):
        ecog_from_karnofsky(0)


def test_it_masks_every_missing_field_instead_of_filling_it() -> None:
    encoded = encode([ClinicalPortrait(cancer_type="BRCA")])
    assert encoded.shape == (1, len(FEATURE_NAMES))
    assert np.isnan(encoded).all()


def test_it_derives_advanced_stage_from_the_stage_group() -> None:
    flat = flat_values(ClinicalPortrait(staging=Staging(stage_group=4)))
    assert flat["advanced_stage"] == 1.0
    assert flat_values(ClinicalPortrait(staging=Staging(stage_group=1)))["advanced_stage"] == 0.0


@pytest.mark.parametrize(
    "build",
    [
        lambda: Performance(ecog=5),
        lambda: Staging(stage_group=4, advanced_stage=False),
        lambda: Tumour(grade=0),
        lambda: ClinicalPortrait(age_years=math.nan),
        lambda: Labs(albumin_g_l=-1.0),
    ],
)
def test_it_rejects_impossible_values(build: object) -> None:
    with pytest.raises(ValueError):
        build()  # type: ignore[operator]


def test_it_round_trips_through_flat_values() -> None:
    portrait = ClinicalPortrait(
        cancer_type="BRCA",
        age_years=61.0,
        sex_female=True,
        staging=Staging(stage_group=2, t_category=2, n_category=1),
        tumour=Tumour(grade=3, nodes_positive=2, tumour_size_mm=24.0),
        receptors=Receptors(er_positive=True, her2_positive=False),
        labs=Labs(haemoglobin_g_l=128.0),
    )
    again = portrait_from_flat(flat_values(portrait), "BRCA")
    assert flat_values(again) == flat_values(portrait)
    assert again.receptors.er_positive is True
    assert again.tumour.nodes_positive == 2


def test_it_log_transforms_counts_and_labs() -> None:
    encoded = encode([ClinicalPortrait(tumour=Tumour(nodes_positive=9))])
    assert encoded[0, FEATURE_NAMES.index("nodes_positive")] == pytest.approx(math.log(10.0))
