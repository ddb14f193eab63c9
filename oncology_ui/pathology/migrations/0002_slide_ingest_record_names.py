"""Slide becomes an ingest record: the uploader and finish time take the shared names."""

from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("pathology", "0001_initial")]

    operations = [
        migrations.RenameField(model_name="slide", old_name="uploaded_by", new_name="created_by"),
        migrations.RenameField(model_name="slide", old_name="processed_at", new_name="finished_at"),
    ]
