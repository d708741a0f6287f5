"""The sandbox as a separate process, driven through Stripe's official SDK (no Django needed).

Shared by the test modules: `control` (the sandbox's own routes), `catalog` and `customer_with_card`.
"""

import json
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import stripe

from stripe_sandbox import API_VERSION


def control(url: str, path: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else b""
    request = urllib.request.Request(
        f"{url}{path}", method="POST", data=data, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read() or b"{}")


def catalog(sb, currency="usd", amount=875, interval="month"):
    product = sb.v1.products.create({"name": "Pro"})
    return sb.v1.prices.create(
        {
            "product": product.id,
            "currency": currency,
            "unit_amount": amount,
            "recurring": {"interval": interval},
            "lookup_key": f"pro_{interval}_{currency}",
        }
    )


def customer_with_card(sb, token="pm_card_visa", **extra):
    customer = sb.v1.customers.create({"email": "billing@acme.example", "name": "Acme", **extra})
    seti = sb.v1.setup_intents.create(
        {"customer": customer.id, "payment_method": token, "confirm": True, "usage": "off_session"}
    )
    sb.v1.customers.update(customer.id, {"invoice_settings": {"default_payment_method": seti.payment_method}})
    return customer, seti.payment_method


@pytest.fixture
def sb(sandbox_url):
    """A reset sandbox and an SDK client on it."""
    control(sandbox_url, "/_sandbox/reset")
    control(sandbox_url, "/_sandbox/faults", {"rate_limit": False, "error_rate": 0, "timeout_rate": 0, "latency_ms": 0})
    client = stripe.StripeClient(
        "sk_test_sandboxtests000000000000000",
        base_addresses={"api": sandbox_url, "files": sandbox_url, "connect": sandbox_url, "meter_events": sandbox_url},
        stripe_version=API_VERSION,
        max_network_retries=0,
    )
    client.url = sandbox_url
    return client


class Receiver:
    """A webhook endpoint on 127.0.0.1 that records deliveries; it can fail the first N."""

    def __init__(self, fail_first: int = 0):
        self.deliveries: list[tuple[bytes, str]] = []
        self.fail_first = fail_first
        self.calls = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.calls += 1
                if outer.calls <= outer.fail_first:
                    self.send_response(500)
                    self.end_headers()
                    return
                outer.deliveries.append((body, self.headers["Stripe-Signature"]))
                self.send_response(200)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def events(self, secret: str) -> list:
        return [stripe.Webhook.construct_event(body.decode(), sig, secret) for body, sig in self.deliveries]


@pytest.fixture
def receiver():
    made = []

    def make(fail_first: int = 0) -> Receiver:
        r = Receiver(fail_first)
        made.append(r)
        return r

    yield make
    for r in made:
        r.server.shutdown()
