"""Rebuild templates.json from Stripe's public OpenAPI examples (fixtures3.json, MIT licensed).

    python -m stripe_sandbox.shapes.extract path/to/fixtures3.json

Keeps, for each object type the sandbox serves, Stripe's example object. The sandbox starts every
object it returns from this template (values neutralised), so each has at least Stripe's keys.
"""

import json
import sys
from pathlib import Path

TYPES = [
    "account",
    "product",
    "price",
    "plan",
    "customer",
    "tax_id",
    "payment_method",
    "setup_intent",
    "subscription",
    "subscription_item",
    "subscription_schedule",
    "invoice",
    "line_item",
    "invoiceitem",
    "payment_intent",
    "charge",
    "refund",
    "dispute",
    "review",
    "radar.early_fraud_warning",
    "radar.value_list",
    "radar.value_list_item",
    "file",
    "tax_rate",
    "billing.meter",
    "billing.meter_event",
    "billing.meter_event_summary",
    "billing.meter_event_adjustment",
    "test_helpers.test_clock",
    "webhook_endpoint",
    "event",
    "mandate",
    "balance_transaction",
    "invoice_payment",
    "credit_note",
    "credit_note_line_item",
    "customer_balance_transaction",
    "deleted_customer",
    "deleted_product",
    "deleted_price",
    "deleted_tax_id",
    "deleted_webhook_endpoint",
    "deleted_invoiceitem",
    "deleted_test_helpers.test_clock",
    "deleted_radar.value_list",
    "deleted_radar.value_list_item",
]


def main(source: str) -> None:
    resources = json.loads(Path(source).read_text())["resources"]
    templates = {name: resources[name] for name in TYPES if name in resources}
    out = Path(__file__).with_name("templates.json")
    out.write_text(json.dumps(templates, indent=1, sort_keys=True) + "\n")
    print(f"{len(templates)} templates -> {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/stripe/fixtures3.json")
