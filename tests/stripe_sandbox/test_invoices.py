"""Invoices: send_invoice subscriptions, a one-off invoice's life, its hosted page and PDF behind a token."""

import contextlib
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
import stripe

from tests.conftest import ROOT, free_port, stop_process, wait_until
from tests.stripe_sandbox.conftest import catalog


def test_send_invoice_subscription_and_one_off_invoice_lifecycle(sb):
    price = catalog(sb, "eur", 2800)
    customer = sb.v1.customers.create({"email": "ent@x.example"})
    sub = sb.v1.subscriptions.create(
        {
            "customer": customer.id,
            "items": [{"price": price.id, "quantity": 10}],
            "collection_method": "send_invoice",
            "days_until_due": 30,
        }
    )
    invoice = sb.v1.invoices.retrieve(sub.latest_invoice)
    assert sub.status == "active" and invoice.status == "open" and invoice.due_date
    assert sb.v1.invoices.send_invoice(invoice.id).status == "open"
    assert sb.v1.invoices.void_invoice(invoice.id).status == "void"

    draft = sb.v1.invoices.create(
        {"customer": customer.id, "collection_method": "send_invoice", "days_until_due": 14, "currency": "eur"}
    )
    sb.v1.invoice_items.create(
        {"customer": customer.id, "invoice": draft.id, "amount": 5000, "currency": "eur", "description": "Onboarding"}
    )
    final = sb.v1.invoices.finalize_invoice(draft.id)
    assert final.status == "open" and final.amount_due == 5000 and final.number
    assert sb.v1.invoices.mark_uncollectible(final.id).status == "uncollectible"
    with pytest.raises(stripe.InvalidRequestError):
        sb.v1.invoices.finalize_invoice(final.id)


def one_off_invoice(sb, customer_id: str, amount: int = 5000):
    draft = sb.v1.invoices.create({"customer": customer_id, "collection_method": "send_invoice", "days_until_due": 14})
    sb.v1.invoice_items.create({"customer": customer_id, "invoice": draft.id, "amount": amount, "currency": "usd"})
    return sb.v1.invoices.finalize_invoice(draft.id)


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:  # not listening (yet)
        return 0


def test_invoice_page_and_pdf_need_the_invoices_secret_token(sb):
    customer = sb.v1.customers.create({"email": "docs@x.example"})
    draft = sb.v1.invoices.create({"customer": customer.id, "collection_method": "send_invoice", "days_until_due": 7})
    assert draft.hosted_invoice_url is None and draft.invoice_pdf is None
    invoice = one_off_invoice(sb, customer.id)
    other = one_off_invoice(sb, customer.id, 700)
    page, pdf = invoice.hosted_invoice_url, invoice.invoice_pdf
    prefix = f"{sb.url}/_sandbox/invoices/{invoice.id}/"
    assert page.startswith(prefix) and pdf == f"{page}/pdf"
    token = page[len(prefix) :]
    assert len(token) >= 32 and "/" not in token
    assert other.hosted_invoice_url != f"{sb.url}/_sandbox/invoices/{other.id}/{token}"  # a token per invoice
    assert not [key for key in invoice.to_dict() if key.startswith("_")]  # the token is only in the URLs

    assert invoice.number.encode() in urllib.request.urlopen(page).read()
    assert urllib.request.urlopen(pdf).read().startswith(b"%PDF")
    other_token = other.hosted_invoice_url.rsplit("/", 1)[1]
    wrong = token[:-1] + ("B" if token[-1] == "A" else "A")
    refused = [
        f"{sb.url}/_sandbox/invoices/{invoice.id}",  # the bare id, as before
        f"{sb.url}/_sandbox/invoices/{invoice.id}/pdf",
        f"{prefix}{wrong}",
        f"{prefix}{wrong}/pdf",
        f"{prefix}{other_token}",  # another invoice's token
        f"{prefix}{other_token}/pdf",
        f"{sb.url}/_sandbox/invoices/{draft.id}/{token}",
        f"{sb.url}/_sandbox/invoices/in_nope/{token}/pdf",
    ]
    assert {url: status_of(url) for url in refused} == dict.fromkeys(refused, 404)


def test_invoice_urls_still_open_after_a_restart_with_the_state_file(tmp_path):
    """The token lives in the state file: the URLs an invoice carries keep working after a restart."""
    state = tmp_path / "state.json"
    with running_sandbox(state) as url:
        client = stripe.StripeClient(
            "sk_test_restart000000000000000000", base_addresses={"api": url}, max_network_retries=0
        )
        customer = client.v1.customers.create({"email": "restart@x.example"})
        invoice = one_off_invoice(client, customer.id)
        assert status_of(invoice.hosted_invoice_url) == 200
    with running_sandbox(state, port=int(url.rsplit(":", 1)[1])) as again:
        assert again == url
        assert status_of(invoice.hosted_invoice_url) == 200 and status_of(invoice.invoice_pdf) == 200
        assert status_of(f"{url}/_sandbox/invoices/{invoice.id}/pdf") == 404


@contextlib.contextmanager
def running_sandbox(state, port: int | None = None):
    port = port or free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "stripe_sandbox", "--port", str(port), "--state-file", str(state)],
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: status_of(f"{url}/_sandbox/health") == 200 or proc.poll() is not None, 30, message="sandbox")
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        yield url
    finally:
        stop_process(proc)
