"""Backfill and reconciliation against the sandbox."""

import pytest
from django.core.management import call_command
from djstripe.models import Customer, Price, Subscription

from billing.stripe import sync
from billing.stripe.errors import StripeUnavailable
from billing.stripe.gateway import gateway
from billing.stripe.models import BackfillCursor, DriftReport

pytestmark = pytest.mark.django_db


def stripe_account_with(n_customers: int) -> list[dict]:
    client = gateway()
    product = client.post("/v1/products", {"name": "Pro"}, idempotency_key="sync:product")
    price = client.post(
        "/v1/prices",
        {"product": product["id"], "currency": "eur", "unit_amount": 800, "recurring": {"interval": "month"}},
        idempotency_key="sync:price",
    )
    customers = []
    for n in range(n_customers):
        customer = client.post(
            "/v1/customers", {"email": f"s{n}@x.example", "address": {"country": "DE"}}, idempotency_key=f"sync:cus:{n}"
        )
        client.post(
            "/v1/setup_intents",
            {"customer": customer["id"], "payment_method": "pm_card_visa", "confirm": "true"},
            idempotency_key=f"sync:seti:{n}",
        )
        client.post(
            "/v1/subscriptions",
            {"customer": customer["id"], "items": [{"price": price["id"]}], "default_payment_method": "pm_card_visa"},
            idempotency_key=f"sync:sub:{n}",
        )
        customers.append(customer)
    return customers


def _backfill_counting() -> tuple[dict, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        written = sync.backfill(restart=True)
    return written, len(queries.captured_queries)


def test_backfill_mirrors_every_type_in_few_queries(sandbox):
    stripe_account_with(6)
    small, small_queries = _backfill_counting()
    client = gateway()
    for n in range(6, 18):
        customer = client.post("/v1/customers", {"email": f"s{n}@x.example"}, idempotency_key=f"sync:cus:{n}")
        client.post(
            "/v1/subscriptions",
            {
                "customer": customer["id"],
                "default_payment_method": "pm_card_visa",
                "items": [{"price": Price.objects.get().id}],
            },
            idempotency_key=f"sync:sub:{n}",
        )
    written, queries = _backfill_counting()
    # What each further object costs (per-type set-up is paid once, whatever the count).
    added = sum(written.values()) - sum(small.values())
    assert added >= 60
    assert (queries - small_queries) / added <= 1.5
    assert written["customer"] == 18 and written["subscription"] == 18 and written["invoice"] == 18
    assert Customer.objects.filter(livemode=False).count() == 18
    assert Price.objects.get().stripe_data["unit_amount"] == 800
    assert Subscription.objects.filter(stripe_data__status="active").count() == 18


def test_backfill_resumes_where_it_stopped(sandbox, sandbox_faults, settings):
    stripe_account_with(6)
    settings.STRIPE_MAX_RETRIES = 0
    calls = {"n": 0}
    real_get = gateway().get

    def flaky_get(path, **params):
        calls["n"] += 1
        if path == "/v1/customers" and params.get("starting_after"):
            raise StripeUnavailable("Stripe is not answering right now")
        return real_get(path, **params)

    gateway().get = flaky_get
    with pytest.raises(StripeUnavailable):
        sync.backfill(object_types=["customer"], page_size=2)
    cursor = BackfillCursor.objects.get(object_type="customer")
    assert cursor.written == 2 and cursor.starting_after and not cursor.done
    gateway().get = real_get
    written = sync.backfill(object_types=["customer"], page_size=2)
    assert written["customer"] == 4  # only what was left
    assert Customer.objects.count() == 6
    assert BackfillCursor.objects.get(object_type="customer").done


def test_backfill_command_reports_and_refuses_unknown_types(sandbox, capsys):
    stripe_account_with(2)
    call_command("stripe_backfill", "--types", "customer,subscription", verbosity=0)
    assert "customer" in capsys.readouterr().out
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="unknown type"):
        call_command("stripe_backfill", "--types", "nope")


def test_reconcile_finds_drift_and_repairs_it(sandbox):
    customers = stripe_account_with(4)
    sync.backfill(object_types=["product", "price", "customer", "subscription"])
    # Drift: one changed here, one missing here, one that Stripe no longer has.
    changed = Customer.objects.get(id=customers[0]["id"])
    changed.stripe_data = {**changed.stripe_data, "email": "tampered@x.example"}
    changed.save()
    Customer.objects.filter(id=customers[1]["id"]).delete()
    from billing.stripe import mirror

    mirror.apply_object({**customers[2], "id": "cus_onlyhere"})

    report = sync.reconcile(object_types=["customer"])
    assert report.summary["customer"] == {"checked": 4, "missing_here": 1, "missing_there": 1, "differ": 1}
    kinds = {(d["id"], d["kind"]) for d in report.details}
    assert (customers[0]["id"], "differ") in kinds and ("cus_onlyhere", "missing_there") in kinds
    assert next(d for d in report.details if d["kind"] == "differ")["fields"] == ["email"]

    repaired = sync.reconcile(object_types=["customer"], repair=True)
    assert repaired.total_drift == 3
    clean = sync.reconcile(object_types=["customer"])
    assert clean.total_drift == 0
    assert Customer.objects.get(id=customers[0]["id"]).email == "s0@x.example"


