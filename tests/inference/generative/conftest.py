"""Shared fixtures of the generative tests that need the shipped models and the TCGA tables."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import inference
from inference.generative.data import fold_split, load_cohorts
from inference.generative.model import GenerativeModel, load_generative
from inference.predictor import SurvivalPredictor
from tests.paths import SHARED_DATA


@pytest.fixture(scope="module")
def models() -> tuple[SurvivalPredictor, GenerativeModel]:
    """The shipped survival model and generative model, loaded once per test module."""
    return inference.load_model(), load_generative()


def held_out_fold0(cohort: str) -> tuple[Any, np.ndarray]:
    """The cohort's table and the rows of its fold-0 held-out part."""
    table = load_cohorts(SHARED_DATA, [cohort])
    _, test = fold_split(table, cohort, 0, data_dir=SHARED_DATA)
    return table, test
