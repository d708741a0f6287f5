"""Cached list results: reused while nothing under them changed, never once something did."""

import dataclasses
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.ui import listcache
from tests import stripe_payloads as sp
from tests.pages import login, mirror_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def cached_lists(settings, monkeypatch):
    settings.LIST_CACHE_SECONDS = 60
    monkeypatch.setattr(listcache, "PREFIX", f"test-listcache-{uuid.uuid4().hex[:10]}:")


@pytest.fixture
def invoices(people):
    for cid in ("cus_acme", "cus_globex"):
        mirror_customer(cid, invoices=2)
    return people


def get(client, url, **params):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params, **({"HTTP_HX_REQUEST": "true"} if params.pop("htmx", False) else {}))
    assert response.status_code == 200
    return response.content.decode(), len(queries)


def test_the_same_list_again_is_served_without_its_queries(client, invoices, cached_lists):
    login(client, invoices.analyst)
    url = reverse("invoices:list")
    first, cold = get(client, url, status="paid")
    second, warm = get(client, url, status="paid")
    assert "in_cus_acme_0_0" in first and "in_cus_acme_0_0" in second
    assert warm < cold  # neither the count nor the rows are asked again
    fragment, _ = get(client, url, status="paid", htmx=True)
    assert "<!doctype" not in fragment and fragment.strip() in second  # the same rows, alone for htmx


def test_a_mirror_write_shows_at_once(client, invoices, cached_lists):
    from billing.stripe import mirror

    login(client, invoices.analyst)
    url = reverse("invoices:list")
    before, _ = get(client, url, status="open")
    assert "in_cus_acme_9_9" not in before
    mirror.apply_event(
        sp.event(
            sp.invoice("in_cus_acme_9_9", customer_id="cus_acme", subscription_id="sub_cus_acme_0", status="open"),
            "invoice.finalized",
            created=1_790_000_000,
        )
    )
    after, _ = get(client, url, status="open")
    assert "in_cus_acme_9_9" in after


def test_an_organisation_renamed_shows_at_once(client, invoices, cached_lists):
    login(client, invoices.analyst)
    url = reverse("invoices:list")
    assert "Acme" in get(client, url)[0]
    invoices.acme.name = "Acme Worldwide"
    invoices.acme.save()
    assert "Acme Worldwide" in get(client, url)[0]


def test_each_role_sees_its_own_page(client, invoices, cached_lists):
    url = reverse("customers:list")
    login(client, invoices.analyst)
    assert "Export CSV" in get(client, url)[0]
    login(client, invoices.support)
    assert "Export CSV" not in get(client, url)[0]


def test_each_time_zone_and_language_has_its_own_entry(cached_lists):
    from django.utils import timezone, translation

    def key():
        return listcache.fragment_key("invoices", ["djstripe.Invoice"], "analyst", [("status", "open")])

    with timezone.override("Pacific/Kiritimati"):
        far = key()
    with timezone.override("UTC"):
        utc = key()
        with translation.override("de"):
            german = key()
    assert len({far, utc, german}) == 3


def test_a_write_moves_the_version_now_and_again_after_commit(cached_lists, django_capture_on_commit_callbacks):
    key = lambda: listcache.fragment_key("invoices", ["djstripe.Invoice"], "admin", [])  # noqa: E731
    before = key()
    with django_capture_on_commit_callbacks() as callbacks:
        listcache.touch(["djstripe.Invoice"])
        during = key()
    assert during != before and callbacks
    for callback in callbacks:
        callback()
    assert key() not in (before, during)  # a page rendered before the commit is never served after it


def test_a_page_past_the_end_still_says_so_when_cached(client, invoices, cached_lists):
    login(client, invoices.analyst)
    url = reverse("invoices:list")
    for _ in range(2):
        page, _ = get(client, url, page="99")
        assert "There is no page 99" in page


def test_an_unreachable_cache_only_costs_speed(client, invoices, cached_lists, monkeypatch):
    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(listcache.cache, "get_many", down)
    monkeypatch.setattr(listcache.cache, "set_many", down)
    login(client, invoices.analyst)
    assert "in_cus_acme_0_0" in get(client, reverse("invoices:list"))[0]
    invoices.acme.save()  # a write still succeeds


def test_without_a_shared_cache_nothing_is_cached(client, invoices, settings):
    settings.LIST_CACHE_SECONDS = 0
    assert listcache.fragment_key("invoices", ["djstripe.Invoice"], "admin", []) is None
    login(client, invoices.analyst)
    _, first = get(client, reverse("invoices:list"))
    _, second = get(client, reverse("invoices:list"))
    assert first == second


