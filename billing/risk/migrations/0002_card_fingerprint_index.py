"""An index of our own on the mirror's payment methods: the card fingerprint, for "other organisations
paying with this card" on a review (dj-stripe keeps it only in `stripe_data`)."""

from django.db import migrations, models
from django.db.models.fields.json import KeyTransform

NAME = "mirror_pm_card_fingerprint"


def _index():
    return models.Index(KeyTransform("fingerprint", KeyTransform("card", "stripe_data")), name=NAME)


def create(apps, schema_editor):
    schema_editor.add_index(apps.get_model("djstripe", "PaymentMethod"), _index())


def drop(apps, schema_editor):
    schema_editor.remove_index(apps.get_model("djstripe", "PaymentMethod"), _index())


class Migration(migrations.Migration):
    dependencies = [
        ("billing_risk", "0001_risk"),
        ("djstripe", "0003_2_11"),
    ]
    operations = [migrations.RunPython(create, drop)]
