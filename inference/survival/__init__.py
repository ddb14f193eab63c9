"""Survival analysis: losses, evaluation metrics, Kaplan-Meier and conformal intervals."""

from __future__ import annotations
