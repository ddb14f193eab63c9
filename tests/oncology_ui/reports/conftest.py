from __future__ import annotations

from tests.oncology_ui.boards.conftest import boards

__all__ = ["boards"]
