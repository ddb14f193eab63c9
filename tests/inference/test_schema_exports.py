"""Every input type of the model is importable from ``inference.schema``."""

from __future__ import annotations

import dataclasses

import inference.imaging.schema as imaging
import inference.schema as schema
import inference.slides.schema as slides


def test_the_slide_and_study_summaries_are_the_pipelines_own_frozen_dataclasses() -> None:
    assert schema.SlideSummary is slides.SlideSummary
    assert schema.ImagingFeatures is imaging.ImagingFeatures
    for kind in (schema.SlideSummary, schema.ImagingFeatures):
        assert dataclasses.is_dataclass(kind)
        assert getattr(kind, "__dataclass_params__").frozen  # noqa: B009  (set by dataclass)
