"""Whole-slide pathology images: safe inspection, reading, de-identification, tissue, tiles,
features, deep-zoom tiles and heatmaps. Plain Python + torch; never Django."""

from __future__ import annotations
