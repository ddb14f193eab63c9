"""Explanations: modality Shapley values, integrated gradients, similar patients, hallmarks lens."""

from __future__ import annotations
