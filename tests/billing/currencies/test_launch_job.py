"""JPY for JP against the sandbox: every price created once, go-live, self-serve, outage, rollback."""

from __future__ import annotations

import pytest
from django.utils import timezone
from djstripe.models import Price

from accounts.models import Organisation
from billing.catalog.models import SelfServeOffer
from billing.catalog.selectors import offers
from billing.currencies import jobs, launches
from billing.currencies.countries import currency_for_country, payment_methods_for
from billing.currencies.models import CountryCurrency, LaunchRow, LaunchStatus, RowState
from billing.stripe.gateway import gateway

pytestmark = pytest.mark.django_db


def sandbox_prices(currency: str) -> list[dict]:
    return [p for p in gateway().list_all("/v1/prices") if p["currency"] == currency]


def approved_launch(admins, *, countries=("JP",), currency="jpy", ending="0"):
    launch = launches.launch_create(
        currency=currency, countries=list(countries), actor=admins.admin, charm_ending=ending
    )
    launches.launch_preview(launch=launch, actor=admins.admin)
    return launches.launch_approve(launch=launch, actor=admins.admin2)


def start(launch, actor, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        launches.launch_start(launch=launch, actor=actor)
    assert len(callbacks) == 1  # the job is handed to the workers once the start is committed
    return launch


def test_jpy_for_jp_creates_every_price_once_goes_live_and_rolls_back(
    catalog, admins, django_capture_on_commit_callbacks
):
    assert currency_for_country("JP") == "usd" and offers(currency="jpy") == []
    launch = approved_launch(admins)
    assert launch.rows.count() == 4  # Pro and Business+, monthly and annual, from USD
    start(launch, admins.admin, django_capture_on_commit_callbacks)

    assert jobs.run_here(launch.pk) == LaunchStatus.live
    created = sandbox_prices("jpy")
    rows = list(launch.rows.order_by("id"))
    assert len(created) == len(rows) == 4
    assert sorted(p["id"] for p in created) == sorted(r.stripe_price_id for r in rows)
    assert sorted(p["lookup_key"] for p in created) == [
        "business_monthly_jpy", "business_yearly_jpy", "pro_monthly_jpy", "pro_yearly_jpy"
    ]  # fmt: skip
    by_key = {p["lookup_key"]: p for p in created}
    # $8.75 at 1 JPY = 0.0067 USD is ¥1,305.97; nearest ¥…0 is ¥1,310.
    assert by_key["pro_monthly_jpy"]["unit_amount"] == 1310
    assert by_key["pro_monthly_jpy"]["recurring"]["interval"] == "month"
    assert by_key["pro_monthly_jpy"]["metadata"]["currency_launch"] == str(launch.pk)

    # Go-live: JP bills new organisations in JPY; self-serve offers the JPY prices in the USD order.
    launch.refresh_from_db()
    assert launch.went_live_at and launch.previous_mapping == {"JP": {"currency": "usd", "payment_methods": []}}
    new_org = Organisation.objects.create(name="Nakatomi", slug="nakatomi", country="JP", billing_email="b@n.example")
    currency = currency_for_country(new_org.country.code)
    assert currency == "jpy"
    jpy = [o.price.lookup_key for o in offers(currency=currency)]
    usd = [o.price.lookup_key for o in offers(currency="usd")]
    assert jpy == [k.replace("_usd", "_jpy") for k in usd]
    assert [m.type for m in payment_methods_for("JP", "jpy")] == ["card"]
    assert Price.objects.filter(currency="jpy", active=True).count() == 4  # written through to the mirror

    # Starting again, or launching JPY in JP again, is refused; nothing more reaches Stripe.
    with pytest.raises(launches.LaunchError, match="cannot start again"):
        launches.launch_start(launch=launch, actor=admins.admin)
    with pytest.raises(launches.LaunchError, match="JP already bills new organisations in JPY"):
        launches.launch_create(currency="jpy", countries=["JP"], actor=admins.admin)

    # Rollback: the mapping goes back at once, offers are withdrawn, the job archives the prices.
    with django_capture_on_commit_callbacks(execute=False):
        launches.launch_rollback(launch=launch, actor=admins.admin, reason="Wrong rounding")
    assert currency_for_country("JP") == "usd"
    assert offers(currency="jpy") == []
    assert jobs.run_here(launch.pk) == LaunchStatus.rolled_back
    after = sandbox_prices("jpy")
    assert len(after) == 4 and not any(p["active"] for p in after)  # archived, none created
    assert set(launch.rows.values_list("state", flat=True)) == {RowState.archived}
    assert CountryCurrency.objects.get(country="JP").currency == "usd"


def test_a_stripe_outage_halfway_pauses_the_launch_and_it_resumes(
    catalog, admins, sandbox_faults, settings, django_capture_on_commit_callbacks
):
    settings.CURRENCY_LAUNCH_PAUSE_SECONDS = 1
    launch = approved_launch(admins)
    start(launch, admins.admin, django_capture_on_commit_callbacks)

    def outage_after_two(row):
        if LaunchRow.objects.filter(launch=launch, state=RowState.created).count() == 2:
            sandbox_faults(error_rate=1.0)

    assert jobs.work(launch.pk, on_row=outage_after_two) == "paused"
    launch.refresh_from_db()
    assert launch.status == LaunchStatus.running and launch.paused_until > timezone.now()
    assert "not answering" in launch.last_error
    assert launch.rows.filter(state=RowState.created).count() == 2
    assert not launch.rows.filter(lease_until__isnull=False).exists()  # the rest of the chunk was released
    assert jobs.work(launch.pk) == "paused"  # before the pause ends nothing is tried

    sandbox_faults(error_rate=0)
    assert jobs.run_here(launch.pk) == LaunchStatus.live
    assert len(sandbox_prices("jpy")) == 4  # no duplicate
    launch.refresh_from_db()
    assert launch.last_error == "" and launch.paused_until is None


def test_a_price_whose_answer_was_lost_is_adopted_not_created_twice(
    catalog, admins, django_capture_on_commit_callbacks
):
    launch = approved_launch(admins)
    start(launch, admins.admin, django_capture_on_commit_callbacks)
    row = launch.rows.order_by("id").first()
    # A worker sent the price and died before writing Stripe's answer down.
    jobs.claim(launch, "dead-worker", 1)
    row.refresh_from_db()
    jobs.create_price(launch, row)
    LaunchRow.objects.filter(pk=row.pk).update(state=RowState.pending, stripe_price_id="", lease_until=timezone.now())
    lost = sandbox_prices("jpy")[0]["id"]

    assert jobs.run_here(launch.pk) == LaunchStatus.live
    row.refresh_from_db()
    assert row.stripe_price_id == lost and row.attempts == 2
    assert len(sandbox_prices("jpy")) == 4


def test_a_price_stripe_refuses_fails_the_launch_which_can_be_retried_or_rolled_back(
    catalog, admins, django_capture_on_commit_callbacks
):
    launch = approved_launch(admins)
    start(launch, admins.admin, django_capture_on_commit_callbacks)
    LaunchRow.objects.filter(launch=launch, lookup_key="pro_yearly_jpy").update(product_id="prod_gone")
    assert jobs.run_here(launch.pk) == LaunchStatus.failed
    launch.refresh_from_db()
    assert "pro_yearly_jpy" in launch.last_error and "Stripe refused 1 price" in launch.last_error
    assert currency_for_country("JP") == "usd"  # a failed launch does not switch the country
    assert len(sandbox_prices("jpy")) == 3
    with django_capture_on_commit_callbacks(execute=False):
        launches.launch_rollback(launch=launch, actor=admins.admin, reason="Catalog changed")
    assert jobs.run_here(launch.pk) == LaunchStatus.rolled_back
    assert not any(p["active"] for p in sandbox_prices("jpy"))
    assert not SelfServeOffer.objects.filter(price_id__in=[p["id"] for p in sandbox_prices("jpy")]).exists()


def test_a_failed_launch_retried_after_the_catalog_is_fixed_goes_live(
    catalog, admins, django_capture_on_commit_callbacks
):
    launch = approved_launch(admins)
    start(launch, admins.admin, django_capture_on_commit_callbacks)
    row = LaunchRow.objects.get(launch=launch, lookup_key="pro_yearly_jpy")
    product = row.product_id
    LaunchRow.objects.filter(pk=row.pk).update(product_id="prod_gone")
    assert jobs.run_here(launch.pk) == LaunchStatus.failed
    LaunchRow.objects.filter(pk=row.pk).update(product_id=product)  # (the book is frozen; this is the fix)
    with django_capture_on_commit_callbacks(execute=False):
        launches.launch_retry(launch=launch, actor=admins.admin)
    assert jobs.run_here(launch.pk) == LaunchStatus.live
    row.refresh_from_db()
    assert row.retry_round == 1 and row.state == RowState.created  # a fresh idempotency key for the new try
    assert len(sandbox_prices("jpy")) == 4


def test_launching_again_after_a_rollback_takes_over_the_archived_prices_lookup_keys(
    catalog, admins, django_capture_on_commit_callbacks
):
    first = approved_launch(admins)
    start(first, admins.admin, django_capture_on_commit_callbacks)
    jobs.run_here(first.pk)
    with django_capture_on_commit_callbacks(execute=False):
        launches.launch_rollback(launch=first, actor=admins.admin, reason="Rounding")
    jobs.run_here(first.pk)

    second = approved_launch(admins, ending="00")
    assert set(second.rows.values_list("transfer_lookup_key", flat=True)) == {True}
    start(second, admins.admin, django_capture_on_commit_callbacks)
    assert jobs.run_here(second.pk) == LaunchStatus.live
    prices = sandbox_prices("jpy")
    active = {p["lookup_key"]: p for p in prices if p["active"]}
    assert len(prices) == 8 and len(active) == 4
    assert active["pro_monthly_jpy"]["unit_amount"] == 1300  # the new rule's price holds the key now
    assert {o.price.lookup_key for o in offers(currency="jpy")} == {
        "pro_monthly_jpy",
        "pro_yearly_jpy",
        "business_monthly_jpy",
        "business_yearly_jpy",
    }
