"""`manage.py currency_launch`: start and watch a launch with a progress bar; refuse what it may not."""

import io

import pytest
from django.core.management import CommandError, call_command

from billing.currencies import launches
from billing.currencies.models import LaunchStatus
from billing.stripe.gateway import gateway

pytestmark = pytest.mark.django_db


def test_run_starts_an_approved_launch_and_shows_a_progress_bar(catalog, admins):
    launch = launches.launch_create(currency="jpy", countries=["JP"], actor=admins.admin)
    launches.launch_preview(launch=launch, actor=admins.admin)
    with pytest.raises(CommandError, match="previewed and approved"):
        call_command("currency_launch", "run", str(launch.pk), stdout=io.StringIO())
    launches.launch_approve(launch=launch, actor=admins.admin2)
    with pytest.raises(CommandError, match="--as"):
        call_command("currency_launch", "run", str(launch.pk), "--as", "finance-analyst", stdout=io.StringIO())

    out = io.StringIO()
    call_command("currency_launch", "run", str(launch.pk), "--as", "finance-admin", stdout=out)
    text = out.getvalue()
    assert "JPY created" in text and "4/4" in text and "price/s" in text  # tqdm's bar
    assert f"#{launch.pk} JPY for JP: Live, 4/4 created" in text
    launch.refresh_from_db()
    assert launch.status == LaunchStatus.live and launch.started_by == admins.admin
    assert len([p for p in gateway().list_all("/v1/prices") if p["currency"] == "jpy"]) == 4

    out = io.StringIO()
    call_command("currency_launch", "run", str(launch.pk), stdout=out)  # live: nothing to do, nothing sent
    assert "Live, 4/4 created" in out.getvalue()
    out = io.StringIO()
    call_command("currency_launch", "list", stdout=out)
    assert f"#{launch.pk}" in out.getvalue() and "Live" in out.getvalue()
    with pytest.raises(CommandError, match="no launch #999"):
        call_command("currency_launch", "status", "999", stdout=io.StringIO())
