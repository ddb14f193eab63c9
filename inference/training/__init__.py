"""Cohort loaders, training loop, train/evaluate command lines (never imported by the app)."""

from __future__ import annotations
