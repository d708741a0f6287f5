import json

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_login_page_shows_demo_logins_only_on_the_sandbox(client, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    (tmp_path / "demo_logins.json").write_text(
        json.dumps([{"username": "finance-admin", "password": "pw", "role": "Finance admin"}])
    )
    settings.STRIPE_USES_SANDBOX = True
    assert b"finance-admin" in client.get(reverse("login")).content
    settings.STRIPE_USES_SANDBOX = False
    assert b"finance-admin" not in client.get(reverse("login")).content


def test_finance_user_lands_on_revenue_and_customer_on_billing(client, people):
    client.post(reverse("login"), {"username": "finance-analyst", "password": "pw-for-tests-1"})
    assert client.get(reverse("home")).url == reverse("reports:dashboard")
    client.logout()
    client.post(reverse("login"), {"username": "owner", "password": "pw-for-tests-1"})
    assert client.get(reverse("home")).url == reverse("selfserve:overview")


def test_wrong_password_is_a_message_not_an_error(client, people):
    response = client.post(reverse("login"), {"username": "owner", "password": "nope"})
    assert response.status_code == 200
    assert b"correct username and password" in response.content


def test_health(client, db):
    assert client.get(reverse("health")).json() == {"status": "ok"}


def test_an_empty_login_form_says_what_is_missing(client, db):
    response = client.post(reverse("login"), {"username": "", "password": ""})
    assert response.status_code == 200
    assert response.content.decode().count("This field is required.") == 2
