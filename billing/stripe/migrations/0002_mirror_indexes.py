"""Indexes of our own on the dj-stripe tables, for the JSON keys pages and reports filter on.

dj-stripe keeps status, currency and periods only in `stripe_data`; without these, a filter on
them scans the table. Each index matches the SQL Django emits for `stripe_data__<key>=...`.
"""

from django.db import migrations, models
from django.db.models.fields.json import KeyTransform

INDEXES = [
    ("Customer", "mirror_customer_email", ["email"]),
    ("Customer", "mirror_customer_created", ["-created"]),
    ("Customer", "mirror_customer_country", [KeyTransform("country", KeyTransform("address", "stripe_data"))]),
    ("Subscription", "mirror_sub_status", [KeyTransform("status", "stripe_data")]),
    ("Subscription", "mirror_sub_customer_created", ["customer", "-created"]),
    ("Invoice", "mirror_invoice_status", [KeyTransform("status", "stripe_data")]),
    ("Invoice", "mirror_invoice_currency", [KeyTransform("currency", "stripe_data")]),
    ("Invoice", "mirror_invoice_customer_created", ["customer", "-created"]),
    ("Invoice", "mirror_invoice_created", ["-created"]),
    ("Charge", "mirror_charge_created", ["-created"]),
    ("SubscriptionItem", "mirror_item_period_end", [KeyTransform("current_period_end", "stripe_data")]),
    ("PaymentMethod", "mirror_pm_customer_created", ["customer", "-created"]),
]


def _index(name, parts):
    if all(isinstance(p, str) for p in parts):
        return models.Index(fields=parts, name=name)
    return models.Index(*parts, name=name)


def create(apps, schema_editor):
    for model_name, name, parts in INDEXES:
        schema_editor.add_index(apps.get_model("djstripe", model_name), _index(name, parts))


def drop(apps, schema_editor):
    for model_name, name, parts in INDEXES:
        schema_editor.remove_index(apps.get_model("djstripe", model_name), _index(name, parts))


class Migration(migrations.Migration):
    dependencies = [
        ("billing_stripe", "0001_initial"),
        ("djstripe", "0003_2_11"),
    ]
    operations = [migrations.RunPython(create, drop)]
