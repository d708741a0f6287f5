"""Dunning on Stripe test clocks: attempts follow the schedule as the clock advances, each step once,
emails at each step; a bank debit still processing is not retried, and one that fails days later
enters dunning. Events go through the real pipeline (stored, mirrored, receivers), tasks eagerly."""

import time

import pytest
from django.core import mail

from accounts.models import Organisation
from billing.dunning.models import Attempt, AttemptStatus, Case, CaseStatus, DunningEmail, FinalAction
from billing.dunning.policies import default_policy, policy_save
from billing.stripe.gateway import gateway
from tests.billing.dunning.helpers import Pump, advance

pytestmark = pytest.mark.django_db
DAY = 86400


@pytest.fixture
def pump(sandbox, settings, django_capture_on_commit_callbacks):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return Pump(django_capture_on_commit_callbacks)


def price(client, currency="usd", amount=5000) -> str:
    product = client.post("/v1/products", {"name": "Pro"}, idempotency_key=f"t:prod:{currency}")
    return client.post(
        "/v1/prices",
        {"product": product["id"], "currency": currency, "unit_amount": amount, "recurring": {"interval": "month"}},
        idempotency_key=f"t:price:{currency}",
    )["id"]


def signed_up(client, name: str, clock: str, *, method: str = "pm_card_visa", country="US", **org) -> dict:
    customer = client.post(
        "/v1/customers",
        {"email": f"{name}@x.example", "name": name, "test_clock": clock, "address": {"country": country}},
        idempotency_key=f"t:cus:{name}",
    )
    pm = client.post(
        f"/v1/payment_methods/{method}/attach", {"customer": customer["id"]}, idempotency_key=f"t:pm:{name}"
    )
    client.post(
        f"/v1/customers/{customer['id']}",
        {"invoice_settings": {"default_payment_method": pm["id"]}},
        idempotency_key=f"t:default:{name}",
    )
    Organisation.objects.create(
        name=name.capitalize(),
        slug=name,
        country=country,
        billing_email=f"billing@{name}.example",
        stripe_customer_id=customer["id"],
        **org,
    )
    return customer


def three_steps(admin=None):
    policy = default_policy()
    steps = [(1, policy.steps.get(day=1).email), (3, policy.steps.get(day=3).email), (5, policy.steps.get(day=5).email)]
    return policy_save(
        instance=policy,
        data={"name": "Default", "priority": 1000, "max_attempts": 5, "final_action": FinalAction.mark_uncollectible},
        steps=steps,
        actor=admin,
    )


def test_a_declining_card_is_retried_on_schedule_and_recovered_by_a_new_card(pump):
    client = gateway()
    three_steps()
    start = int(time.time()) - 40 * DAY
    clock = client.post("/v1/test_helpers/test_clocks", {"frozen_time": start}, idempotency_key="t:clock")["id"]
    customer = signed_up(client, "acme", clock)
    sub = client.post(
        "/v1/subscriptions", {"customer": customer["id"], "items": [{"price": price(client)}]}, idempotency_key="t:sub"
    )
    failing = client.post(
        "/v1/payment_methods/pm_card_chargeCustomerFail/attach", {"customer": customer["id"]}, idempotency_key="t:fail"
    )["id"]
    client.post(f"/v1/subscriptions/{sub['id']}", {"default_payment_method": failing}, idempotency_key="t:subfail")
    renewal = sub["items"]["data"][0]["current_period_end"]
    advance(clock, renewal + 3600)
    pump()

    case = Case.objects.get()
    assert case.status == CaseStatus.scheduled and case.method_type == "card" and case.country == "US"
    invoice = client.get(f"/v1/invoices/{case.invoice_id}")
    assert invoice["auto_advance"] is False and invoice["next_payment_attempt"] is None  # Stripe's retries off
    assert case.next_attempt_at.timestamp() == pytest.approx(renewal + DAY, abs=60)
    assert [m.subject for m in mail.outbox] == [f"We could not collect payment for invoice {invoice['number']}"]

    advance(clock, renewal + DAY - 600)
    pump()
    assert not Attempt.objects.exists()  # not due yet on the clock
    advance(clock, renewal + DAY + 7200)
    pump()
    first = Attempt.objects.get()
    assert (first.step, first.status, first.decline_code) == (1, AttemptStatus.failed, "generic_decline")
    assert client.get(f"/v1/invoices/{case.invoice_id}")["attempt_count"] == 2

    advance(clock, renewal + 3 * DAY + 7200)
    pump()
    pump()  # a second sweep of the same moment makes nothing more
    assert list(Attempt.objects.values_list("step", "status")) == [(1, "failed"), (3, "failed")]

    working = client.post(
        "/v1/payment_methods/pm_card_visa/attach", {"customer": customer["id"]}, idempotency_key="t:visa2"
    )["id"]
    client.post(
        f"/v1/customers/{customer['id']}",
        {"invoice_settings": {"default_payment_method": working}},
        idempotency_key="t:newdefault",
    )
    advance(clock, renewal + 5 * DAY + 7200)
    pump()
    case.refresh_from_db()
    assert case.status == CaseStatus.recovered and case.resolution == "retry" and case.recovered_attempt == 3
    last = Attempt.objects.get(step=5)
    assert last.status == AttemptStatus.succeeded and last.payment_method_id == working
    assert client.get(f"/v1/invoices/{case.invoice_id}")["status"] == "paid"
    # Each step once: 1 first payment + the renewal's failure + three dunning attempts, nothing else.
    charges = client.get("/v1/charges", customer=customer["id"], limit=100)["data"]
    assert len(charges) == 5
    kinds = list(DunningEmail.objects.order_by("at", "id").values_list("kind", "step", "status"))
    assert kinds == [("opening", -1, "sent"), ("step", 1, "sent"), ("step", 3, "sent"), ("recovered", -1, "sent")]
    assert len(mail.outbox) == 4
    assert "/billing/" in mail.outbox[1].body and invoice["hosted_invoice_url"] in mail.outbox[1].body


