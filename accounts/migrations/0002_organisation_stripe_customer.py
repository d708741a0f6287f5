"""`Organisation.stripe_customer_id` becomes a relation to the mirrored customer.

The column keeps its name, type and unique index; only Django's view of it changes (no database
constraint: the customer row arrives by event after Stripe created it). No data moves.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("djstripe", "0003_2_11"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(model_name="organisation", name="stripe_customer_id"),
                migrations.AddField(
                    model_name="organisation",
                    name="stripe_customer",
                    field=models.OneToOneField(
                        blank=True,
                        db_column="stripe_customer_id",
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="organisation",
                        to="djstripe.customer",
                        to_field="id",
                    ),
                ),
            ],
            database_operations=[],
        )
    ]
