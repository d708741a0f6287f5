"""The sandbox's Stripe.js stand-in in a real browser: card, US bank account and SEPA each saved."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from billing.stripe.gateway import gateway
from tests.e2e.test_browser import browser  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]

PAGE = """<!doctype html><html><body>
<div id="card"></div><div id="payment"></div><div id="iban"></div>
<script src="{sandbox}/v3/stripe.js"></script>
<script>
  window.stripe = Stripe("pk_test_localsandbox0000000000000000");
  const elements = stripe.elements();
  window.cardEl = elements.create("card"); cardEl.mount("#card");
  window.paymentEl = elements.create("payment", {{paymentMethodTypes: ["card", "us_bank_account", "sepa_debit"]}});
  paymentEl.mount("#payment");
  window.ibanEl = elements.create("iban"); ibanEl.mount("#iban");
</script></body></html>"""


@pytest.fixture
def page_server(sandbox):
    html = PAGE.format(sandbox=sandbox).encode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(html)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)  # another origin than the sandbox, as the portal is
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()


def setup_intent(kind: str, n: int) -> dict:
    client = gateway()
    customer = client.post("/v1/customers", {"email": f"js{n}@x.example"}, idempotency_key=f"js:cus:{n}")
    return client.post(
        "/v1/setup_intents",
        {"customer": customer["id"], "payment_method_types": [kind]},
        idempotency_key=f"js:seti:{n}",
    )


def test_card_us_bank_account_and_sepa_are_saved_from_the_browser(browser, page_server):  # noqa: F811
    page = browser.new_page()
    page.goto(page_server)

    card = setup_intent("card", 1)
    page.fill("#card [name=number]", "4242 4242 4242 4242")
    page.fill("#card [name=exp]", "12/34")
    page.fill("#card [name=cvc]", "123")
    result = page.evaluate("s => stripe.confirmCardSetup(s, {payment_method: {card: cardEl}})", card["client_secret"])
    assert result["setupIntent"]["status"] == "succeeded"

    ach = setup_intent("us_bank_account", 2)
    page.click("#payment [data-kind=us_bank_account]")
    page.fill("#payment [name=holder]", "Acme Inc")
    page.fill("#payment [name=routing]", "110000000")
    page.fill("#payment [name=account]", "000123456789")
    result = page.evaluate("s => stripe.confirmSetup({clientSecret: s, redirect: 'if_required'})", ach["client_secret"])
    assert result["setupIntent"]["status"] == "succeeded" and result["setupIntent"]["mandate"]

    sepa = setup_intent("sepa_debit", 3)
    page.fill("#iban [name=iban]", "DE89 3704 0044 0532 0130 00")
    result = page.evaluate(
        "s => stripe.confirmSepaDebitSetup(s, {payment_method: {sepa_debit: ibanEl, "
        "billing_details: {name: 'Acme GmbH', email: 'billing@acme.example'}}})",
        sepa["client_secret"],
    )
    assert result["setupIntent"]["status"] == "succeeded"

    declined = setup_intent("card", 4)
    page.fill("#card [name=number]", "4000 0000 0000 0002")
    result = page.evaluate(
        "s => stripe.confirmCardSetup(s, {payment_method: {card: cardEl}})", declined["client_secret"]
    )
    assert result["error"]["code"] == "card_declined" and "declined" in result["error"]["message"]

    methods = {
        pm["type"]
        for c in gateway().list_all("/v1/customers")
        for pm in gateway().list_all(f"/v1/customers/{c['id']}/payment_methods")
    }
    assert methods == {"card", "us_bank_account", "sepa_debit"}
