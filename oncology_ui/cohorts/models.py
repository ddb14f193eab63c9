"""Cohort analytics and model monitoring read other apps' rows and store none of their own.

The one model here holds no rows: it is where the permissions of the two pages hang, so the
role matrix (``core/roles.py``) can grant them like any other.
"""

from __future__ import annotations

from django.db import models


class Analytics(models.Model):
    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_cohorts", "Can build cohorts of the team's patients and compare survival"),
            ("export_cohorts", "Can export a cohort's survival table (CSV) and curve (PNG)"),
            ("view_monitoring", "Can see how the registered models perform, by subgroup"),
        ]
