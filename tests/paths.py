"""Where tests find their data, anchored to the project root (never to the working directory)."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = REPO_ROOT / "tests" / "fixtures"
# The shared public data sits beside the checkout; CI lays it there too.
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
