"""Settings for benchmark P6 only: the app's settings with a URLconf that adds a hello-world view.

The app's own URLconf stays unchanged; the hello view exists only while P6 serves this module.
"""

from __future__ import annotations

from oncology_ui.settings import *  # noqa: F403 - the same settings, one override

ROOT_URLCONF = "benchmarks._hello_world_urls"
