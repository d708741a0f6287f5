"""Block lists: values checked per kind, kept here and in Radar value lists, removed from both;
self-serve refuses to start collecting a payment method for a blocked organisation, saying so plainly."""

import pytest

from accounts.models import AuditLog, Organisation
from billing.customers.services import customer_create, setup_intent_create
from billing.risk import blocklist
from billing.risk.errors import PaymentMethodBlocked, RiskError
from billing.risk.models import BlockListEntry, SyncStatus
from billing.stripe.gateway import gateway

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("kind", "value", "kept"),
    [
        ("email", " Fraud@Example.COM ", "fraud@example.com"),
        ("email_domain", "@Bad-Domain.example", "bad-domain.example"),
        ("email_domain", "bücher.example", "xn--bcher-kva.example"),
        ("card_fingerprint", "Xt5EWLLDS7FJjR1c", "Xt5EWLLDS7FJjR1c"),
        ("country", "kp", "KP"),
        ("country", "North Korea", "KP"),
    ],
)
def test_values_are_kept_as_radar_keeps_them(kind, value, kept):
    assert blocklist.normalise(kind, value) == kept


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("email", "not-an-email", "not an email address"),
        ("email_domain", "someone@example.com", "only the domain"),
        ("email_domain", "gmail.com", "public webmail"),
        ("email_domain", "localhost", "not an email domain"),
        ("card_fingerprint", "4242 4242 4242 4242", "looks like a card number"),
        ("card_fingerprint", "abc", "fingerprint"),
        ("country", "Atlantis", "not a country"),
        ("ip_address", "1.2.3.4", "Choose what to block"),
        ("email", "", "Enter a value"),
    ],
)
def test_values_that_are_not_of_their_kind_are_refused(kind, value, message):
    with pytest.raises(RiskError, match=message):
        blocklist.normalise(kind, value)


def test_entries_sync_to_radar_and_removal_deletes_them(sandbox, people):
    entry = blocklist.block_entry_add(
        kind="email_domain", value="fraud.example", reason="Ring of fake teams", actor=people.admin
    )
    assert entry.sync_status == SyncStatus.synced
    lists = {v["alias"]: v for v in gateway().get("/v1/radar/value_lists")["data"]}
    radar = lists["portal_blocked_email_domains"]
    assert radar["item_type"] == "string" and radar["list_items"]["data"][0]["value"] == "fraud.example"
    with pytest.raises(RiskError, match="already blocked"):
        blocklist.block_entry_add(kind="email_domain", value="FRAUD.example", reason="again", actor=people.admin)
    blocklist.block_entry_remove(entry=entry, actor=people.admin, reason="Cleared by the fraud team")
    entry.refresh_from_db()
    assert entry.sync_status == SyncStatus.removed and entry.removed_by == people.admin
    assert gateway().get("/v1/radar/value_list_items", value_list=radar["id"])["data"] == []
    with pytest.raises(RiskError, match="already removed"):
        blocklist.block_entry_remove(entry=entry, actor=people.admin, reason="twice")
    again = blocklist.block_entry_add(kind="email_domain", value="fraud.example", reason="Back", actor=people.admin)
    assert again.pk != entry.pk and again.sync_status == SyncStatus.synced
    assert [a.action for a in AuditLog.objects.filter(object_type="billing_risk.blocklistentry").order_by("pk")] == [
        "risk.block.add",
        "risk.block.remove",
        "risk.block.add",
    ]


def test_radar_unreachable_keeps_the_entry_and_the_sweep_syncs_it(sandbox, sandbox_faults, people):
    sandbox_faults(error_rate=1.0)
    entry = blocklist.block_entry_add(kind="country", value="KP", reason="Sanctions", actor=people.admin)
    assert entry.sync_status == SyncStatus.failed and "try again" in entry.sync_error
    sandbox_faults(error_rate=0)
    assert blocklist.blocklist_sync_pending() == 1
    entry.refresh_from_db()
    assert entry.sync_status == SyncStatus.synced and entry.stripe_item_id


def test_self_serve_setup_is_refused_for_a_blocked_organisation_and_nothing_is_sent(sandbox, people, stripe_calls):
    org = Organisation.objects.create(
        name="Shady", slug="shady", country="DE", billing_email="owner@shady.example", stripe_customer_id=None
    )
    customer_create(organisation=org)
    assert setup_intent_create(organisation=org, method_type="card", request_key="a", actor=people.owner)["id"]
    entry = blocklist.block_entry_add(kind="email_domain", value="shady.example", reason="Fake", actor=people.admin)
    stripe_calls.clear()
    with pytest.raises(PaymentMethodBlocked) as refused:
        setup_intent_create(organisation=org, method_type="card", request_key="b", actor=people.owner)
    assert isinstance(refused.value, ValueError)
    assert "contact our billing team" in str(refused.value) and "shady.example" not in str(refused.value)
    assert not stripe_calls
    entry.refresh_from_db()
    assert entry.hits == 1 and AuditLog.objects.filter(action="risk.block.hit", organisation=org).exists()


@pytest.mark.parametrize(
    ("kind", "value"),
    [("country", "DE"), ("email", "owner@example.com"), ("email", "billing@acme.example")],
)
def test_country_the_persons_email_or_the_billing_email_block_too(people, kind, value):
    BlockListEntry.objects.create(kind=kind, value=value, reason="test", sync_status=SyncStatus.synced)
    with pytest.raises(PaymentMethodBlocked):
        blocklist.check_setup_allowed(organisation=people.acme, actor=people.owner)
    assert blocklist.check_setup_allowed(organisation=people.globex, actor=people.outsider) is None
