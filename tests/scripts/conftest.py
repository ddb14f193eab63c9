"""The scripts' tests reuse the web app's cast of users, teams and cases."""

from __future__ import annotations

from tests.oncology_ui.conftest import cast  # noqa: F401 - a fixture, found by name
