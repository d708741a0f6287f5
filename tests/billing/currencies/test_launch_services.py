"""The launch's state machine and its refusals: a clear sentence, nothing sent to Stripe."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.currencies import book, launches, overrides
from billing.currencies.countries import local_methods_in, payment_methods_for, setup_intent_options
from billing.currencies.models import FxRate, Launch, LaunchStatus
from billing.currencies.services import fx_rate_set
from tests.billing.currencies.conftest import add_rates

pytestmark = pytest.mark.django_db
LaunchError = launches.LaunchError


def draft(admins, **kwargs):
    return launches.launch_create(
        **{"currency": "jpy", "countries": ["JP"], "actor": admins.admin, "charm_ending": "0", **kwargs}
    )


def price_posts(calls) -> list:
    return [c for c in calls if c[0] == "POST" and c[1].startswith("/v1/prices")]


def test_the_same_inputs_give_the_same_book(catalog, admins):
    launch = draft(admins)
    launches.launch_preview(launch=launch, actor=admins.admin)
    first = list(launch.rows.order_by("source_price_id").values_list("converted", "rounded", "flags", "lookup_key"))
    digest = book.digest(launch.rows.all())
    launches.launch_preview(launch=launch, actor=admins.admin)
    second = list(launch.rows.order_by("source_price_id").values_list("converted", "rounded", "flags", "lookup_key"))
    assert first == second and book.digest(launch.rows.all()) == digest
    launch.refresh_from_db()
    # 1 USD = 1 / 0.0067 JPY, to 12 places; the snapshot says where the rates come from.
    assert launch.fx_rate == Decimal("149.253731343284")
    assert "1 JPY = 0.0067 USD (ECB (test)" in launch.fx_source
    assert launch.minimum_charge == 50 and launch.methods == {"JP": []}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"currency": "abc"}, "ABC is not an ISO 4217 currency code"),
        ({"countries": []}, "name at least one country"),
        ({"countries": ["JP", "XX"]}, "XX is not a country code"),
        ({"source_currency": "jpy"}, "must differ"),
        ({"currency": "kwd", "countries": ["KW"], "charm_ending": "99"}, "steps of 10"),
        ({"rounding_mode": "sideways"}, "rounding must be"),
        ({"sibling_tolerance": "0"}, "above 0"),
    ],
)
def test_bad_drafts_are_refused(catalog, admins, stripe_calls, kwargs, message):
    with pytest.raises(LaunchError, match=message):
        draft(admins, **kwargs)
    assert not Launch.objects.exists() and not stripe_calls


def test_a_country_in_another_open_launch_is_refused(catalog, admins):
    draft(admins, countries=["JP", "KR"])
    with pytest.raises(LaunchError, match=r"KR is in launch #\d+ \(JPY, draft\)"):
        draft(admins, currency="krw", countries=["KR"])


def test_rates_that_are_missing_stale_or_not_positive_are_refused(catalog, admins, stripe_calls):
    launch = draft(admins, currency="sek", countries=["SE"])
    FxRate.objects.filter(currency="sek").update(day=timezone.now().date() - dt.timedelta(days=8))
    with pytest.raises(LaunchError, match="SEK rate is from .*, 8 days old; launches use rates at most 7 days old"):
        launches.launch_preview(launch=launch, actor=admins.admin)
    FxRate.objects.filter(currency="sek").delete()
    with pytest.raises(LaunchError, match="there is no SEK rate into USD"):
        launches.launch_preview(launch=launch, actor=admins.admin)
    for bad in ("0", "-1.2", "NaN"):
        with pytest.raises(ValueError):
            fx_rate_set(currency="sek", quote="usd", rate=bad, day=timezone.now().date(), source="x")
    launch.refresh_from_db()
    assert launch.status == LaunchStatus.draft and not launch.rows.exists() and not stripe_calls


def test_a_rule_below_stripes_minimum_blocks_approval_until_overridden(catalog, admins, stripe_calls):
    add_rates(jpy="0.50")  # an absurd yen: $8.75 is ¥17.50
    launch = draft(admins, rounding_mode="down", charm_ending="")
    launches.launch_preview(launch=launch, actor=admins.admin)
    low = launch.rows.get(lookup_key="pro_monthly_jpy")
    assert low.rounded == 17 and {"kind": "below_minimum", "minimum": 50} in low.flags
    with pytest.raises(LaunchError) as refused:
        launches.launch_approve(launch=launch, actor=admins.admin2)
    assert "pro_monthly_jpy: below Stripe's minimum charge of ¥50" in refused.value.errors
    with pytest.raises(LaunchError, match="below Stripe's minimum charge of ¥50"):
        overrides.launch_override(launch=launch, row_id=low.pk, amount="49", reason="x", actor=admins.admin)
    with pytest.raises(LaunchError, match="say why"):
        overrides.launch_override(launch=launch, row_id=low.pk, amount="60", reason="", actor=admins.admin)
    for row in launch.rows.all():
        if any(f["kind"] == "below_minimum" for f in row.flags):
            overrides.launch_override(launch=launch, row_id=row.pk, amount="100", reason="Floor", actor=admins.admin)
    launch = launches.launch_approve(launch=launch, actor=admins.admin2)
    assert launch.status == LaunchStatus.approved and not price_posts(stripe_calls)
    with pytest.raises(LaunchError, match="frozen"):
        overrides.launch_override(launch=launch, row_id=low.pk, amount="200", reason="x", actor=admins.admin)
    with pytest.raises(LaunchError, match="already approved"):
        launches.launch_approve(launch=launch, actor=admins.admin2)


def test_four_eyes_and_the_order_of_steps(catalog, admins, stripe_calls, django_capture_on_commit_callbacks):
    launch = draft(admins)
    with pytest.raises(LaunchError, match="Preview the launch before approving"):
        launches.launch_approve(launch=launch, actor=admins.admin2)
    with pytest.raises(LaunchError, match="once a second finance admin has approved it"):
        launches.launch_start(launch=launch, actor=admins.admin)
    launches.launch_preview(launch=launch, actor=admins.admin)
    with pytest.raises(LaunchError, match="You drafted this launch"):
        launches.launch_approve(launch=launch, actor=admins.admin)
    Launch.objects.filter(pk=launch.pk).update(fx_as_of=timezone.now().date() - dt.timedelta(days=9))
    with pytest.raises(LaunchError, match="older than 7 days: enter current rates and preview again"):
        launches.launch_approve(launch=launch, actor=admins.admin2)
    launches.launch_preview(launch=launch, actor=admins.admin)
    launches.launch_approve(launch=launch, actor=admins.admin2)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        launches.launch_start(launch=launch, actor=admins.admin)
        with pytest.raises(LaunchError, match="already running"):
            launches.launch_start(launch=launch, actor=admins.admin2)
    assert len(callbacks) == 1  # one hand-over to the workers, not two
    with pytest.raises(LaunchError, match="wait until it is live or has failed"):
        launches.launch_rollback(launch=launch, actor=admins.admin, reason="Oops")
    assert not price_posts(stripe_calls)  # the workers create prices, not these steps


def test_editing_a_previewed_launch_needs_a_new_preview_and_keeps_overrides(catalog, admins):
    launch = draft(admins)
    launches.launch_preview(launch=launch, actor=admins.admin)
    row = launch.rows.get(lookup_key="pro_monthly_jpy")
    overrides.launch_override(launch=launch, row_id=row.pk, amount="1280", reason="Yen list", actor=admins.admin)
    launch = launches.launch_update(
        launch=launch, actor=admins.admin, countries="JP", rounding_mode="up", charm_ending="00", sibling_tolerance="10"
    )
    assert launch.status == LaunchStatus.draft
    launch = launches.launch_preview(launch=launch, actor=admins.admin)
    kept = launch.rows.get(lookup_key="pro_monthly_jpy")
    assert (kept.override_amount, kept.override_reason, kept.rounded) == (1280, "Yen list", 1400)


def test_withdrawing_a_launch_that_never_ran_sends_nothing(catalog, admins, stripe_calls):
    launch = draft(admins)
    launches.launch_preview(launch=launch, actor=admins.admin)
    launch = launches.launch_rollback(launch=launch, actor=admins.admin, reason="Not this quarter")
    assert launch.status == LaunchStatus.rolled_back and not price_posts(stripe_calls)
    with pytest.raises(LaunchError, match="already rolled back"):
        launches.launch_rollback(launch=launch, actor=admins.admin, reason="again")
    with pytest.raises(LaunchError, match="Say why"):
        launches.launch_rollback(launch=draft(admins), actor=admins.admin, reason=" ")


def test_sibling_prices_more_than_the_tolerance_away_are_flagged(catalog, admins):
    # €8.00 is $8.67 at 1.0842, below the $8.75 the SEK price comes from: 0.9 % apart.
    launch = draft(admins, currency="sek", countries=["SE"], sibling_tolerance="0.5")
    launches.launch_preview(launch=launch, actor=admins.admin)
    row = launch.rows.get(lookup_key="pro_monthly_sek")
    sibling = next(f for f in row.flags if f["kind"] == "sibling")
    assert sibling["currency"] == "eur" and sibling["gap"] == "0.9"
    assert launches.describe_flag(sibling, launch) == "0.9 % above the EUR price (€8.00) at today's rates"


def test_local_methods_switched_on_by_a_launch_follow_the_country_table():
    assert [m.type for m in local_methods_in("CA", "cad")] == ["acss_debit"]
    assert local_methods_in("CA", "usd") == []
    assert [m.type for m in local_methods_in("NL", "eur")] == ["ideal", "sepa_debit"]
    assert [m.type for m in payment_methods_for("BE", "eur")] == ["card", "bancontact", "sepa_debit"]
    assert setup_intent_options("acss_debit", "CAD")["acss_debit"]["currency"] == "cad"
    assert setup_intent_options("card", "usd") is None
