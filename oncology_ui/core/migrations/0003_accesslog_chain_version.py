"""Give every audit row a chain version: rows written before the key keep the plain SHA-256.

The column is added with a default of 1 so existing rows are marked as the unkeyed chain (their
hashes stay as they were and still verify); new rows default to the keyed chain (2). Adding a
column with a default fires no row trigger, so the append-only guard stays on throughout.
"""

from __future__ import annotations

from django.db import migrations, models

CHOICES = [(1, "SHA-256 (before the key)"), (2, "HMAC-SHA-256")]


class Migration(migrations.Migration):
    dependencies = [("core", "0002_accesslog_append_only")]

    operations = [
        migrations.AddField(
            model_name="accesslog",
            name="chain_version",
            field=models.PositiveSmallIntegerField(choices=CHOICES, default=1),
        ),
        migrations.AlterField(
            model_name="accesslog",
            name="chain_version",
            field=models.PositiveSmallIntegerField(choices=CHOICES, default=2),
        ),
    ]
