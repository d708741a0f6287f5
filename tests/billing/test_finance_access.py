"""Every finance page and action × every role: allowed exactly where the role says (one table)."""

import uuid

import pytest
from django.urls import reverse

from billing.invoices.models import InvoiceAction
from tests.pages import login, mirror_customer

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "owner", "member", "support", "analyst", "admin"]
READERS = {"support", "analyst", "admin"}

# (method, url name, args, params, who may) — "may" gets 2xx/3xx; the finance team otherwise 403;
# customers 403; anonymous is sent to log in.
MATRIX = [
    ("get", "reports:dashboard", [], {}, READERS),
    ("get", "customers:list", [], {}, READERS),
    ("get", "customers:list", [], {"format": "csv"}, {"analyst", "admin"}),
    ("get", "customers:detail", ["cus_acme"], {}, READERS),
    ("get", "invoices:list", [], {}, READERS),
    ("get", "invoices:list", [], {"format": "csv"}, {"analyst", "admin"}),
    ("get", "invoices:detail", ["in_cus_acme_0_0"], {}, READERS),
    ("get", "invoices:approvals", [], {}, READERS),
    ("get", "invoices:act", ["in_cus_acme_0_0", "retry"], {}, {"admin"}),
    ("get", "invoices:act", ["in_cus_acme_0_0", "void"], {}, {"admin"}),
    ("get", "invoices:act", ["in_cus_acme_0_0", "mark_uncollectible"], {}, {"admin"}),
    ("get", "invoices:act", ["in_cus_acme_0_0", "credit_note"], {}, {"admin"}),
    ("get", "invoices:act", ["in_cus_acme_0_0", "send"], {}, {"admin", "support"}),
    ("post", "invoices:bulk", [], {"kind": "retry", "reason": "x"}, {"admin"}),
    ("post", "invoices:decide", ["ACTION"], {"decision": "reject"}, {"admin"}),
    ("get", "subscriptions:list", [], {}, READERS),
    ("get", "subscriptions:list", [], {"format": "csv"}, {"analyst", "admin"}),
    ("get", "payments:list", [], {}, READERS),
    ("get", "payments:list", [], {"format": "csv"}, {"analyst", "admin"}),
    ("get", "catalog:catalog", [], {}, READERS),
    ("post", "catalog:price-create", [], {}, {"admin"}),
    ("post", "catalog:price-archive", ["price_x"], {}, {"admin"}),
    ("post", "catalog:price-offer", ["price_x"], {"offered": "0"}, {"admin"}),
    ("get", "currencies:fx", [], {}, READERS),
    ("post", "currencies:fx-add", [], {}, {"admin"}),
    ("post", "currencies:fx-import", [], {}, {"admin"}),
    ("get", "audit:log", [], {}, READERS),
    ("get", "audit:log", [], {"format": "csv"}, {"analyst", "admin"}),
    ("get", "stripe_events:list", [], {}, READERS),
    ("get", "stripe_events:drift", [], {}, READERS),
    ("post", "stripe_events:replay", [], {}, {"admin"}),
    ("get", "explorer_index", [], {}, READERS),
    ("get", "query_create", [], {}, {"analyst", "admin"}),
    ("get", "explorer_playground", [], {}, {"analyst", "admin"}),
    ("get", "explorer_logs", [], {}, {"analyst", "admin"}),
    ("get", "sql_reports:schedules", [], {}, READERS),
]


@pytest.mark.parametrize("who", ROLES)
@pytest.mark.parametrize(("method", "name", "args", "params", "may"), MATRIX, ids=lambda v: str(v))
def test_access(client, people, who, method, name, args, params, may, monkeypatch):
    mirror_customer("cus_acme")
    if args == ["ACTION"]:
        action = InvoiceAction.objects.create(
            invoice_id="in_cus_acme_0_0", kind="void", reason="x", requested_by=people.owner, status="awaiting_approval"
        )
        args = [action.pk]
    # Nothing may reach Stripe from an access check: the gateway would answer for the allowed roles.
    from billing.stripe.errors import StripeUnavailable
    from billing.stripe.gateway import StripeGateway

    def no_stripe(self, *a, **k):
        raise StripeUnavailable("not in this test")

    monkeypatch.setattr(StripeGateway, "request", no_stripe)
    login(client, None if who == "anonymous" else getattr(people, who))
    url = reverse(name, args=args)
    data = {**params, "request_id": str(uuid.uuid4())} if method == "post" else params
    response = getattr(client, method)(url, data)
    if who == "anonymous":
        assert response.status_code == 302 and "/login/" in response["Location"]
    elif who in may:
        assert response.status_code in (200, 302), response.status_code
    else:
        assert response.status_code == 403, response.status_code
