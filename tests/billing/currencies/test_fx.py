import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import AuditLog
from billing.currencies.fx import RateBook
from billing.currencies.models import FxRate
from tests.pages import login

pytestmark = pytest.mark.django_db


def test_add_a_rate_and_convert_with_it(client, people):
    login(client, people.admin)
    client.post(
        reverse("currencies:fx-add"), {"currency": "EUR", "rate": "1.0842", "day": "2026-01-05", "source": "ECB"}
    )
    rate = FxRate.objects.get()
    assert rate.rate == Decimal("1.0842") and rate.quote == "usd"
    book = RateBook("usd")
    assert book.convert(10_000, "eur", dt.date(2026, 2, 1)) == 10_842  # €100.00 → $108.42
    assert book.convert(10_000, "jpy", dt.date(2026, 2, 1)) is None
    assert AuditLog.objects.filter(action="fx.set", actor=people.admin).exists()


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"currency": "EUR", "rate": "0", "day": "2026-01-05", "source": "x"}, "greater than 0"),
        ({"currency": "EUR", "rate": "-1", "day": "2026-01-05", "source": "x"}, "greater than 0"),
        ({"currency": "XYZ", "rate": "1", "day": "2026-01-05", "source": "x"}, "not an ISO 4217"),
        ({"currency": "EUR", "rate": "1", "day": "2999-01-05", "source": "x"}, "future"),
        ({"currency": "USD", "rate": "1", "day": "2026-01-05", "source": "x"}, "to itself"),
    ],
)
def test_bad_rates_are_refused_with_a_message(client, people, form, message):
    login(client, people.admin)
    page = client.post(reverse("currencies:fx-add"), form, follow=True).content.decode()
    assert message in page and not FxRate.objects.exists()


def test_a_csv_with_a_bad_row_imports_nothing_and_names_the_row(client, people):
    login(client, people.admin)
    bad = b"currency,rate,day,source\neur,1.08,2026-01-02,ECB\njpy,abc,2026-01-02,ECB\n"
    page = client.post(reverse("currencies:fx-import"), {"file": SimpleUploadedFile("r.csv", bad)}, follow=True)
    assert "line 3" in page.content.decode() and not FxRate.objects.exists()
    good = b"currency,rate,day,source\neur,1.08,2026-01-02,ECB\njpy,0.0067,2026-01-02,ECB\n"
    page = client.post(reverse("currencies:fx-import"), {"file": SimpleUploadedFile("r.csv", good)}, follow=True)
    assert "Imported 2 rates" in page.content.decode() and FxRate.objects.count() == 2
