"""The shipped knowledge base, loaded into the test database for the tests that need rows."""

from __future__ import annotations

import pytest

from oncology_ui.therapies.kb import kb_load
from oncology_ui.therapies.models import KnowledgeBase


@pytest.fixture
def therapy_kb(db: None) -> KnowledgeBase:
    """The active version, loaded through the real command path (rolled back after the test)."""
    return kb_load().kb
