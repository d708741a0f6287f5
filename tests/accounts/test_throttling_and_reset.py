"""Login throttling (django-axes, by username + address) and the password reset flow by email."""

import re

import pytest
from axes.models import AccessAttempt
from django.core import mail
from django.urls import reverse

from tests.config.test_settings import manage

pytestmark = pytest.mark.django_db


def log_in(client, username: str, password: str, address: str = "10.0.0.1"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def test_30_wrong_passwords_then_the_right_one_stays_locked_out(client, people, settings):
    settings.AXES_FAILURE_LIMIT = 5
    for _ in range(30):
        log_in(client, "owner", "guess")
    response = log_in(client, "owner", "pw-for-tests-1")
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    page = response.content.decode()
    assert "Too many failed logins" in page and "15 minutes" in page and reverse("password_reset") in page


def test_the_lock_is_per_username_and_address(client, people, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        log_in(client, "owner", "guess")
    assert log_in(client, "owner", "pw-for-tests-1").status_code == 429
    assert log_in(client, "member", "pw-for-tests-1").status_code == 302  # another username
    client.logout()
    assert log_in(client, "owner", "pw-for-tests-1", address="10.0.0.2").status_code == 302  # another address


def test_after_the_cool_off_the_right_password_logs_in(client, people, settings):
    import datetime as dt

    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        log_in(client, "owner", "guess")
    assert log_in(client, "owner", "pw-for-tests-1").status_code == 429
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.get().attempt_time - dt.timedelta(minutes=16))
    assert log_in(client, "owner", "pw-for-tests-1").status_code == 302


def test_fewer_failures_than_the_limit_do_not_lock(client, people, settings):
    settings.AXES_FAILURE_LIMIT = 5
    for _ in range(4):
        assert log_in(client, "owner", "guess").status_code == 200
    assert log_in(client, "owner", "pw-for-tests-1").status_code == 302


def test_a_password_reset_by_email_sets_a_new_password_and_lifts_a_lockout(client, people, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        log_in(client, "owner", "guess")
    response = client.post(reverse("password_reset"), {"email": "owner@example.com"})
    assert response.status_code == 302 and response.url == reverse("password_reset_done")
    assert "Check your email" in client.get(response.url).content.decode()
    [message] = mail.outbox
    assert message.to == ["owner@example.com"] and "Reset your billing portal password" in message.subject
    link = re.search(r"https?://testserver(/password-reset/\S+/)", message.body).group(1)
    form_url = client.get(link).url  # Django swaps the token for a session and redirects
    page = client.get(form_url)
    assert "Choose a new password" in page.content.decode()
    done = client.post(form_url, {"new_password1": "a-new-pass-phrase-2", "new_password2": "a-new-pass-phrase-2"})
    assert done.status_code == 302 and done.url == reverse("password_reset_complete")
    assert log_in(client, "owner", "a-new-pass-phrase-2").status_code == 302
    assert "This link no longer works" in client.get(link, follow=True).content.decode()


def test_a_reset_for_an_unknown_address_says_the_same_and_sends_nothing(client, people):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert response.status_code == 302 and response.url == reverse("password_reset_done")
    assert mail.outbox == []


def test_throttling_and_mail_come_from_the_environment(tmp_path):
    code = (
        "from django.conf import settings as s; "
        "print(s.AXES_FAILURE_LIMIT, s.AXES_COOLOFF_TIME * 60, s.EMAIL_BACKEND.rsplit('.', 2)[-2], "
        "s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_HOST_USER, s.EMAIL_HOST_PASSWORD, s.EMAIL_USE_TLS)"
    )
    env = {"PORTAL_VAR_DIR": str(tmp_path), "LOGIN_FAILURE_LIMIT": "7", "LOGIN_COOLOFF_MINUTES": "30"}
    result = manage({**env, "EMAIL_URL": "smtp+tls://mailer:p%40ss@mail.example:2525"}, "shell", "-v", "0", "-c", code)
    assert result.stdout.split() == ["7", "30.0", "smtp", "mail.example", "2525", "mailer", "p@ss", "True"]
    assert manage(env, "shell", "-v", "0", "-c", code).stdout.split()[2] == "console"
    bad = manage({**env, "EMAIL_URL": "smtp+tls://mailer:secretvalue@mail.example:port"}, "check")
    assert bad.returncode == 2 and "EMAIL_URL" in bad.stderr and "secretvalue" not in bad.stderr
