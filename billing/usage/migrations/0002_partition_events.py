"""On PostgreSQL the events table is partitioned by day on `timestamp` (billing/usage/schema.py):
the plain table 0001 made (empty, just created) is replaced by the partitioned one."""

from django.db import migrations


def partition(apps, schema_editor):
    from billing.usage import schema

    if schema_editor.connection.vendor != "postgresql":
        return
    schema.partition_after_migrate(None, using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    atomic = False  # the partitions are made on the migration's connection, outside its transaction

    dependencies = [("billing_usage", "0001_usage")]

    operations = [migrations.RunPython(partition, migrations.RunPython.noop)]
