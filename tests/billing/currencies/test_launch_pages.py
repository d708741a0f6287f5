"""The launch pages: who may see and do what, the browser flow end to end, bad input on the page."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AuditLog
from billing.currencies import jobs, launches
from billing.currencies.models import Launch, LaunchRow, LaunchStatus
from tests.billing.currencies.conftest import build_catalog
from tests.pages import login

pytestmark = pytest.mark.django_db


@pytest.fixture
def launch(catalog, admins):
    launch = launches.launch_create(currency="jpy", countries=["JP"], actor=admins.admin, charm_ending="0")
    return launches.launch_preview(launch=launch, actor=admins.admin)


READ_PAGES = ["currencies:launches", "currencies:launch", "currencies:launch-progress", "currencies:acceptance"]


def url(name: str, launch: Launch) -> str:
    if name in ("currencies:launches", "currencies:acceptance"):
        return reverse(name)
    return reverse(name, args=[launch.pk])


@pytest.mark.parametrize(
    ("who", "status"),
    [
        (None, 302),
        ("member", 403),
        ("owner", 403),
        ("outsider", 403),
        ("support", 200),
        ("analyst", 200),
        ("admin", 200),
    ],
)
def test_finance_staff_read_launches_customers_do_not(client, admins, launch, who, status):
    login(client, getattr(admins, who) if who else None)
    for name in READ_PAGES:
        assert client.get(url(name, launch)).status_code == status, name
    export = client.get(reverse("currencies:launch-export", args=[launch.pk]))
    assert export.status_code == {"support": 403, "analyst": 200, "admin": 200}.get(who, status)


@pytest.mark.parametrize(("who", "status"), [(None, 302), ("owner", 403), ("support", 403), ("analyst", 403)])
def test_only_finance_admins_draft_preview_approve_start_and_roll_back(client, admins, launch, who, status):
    login(client, getattr(admins, who) if who else None)
    assert client.get(reverse("currencies:launch-new")).status_code == status
    posts = {
        "currencies:launch-new": {"currency": "sek", "countries": "SE", "rounding_mode": "nearest"},
        "currencies:launch-preview": {},
        "currencies:launch-approve": {},
        "currencies:launch-start": {},
        "currencies:launch-rollback": {"reason": "no"},
        "currencies:launch-edit": {"countries": "JP, KR", "rounding_mode": "up", "sibling_tolerance": "5"},
        "currencies:launch-override": {"row": launch.rows.first().pk, "amount": "999", "reason": "x"},
    }
    before = AuditLog.objects.count()
    for name, data in posts.items():
        target = reverse(name) if name == "currencies:launch-new" else reverse(name, args=[launch.pk])
        assert client.post(target, data).status_code == status, name
    launch.refresh_from_db()
    assert launch.status == LaunchStatus.previewed and Launch.objects.count() == 1
    assert not LaunchRow.objects.exclude(override_amount=None).exists()
    assert AuditLog.objects.count() == before


def test_an_unknown_launch_is_a_404(client, admins, db):
    login(client, admins.admin)
    assert client.get(reverse("currencies:launch", args=[999])).status_code == 404
    assert client.post(reverse("currencies:launch-approve", args=[999])).status_code == 404


def test_draft_preview_approve_run_watch_and_roll_back_in_the_browser_flow(
    client, admins, catalog, django_capture_on_commit_callbacks
):
    login(client, admins.admin)
    response = client.post(
        reverse("currencies:launch-new"),
        {"currency": "JPY", "countries": "jp", "source_currency": "USD", "rounding_mode": "nearest",
         "charm_ending": "0", "sibling_tolerance": "25"},
        follow=True,
    )  # fmt: skip
    launch = Launch.objects.get()
    assert "Preview its price book next" in response.content.decode()
    response = client.post(reverse("currencies:launch-preview", args=[launch.pk]), follow=True)
    page = response.content.decode()
    assert "Previewed" in page and "pro_monthly_jpy" in page and "¥1,310" in page
    response = client.post(reverse("currencies:launch-approve", args=[launch.pk]), follow=True)
    assert "another finance admin must approve it (four eyes)" in response.content.decode()

    login(client, admins.admin2)
    response = client.post(reverse("currencies:launch-approve", args=[launch.pk]), follow=True)
    assert "Approved: the price book is frozen" in response.content.decode()
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(reverse("currencies:launch-start", args=[launch.pk]), follow=True)
    page = response.content.decode()
    assert "Started" in page and 'hx-trigger="every 1s"' in page  # the bar polls while the job runs
    response = client.post(reverse("currencies:launch-start", args=[launch.pk]), follow=True)
    assert "already running" in response.content.decode()
    response = client.post(reverse("currencies:launch-rollback", args=[launch.pk]), {"reason": "x"}, follow=True)
    assert "wait until it is live or has failed" in response.content.decode()

    progress = client.get(reverse("currencies:launch-progress", args=[launch.pk]), {"polling": 1})
    assert "0 of 4 prices created" in progress.content.decode() and "HX-Refresh" not in progress
    jobs.run_here(launch.pk)
    progress = client.get(reverse("currencies:launch-progress", args=[launch.pk]), {"polling": 1})
    assert "4 of 4 prices created" in progress.content.decode() and progress["HX-Refresh"] == "true"
    page = client.get(reverse("currencies:launch", args=[launch.pk])).content.decode()
    assert "New organisations in JP are billed in JPY" in page

    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            reverse("currencies:launch-rollback", args=[launch.pk]), {"reason": "Rounding too coarse"}, follow=True
        )
    assert "Rolling back" in response.content.decode()
    jobs.run_here(launch.pk)
    launch.refresh_from_db()
    assert launch.status == LaunchStatus.rolled_back
    actions = list(AuditLog.objects.filter(object_id=str(launch.pk)).values_list("action", flat=True))
    for step in ("create", "preview", "approve", "start", "live", "rollback", "rolled_back"):
        assert f"currency_launch.{step}" in actions


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"currency": "XYZ", "countries": "JP"}, "XYZ is not an ISO 4217 currency code"),
        ({"currency": "JPY", "countries": "ZZ"}, "ZZ is not a country code"),
        ({"currency": "USD", "countries": "JP"}, "must differ"),
        ({"currency": "KWD", "countries": "KW", "charm_ending": "99"}, "steps of 10"),
        ({"currency": "JPY", "countries": "JP", "sibling_tolerance": "-3"}, "above 0"),
    ],
)
def test_bad_drafts_are_refused_on_the_page(client, admins, catalog, data, message):
    login(client, admins.admin)
    form = {"source_currency": "usd", "rounding_mode": "nearest", "sibling_tolerance": "10", **data}
    response = client.post(reverse("currencies:launch-new"), form)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Launch.objects.exists()


def test_a_bad_override_and_a_csv_with_bad_lines_change_nothing(client, admins, launch):
    login(client, admins.admin)
    row = launch.rows.get(lookup_key="pro_monthly_jpy")
    response = client.post(
        reverse("currencies:launch-override", args=[launch.pk]),
        {"row": row.pk, "amount": "40", "reason": "cheap"},
        follow=True,
    )
    assert "below Stripe&#x27;s minimum charge of ¥50" in response.content.decode()
    csv = "lookup_key,override,reason\npro_monthly_jpy,1290,Round yen\nnope_jpy,10,x\npro_yearly_jpy,12.5,x\n"
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(
        reverse("currencies:launch-import", args=[launch.pk]),
        {"file": SimpleUploadedFile("o.csv", csv.encode(), content_type="text/csv")},
        follow=True,
    )
    page = response.content.decode()
    assert "line 3: nope_jpy is not a lookup key" in page and "line 4 (pro_yearly_jpy)" in page
    assert not LaunchRow.objects.exclude(override_amount=None).exists()

    good = "lookup_key,override,reason\npro_monthly_jpy,1290,Round yen\n"
    response = client.post(
        reverse("currencies:launch-import", args=[launch.pk]),
        {"file": SimpleUploadedFile("o.csv", good.encode(), content_type="text/csv")},
        follow=True,
    )
    assert "Imported: 1 price changed" in response.content.decode()
    row.refresh_from_db()
    assert row.override_amount == 1290 and row.override_reason == "Round yen"
    # The one who changed prices cannot approve the book either.
    login(client, admins.admin2)
    client.post(
        reverse("currencies:launch-override", args=[launch.pk]), {"row": row.pk, "amount": "1300", "reason": "mine"}
    )
    response = client.post(reverse("currencies:launch-approve", args=[launch.pk]), follow=True)
    assert "You changed prices in this book" in response.content.decode()


def test_the_page_returns_only_to_its_own_anchors(client, admins, launch):
    login(client, admins.admin)
    row = launch.rows.first()
    page = reverse("currencies:launch", args=[launch.pk]) + "?show=flagged&page=2"
    for anchor, expected in ((f"#row-{row.pk}", f"#row-{row.pk}"), ("//evil.example", ""), ("#x\r\nSet-Cookie: a", "")):
        response = client.post(
            reverse("currencies:launch-override", args=[launch.pk]),
            {"row": row.pk, "amount": "", "reason": "", "anchor": anchor, "show": "flagged", "page": "2"},
        )
        assert response.status_code == 302
        assert response["Location"] == page + expected


def test_the_exported_book_imports_back(client, admins, launch):
    login(client, admins.admin)
    response = client.get(reverse("currencies:launch-export", args=[launch.pk]))
    text = b"".join(response.streaming_content).decode()
    assert text.startswith("\ufeff")  # spreadsheets read it as UTF-8; the import takes it back
    assert (
        text.splitlines()[0]
        .lstrip("\ufeff")
        .startswith("lookup_key,product,interval,source_price,source_usd,converted_jpy")
    )
    edited = text.replace("pro_monthly_jpy,Pro,month", "pro_monthly_jpy,Pro,month", 1)
    lines = edited.splitlines()
    header = lines[0].split(",")
    cells = lines[1].split(",")
    cells[header.index("override")], cells[header.index("reason")] = "1500", "Premium market"
    from django.core.files.uploadedfile import SimpleUploadedFile

    body = "\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\n"
    response = client.post(
        reverse("currencies:launch-import", args=[launch.pk]),
        {"file": SimpleUploadedFile("book.csv", body.encode(), content_type="text/csv")},
        follow=True,
    )
    assert "Imported: 1 price changed" in response.content.decode()
    assert AuditLog.objects.filter(action="currency_launch.export").exists()


def test_the_launch_page_costs_the_same_queries_for_4_or_44_prices(client, admins, sandbox, db):
    from tests.billing.currencies.conftest import add_rates

    add_rates()
    build_catalog(extra_products=20)
    small = launches.launch_create(currency="jpy", countries=["JP"], actor=admins.admin, source_currency="eur")
    launches.launch_preview(launch=small, actor=admins.admin)
    big = launches.launch_create(currency="sek", countries=["SE"], actor=admins.admin)
    launches.launch_preview(launch=big, actor=admins.admin)
    assert (small.rows.count(), big.rows.count()) == (4, 44)
    login(client, admins.analyst)
    client.get(reverse("currencies:launches"))  # the session's first request does its own bookkeeping
    counts = []
    for launch in (small, big):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("currencies:launch", args=[launch.pk])).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("currencies:launches"))
    assert len(queries) < 12