def test_fragments_with_a_csrf_token_are_never_cached():
    from billing.risk.views.blocklist import BLOCKLIST
    from billing.risk.views.warnings import WARNINGS

    assert not BLOCKLIST.depends_on and not WARNINGS.depends_on


def test_a_whole_page_again_costs_only_the_viewers_own_queries(client, invoices, cached_lists):
    import re

    login(client, invoices.admin)
    url = reverse("invoices:list")
    client.get(url)  # the CSRF cookie a browser holds
    first, cold = get(client, url, status="paid")
    second, warm = get(client, url, status="paid")
    assert warm < cold and "in_cus_acme_0_0" in second
    ids = [re.search(r'name="request_id" value="([^"]+)"', page).group(1) for page in (first, second)]
    assert ids[0] != ids[1] and "hole" not in ids[1]  # each load of the bulk form is its own request
    assert re.sub(r'value="[0-9a-f-]{36}"', "", first) == re.sub(r'value="[0-9a-f-]{36}"', "", second)


def test_each_viewer_has_their_own_page(client, invoices, cached_lists):
    url = reverse("invoices:list")
    for user in (invoices.admin, invoices.analyst):
        login(client, user)
        client.get(url)
        assert user.username in get(client, url)[0]


def test_a_page_with_a_message_waiting_is_never_reused(client, invoices, cached_lists):
    login(client, invoices.analyst)
    url = reverse("invoices:list")
    client.get(url)
    get(client, url)  # cached now
    page, _ = get(client, url, page="99")  # a note: shown, and that page is not kept
    assert "There is no page 99" in page
    assert "There is no page 99" not in get(client, url)[0]


def test_a_page_restored_from_history_is_whole_and_responses_vary_on_htmx(client, invoices):
    login(client, invoices.analyst)
    url = reverse("invoices:list")
    restored = client.get(url, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert "<!doctype" in restored.content.decode()
    fragment = client.get(url, HTTP_HX_REQUEST="true")
    assert "<!doctype" not in fragment.content.decode()
    assert "HX-Request" in fragment["Vary"] and "HX-Request" in restored["Vary"]


def test_only_those_with_bulk_actions_get_checkboxes(client, invoices, cached_lists):
    from billing.stripe import mirror

    mirror.apply_event(
        sp.event(
            sp.invoice("in_cus_acme_open", customer_id="cus_acme", subscription_id="sub_cus_acme_0", status="open"),
            "invoice.finalized",
            created=1_790_000_000,
        )
    )
    url = reverse("invoices:list")
    login(client, invoices.analyst)
    assert 'name="invoice" value="in_cus_acme_open"' not in get(client, url, status="open")[0]
    login(client, invoices.admin)
    assert 'name="invoice" value="in_cus_acme_open"' in get(client, url, status="open")[0]


def test_a_worker_that_imported_no_list_still_moves_versions(cached_lists):
    # What is watched is fixed, not learnt from the lists a process happened to import.
    assert listcache.watched("djstripe.Charge") and listcache.watched("accounts.Organisation")
    assert not listcache.watched("accounts.AuditLog")
    before = listcache.fragment_key("payments", ["djstripe.Charge"], "admin", [])
    listcache.touch(["djstripe.Charge"])
    assert listcache.fragment_key("payments", ["djstripe.Charge"], "admin", []) != before


def test_a_list_may_only_depend_on_watched_tables():
    from django.core.exceptions import ImproperlyConfigured

    from billing.customers.views import CUSTOMERS

    with pytest.raises(ImproperlyConfigured, match="accounts.AuditLog"):
        dataclasses.replace(CUSTOMERS, depends_on=("djstripe.Customer", "accounts.AuditLog"))


def test_a_page_after_its_fragment_still_has_its_filters(client, invoices, cached_lists):
    login(client, invoices.analyst)
    url = reverse("invoices:list")
    fragment, _ = get(client, url, status="paid", htmx=True)
    assert 'class="filters"' not in fragment
    for _ in range(2):
        assert 'class="filters"' in get(client, url, status="paid")[0]


def test_an_organisation_updated_in_bulk_shows_at_once(client, invoices, cached_lists):
    from accounts.models import Organisation

    login(client, invoices.analyst)
    url = reverse("invoices:list")
    assert "Acme" in get(client, url)[0]
    Organisation.objects.filter(pk=invoices.acme.pk).update(name="Acme Holdings")  # no post_save
    assert "Acme Holdings" in get(client, url)[0]
