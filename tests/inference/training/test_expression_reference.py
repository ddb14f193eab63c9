"""The shipped expression references and hallmark percentiles are what the build script makes."""

from __future__ import annotations

import gzip
import json

import pytest

from inference.expression.reference import REFERENCE_FILE
from inference.hallmarks.profile import PERCENTILES_FILE
from inference.training import expression_reference
from tests.paths import SHARED_DATA


def _shipped(path: object) -> dict[str, object]:
    return json.loads(gzip.decompress(path.read_bytes()))  # type: ignore[attr-defined]


@pytest.mark.slow
@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/data not present")
def test_a_rebuild_from_the_shared_data_gives_the_shipped_files() -> None:
    references, percentiles = expression_reference.build(SHARED_DATA)
    rebuilt = json.loads(json.dumps(references, sort_keys=True))
    assert rebuilt == _shipped(REFERENCE_FILE)
    assert json.loads(json.dumps(percentiles, sort_keys=True)) == _shipped(PERCENTILES_FILE)


def test_percentiles_come_from_training_cases_only_and_are_sorted() -> None:
    percentiles = _shipped(PERCENTILES_FILE)
    assert "training cases of PORPOISE fold 0" in str(percentiles["basis"])
    for bases in percentiles["cohorts"].values():  # type: ignore[attr-defined]
        for item in bases.values():
            for quantiles in [*item["sets"].values(), *item["capabilities"].values()]:
                assert len(quantiles) == 101 and quantiles == sorted(quantiles)
