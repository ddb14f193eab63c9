"""Therapy options of a case: the knowledge base, the ranking and the clinician's decision."""

from __future__ import annotations

from pathlib import Path

#: The shipped knowledge-base files (plain Python, so the clinical parsers can read the same
#: CIViC extract without Django).
KB_DIR = Path(__file__).resolve().parent / "kb"
