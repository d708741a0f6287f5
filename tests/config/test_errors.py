"""Error pages and error logs: styled pages with a way back, one log line per refused request."""

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.views.defaults import server_error

from tests.config.test_settings import manage
from tests.pages import login

pytestmark = pytest.mark.django_db


def test_a_customer_on_a_finance_page_gets_a_styled_403_with_a_way_home(client, people):
    login(client, people.owner)
    response = client.get(reverse("customers:list"))
    assert response.status_code == 403
    assert "403.html" in [t.name for t in response.templates]
    page = response.content.decode()
    assert "portal.css" in page and "This page is for the finance team" in page
    assert f'href="{reverse("home")}"' in page and "Log out" in page


def test_an_unknown_page_is_a_styled_404(client, people):
    login(client, people.analyst)
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert "404.html" in [t.name for t in response.templates]
    assert "portal.css" in response.content.decode() and "/no/such/page/" in response.content.decode()


def test_the_500_page_renders_without_a_request_or_a_user():
    response = server_error(RequestFactory().get("/"))
    page = response.content.decode()
    assert response.status_code == 500 and "portal.css" in page and "Something went wrong" in page
    assert 'href="/"' in page
    assert "Test mode" not in page  # the environment badge needs context processors: left out


REFUSE = """
from django.core.exceptions import PermissionDenied
from django.core.handlers.exception import response_for_exception
from django.test import RequestFactory
response_for_exception(RequestFactory().get("/customers/"), PermissionDenied("This page is for the finance team"))
"""


@pytest.mark.parametrize("debug", ["0", "1"])
def test_a_403_is_logged_once_in_one_line(tmp_path, debug):
    result = manage({"PORTAL_VAR_DIR": str(tmp_path), "DEBUG": debug}, "shell", "-c", REFUSE)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Forbidden (Permission denied): /customers/" in lines[0]
