"""Indexes for the finance lists' most used filters, each ending in the list's order (newest first),
so a filtered page and its capped count read an index range instead of the table."""

from django.db import migrations
from django.db.models import F
from django.db.models.fields.json import KeyTransform

INDEXES = [
    (
        "Invoice",
        "mirror_invoice_status_cur_created",
        [KeyTransform("status", "stripe_data"), KeyTransform("currency", "stripe_data"), F("created").desc()],
    ),
    ("Invoice", "mirror_invoice_status_created", [KeyTransform("status", "stripe_data"), F("created").desc()]),
    ("Subscription", "mirror_sub_status_created", [KeyTransform("status", "stripe_data"), F("created").desc()]),
    (
        "Customer",
        "mirror_customer_country_created",
        [KeyTransform("country", KeyTransform("address", "stripe_data")), F("created").desc()],
    ),
    ("Charge", "mirror_charge_status_created", [KeyTransform("status", "stripe_data"), F("created").desc()]),
]


def _index(name, parts):
    from django.db import models

    return models.Index(*parts, name=name)


def create(apps, schema_editor):
    for model_name, name, parts in INDEXES:
        schema_editor.add_index(apps.get_model("djstripe", model_name), _index(name, parts))


def drop(apps, schema_editor):
    for model_name, name, parts in INDEXES:
        schema_editor.remove_index(apps.get_model("djstripe", model_name), _index(name, parts))


class Migration(migrations.Migration):
    dependencies = [("billing_stripe", "0006_objectversion_settled")]
    operations = [migrations.RunPython(create, drop)]