def test_sampled_reconcile_and_the_drift_page(sandbox, client, people):
    stripe_account_with(3)
    sync.backfill(object_types=["customer"])
    report = sync.reconcile(object_types=["customer"], sample=2)
    assert report.summary["customer"]["checked"] == 2 and report.total_drift == 0
    client.force_login(people.analyst)
    page = client.get("/events/drift/")
    assert page.status_code == 200 and b"No drift" in page.content
    assert DriftReport.objects.count() == 1


def test_register_webhook_command(sandbox, settings, capsys):
    settings.PORTAL_BASE_URL = "http://127.0.0.1:9"  # nothing listens: no delivery is needed here
    call_command("stripe_register_webhook")
    assert "http://127.0.0.1:9/stripe/webhook/" in capsys.readouterr().out
    endpoints = list(gateway().list_all("/v1/webhook_endpoints"))
    assert [e["url"] for e in endpoints] == ["http://127.0.0.1:9/stripe/webhook/"]
    assert endpoints[0]["api_version"] == settings.STRIPE_API_VERSION


def test_fields_stripe_moves_on_its_own_are_not_drift_and_real_drift_comes_first(sandbox):
    customers = stripe_account_with(3)
    sync.backfill(object_types=["customer", "subscription"])
    quiet = Customer.objects.get(id=customers[0]["id"])
    quiet.stripe_data = {**quiet.stripe_data, "next_invoice_sequence": 99}
    quiet.save()
    sub = Subscription.objects.filter(customer_id=customers[1]["id"]).get()
    sub.stripe_data = {**sub.stripe_data, "latest_invoice": "in_other"}
    sub.save()
    loud = Customer.objects.get(id=customers[2]["id"])
    loud.stripe_data = {
        **loud.stripe_data,
        "description": "edited",
        "invoice_settings": {"default_payment_method": None},
    }
    loud.save()
    Customer.objects.filter(id=customers[1]["id"]).update(stripe_data={**customers[1], "description": "x"})

    report = sync.reconcile(object_types=["customer", "subscription"])
    assert report.summary["subscription"]["differ"] == 0
    differing = [d["id"] for d in report.details if d["kind"] == "differ"]
    assert customers[0]["id"] not in differing
    assert differing[0] == customers[2]["id"]  # a payment field differs: shown before a description
    assert report.details[0]["important"] is True


def test_a_finance_admin_repairs_one_object_or_all_from_the_page_audited(
    sandbox, client, people, settings, django_capture_on_commit_callbacks
):
    from accounts.models import AuditLog

    settings.CELERY_TASK_ALWAYS_EAGER = True
    customers = stripe_account_with(2)
    sync.backfill(object_types=["customer"])
    for customer in customers:
        row = Customer.objects.get(id=customer["id"])
        row.stripe_data = {**row.stripe_data, "email": "tampered@x.example"}
        row.save()
    report = sync.reconcile(object_types=["customer"])
    url = f"/events/drift/{report.pk}/repair/"
    client.force_login(people.analyst)
    assert client.post(url, {"type": "customer", "id": customers[0]["id"]}).status_code == 403
    client.force_login(people.admin)
    response = client.post(url, {"type": "customer", "id": customers[0]["id"]}, follow=True)
    assert b"rewritten from Stripe" in response.content
    assert Customer.objects.get(id=customers[0]["id"]).stripe_data["email"] == "s0@x.example"
    assert Customer.objects.get(id=customers[1]["id"]).stripe_data["email"] == "tampered@x.example"
    assert client.post(url, {"type": "customer", "id": "cus_not_in_report"}, follow=True).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"all": "1"})
    assert Customer.objects.get(id=customers[1]["id"]).stripe_data["email"] == "s1@x.example"
    report.refresh_from_db()
    assert all(d.get("repaired") for d in report.details)
    assert AuditLog.objects.filter(action="mirror.repair", actor=people.admin).count() == 2
    assert AuditLog.objects.filter(action="mirror.repair_all", actor=people.admin).count() == 1
    page = client.get("/events/drift/")
    assert b"Repaired" in page.content
