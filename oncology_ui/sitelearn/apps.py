from __future__ import annotations

from django.apps import AppConfig


class SiteLearnConfig(AppConfig):
    name = "oncology_ui.sitelearn"
    label = "sitelearn"
    verbose_name = "Site learning (training table, recalibration)"
