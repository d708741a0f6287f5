"""The list kit, through the customer list: filters, sort, pages, CSV, htmx, bad input."""

import csv
import io

import pytest
from django.urls import reverse

from accounts.models import AuditLog
from billing.ui.csv import safe_cell
from tests.pages import login, mirror_customer

pytestmark = pytest.mark.django_db


def body(response) -> str:
    if hasattr(response, "streaming_content"):
        return b"".join(response.streaming_content).decode("utf-8-sig")
    return response.content.decode()


@pytest.fixture
def three(people):
    for cid in ("cus_acme", "cus_globex", "cus_initech"):
        mirror_customer(cid)
    people.acme.is_enterprise = True
    people.acme.save()
    return people


def test_filters_combine_and_the_url_keeps_them(client, three):
    login(client, three.analyst)
    url = reverse("customers:list")
    page = body(client.get(url, {"enterprise": "yes"}))
    assert "cus_acme" in page and "cus_globex" not in page
    page = body(client.get(url, {"enterprise": "no", "status": "active"}))
    assert "cus_globex" in page and "cus_acme<" not in page
    fragment = client.get(url, {"q": "initech"}, HTTP_HX_REQUEST="true")
    assert "<html" not in body(fragment) and "cus_initech" in body(fragment)


def test_sort_headers_toggle_and_keep_filters(client, three):
    login(client, three.analyst)
    page = body(client.get(reverse("customers:list"), {"sort": "created", "enterprise": "no"}))
    assert 'aria-sort="ascending"' in page
    assert "sort=-created" in page and "enterprise=no" in page
    assert client.get(reverse("customers:list"), {"sort": "'; drop table"}).status_code == 200


@pytest.mark.parametrize(
    "params",
    [
        {"status": "nonsense"},
        {"country": "ZZ"},
        {"page": "9999"},
        {"page": "-1"},
        {"page": "abc"},
        {"q": "%00" * 5},
        {"q": "x" * 3000},
        {"plan": "prod_nope"},
    ],
)
def test_bad_filter_values_give_a_message_never_a_500(client, three, params):
    login(client, three.support)
    response = client.get(reverse("customers:list"), params)
    assert response.status_code == 200


def test_a_filter_that_cannot_run_shows_nobody_and_says_why(client, three):
    login(client, three.support)
    page = body(client.get(reverse("customers:list"), {"q": "\x00"}))
    assert "cus_acme" not in page and "Null characters are not allowed" in page
    page = body(client.get(reverse("customers:list"), {"status": "nonsense"}, HTTP_HX_REQUEST="true"))
    assert "cus_acme" not in page and "valid choice" in page


def test_csv_is_what_the_filters_show_streamed_and_audited(client, three):
    login(client, three.analyst)
    response = client.get(reverse("customers:list"), {"enterprise": "no", "format": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(body(response))))
    assert rows[0][0] == "customer_id"
    assert sorted(r[0] for r in rows[1:]) == ["cus_globex", "cus_initech"]
    entry = AuditLog.objects.get(action="customers.export")
    assert entry.actor == three.analyst and entry.data["filters"] == {"enterprise": "no"}


def test_support_may_not_export(client, three):
    login(client, three.support)
    assert client.get(reverse("customers:list"), {"format": "csv"}).status_code == 403
    assert "Export CSV" not in body(client.get(reverse("customers:list")))


def test_spreadsheet_formulas_are_neutralised():
    assert safe_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert safe_cell("-12.50") == "-12.50"
    assert safe_cell("@evil") == "'@evil"
    assert safe_cell(None) == ""


def test_times_are_shown_in_the_viewers_zone(client, people):
    login(client, people.analyst)
    client.cookies["tz"] = "Asia/Tokyo"
    assert "times in Asia/Tokyo" in body(client.get(reverse("customers:list")))
    client.cookies["tz"] = "Mars/Olympus"  # not a zone: UTC
    assert "times in UTC" in body(client.get(reverse("customers:list")))


def test_customer_filters_by_plan_method_and_past_due(client, three):
    from billing.stripe import mirror
    from tests import stripe_payloads as sp

    card = {
        "id": "pm_sepa",
        "object": "payment_method",
        "type": "sepa_debit",
        "customer": "cus_globex",
        "created": 1,
        "livemode": False,
        "sepa_debit": {"last4": "3000"},
        "billing_details": {},
        "metadata": {},
    }
    mirror.apply_event(sp.event(card, "payment_method.attached", created=1_800_000_000))
    late = sp.subscription("sub_late", customer_id="cus_initech", status="past_due")
    mirror.apply_event(sp.event(late, "customer.subscription.updated", created=1_800_000_000))
    mirror.apply_event(sp.event(sp.product("prod_pro"), "product.created", created=1_800_000_000))
    login(client, three.analyst)
    page = body(client.get(reverse("customers:list"), {"method": "sepa_debit"}))
    assert "cus_globex" in page and "cus_acme<" not in page
    page = body(client.get(reverse("customers:list"), {"past_due": "yes"}))
    assert "cus_initech" in page and "cus_globex<" not in page
    page = body(client.get(reverse("customers:list"), {"plan": "prod_pro"}))
    assert "cus_acme" in page


def test_fast_select_renders_as_django_does_escaped_and_selected():
    from django import forms

    from billing.ui.filters import FastSelect

    choices = [("", "Any"), ("DE", "Germany"), ('x"><script>', "<b>bad</b>"), ("Group", [("a", "A"), ("b", "B")])]
    html = FastSelect(choices=choices).render("country", "DE", attrs={"id": "id_country"})
    assert html.startswith('<select name="country" id="id_country">')
    assert '<option value="DE" selected>Germany</option>' in html
    assert '<option value="" >' not in html and '<option value="">Any</option>' in html
    assert "<script>" not in html and "&lt;b&gt;bad&lt;/b&gt;" in html
    assert '<option value="b">B</option>' in html
    plain = forms.Select(choices=choices).render("country", "DE")
    assert plain.count("<option") == html.count("<option")
