"""The site's cases as the training-table export sees them (a proxy: no table of its own)."""

from __future__ import annotations

from oncology_ui.patients.models import Case


class SiteOutcomeCase(Case):
    """A case listed in the admin for the de-identified training-table export."""

    class Meta:
        proxy = True
        verbose_name = "case for the site training table"
        verbose_name_plural = "cases for the site training table"
        permissions = [("export_training_table", "Can export the de-identified training table")]