def ach_customer(client, name: str, clock: str, account: str) -> dict:
    customer = client.post(
        "/v1/customers",
        {"email": f"{name}@x.example", "name": name, "test_clock": clock, "address": {"country": "US"}},
        idempotency_key=f"t:cus:{name}",
    )
    setup = client.post(
        "/v1/setup_intents",
        {
            "customer": customer["id"],
            "confirm": "true",
            "payment_method_types": ["us_bank_account"],
            "payment_method_data": {
                "type": "us_bank_account",
                "billing_details": {"name": name},
                "us_bank_account": {"routing_number": "110000000", "account_number": account},
            },
            "mandate_data": {"customer_acceptance": {"type": "offline"}},
        },
        idempotency_key=f"t:seti:{name}",
    )
    client.post(
        f"/v1/customers/{customer['id']}",
        {"invoice_settings": {"default_payment_method": setup["payment_method"]}},
        idempotency_key=f"t:def:{name}",
    )
    Organisation.objects.create(
        name=name, slug=name, country="US", billing_email=f"b@{name}.example", stripe_customer_id=customer["id"]
    )
    return customer


def test_ach_processing_is_not_retried_and_a_debit_failing_days_later_enters_dunning(pump):
    client = gateway()
    three_steps()
    start = 1_767_000_000 - (1_767_000_000 % (7 * DAY)) + 4 * DAY + 12 * 3600  # a Monday noon
    clock = client.post("/v1/test_helpers/test_clocks", {"frozen_time": start}, idempotency_key="t:clock")["id"]
    customer = ach_customer(client, "lowfunds", clock, "000111111113")
    invoice = client.post(
        "/v1/invoices", {"customer": customer["id"], "currency": "usd", "auto_advance": "true"}, idempotency_key="t:in"
    )
    client.post(
        "/v1/invoiceitems",
        {"customer": customer["id"], "invoice": invoice["id"], "amount": 9900, "currency": "usd"},
        idempotency_key="t:ii",
    )
    client.post(f"/v1/invoices/{invoice['id']}/finalize", {}, idempotency_key="t:fin")
    client.post(f"/v1/invoices/{invoice['id']}/pay", {}, idempotency_key="t:pay")
    advance(clock, start + 2 * DAY)
    pump()
    assert not Case.objects.exists()  # processing is not a failure: nothing to dun, nothing retried

    advance(clock, start + 4 * DAY - 60)
    pump()  # (a failure counts from the clock's time the portal knows: advance up to the moment first)
    advance(clock, start + 4 * DAY + 60)  # the bank returns the debit (R01) after four business days
    pump()
    case = Case.objects.get()
    assert case.method_type == "us_bank_account" and case.status == CaseStatus.scheduled
    assert client.get(f"/v1/invoices/{invoice['id']}")["auto_advance"] is False
    advance(clock, start + 5 * DAY + 3600)  # day 1 of the schedule: a new debit, processing again
    pump()
    attempt = Attempt.objects.get()
    assert attempt.status == AttemptStatus.processing
    advance(clock, start + 7 * DAY + 3600)  # day 3 is due, but the debit is still on its way
    pump()
    assert Attempt.objects.count() == 1
    case.refresh_from_db()
    assert case.status == CaseStatus.in_progress
    advance(clock, start + 11 * DAY + 3600)  # it fails when it settles (Thursday); day 3 and 5 are then due
    pump()
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.failed and attempt.decline_code == "insufficient_funds"
    steps = list(Attempt.objects.order_by("number").values_list("step", "status"))
    assert steps == [(1, "failed"), (5, "processing")]  # missed steps collapse into one attempt
