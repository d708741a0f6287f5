"""`url_for`: what `{% url %}` writes, without reversing each row."""

import pytest
from django.urls import reverse, set_script_prefix

from billing.ui.templatetags.ui import url_for


@pytest.mark.parametrize(
    ("name", "object_id"),
    [
        ("invoices:detail", "in_1NG8Du2eZvKYlo2C"),
        ("customers:detail", "cus_acme"),
        ("dunning:case", 42),
        ("usage:organisation", "acme-worldwide"),
        ("customers:detail", "cus with space?é"),  # not a plain id: reversed, quoted as Django does
        ("customers:detail", "7093185246917053"),  # the pattern's own hole as an id
    ],
)
def test_the_same_as_reverse(name, object_id):
    assert url_for(object_id, name) == reverse(name, args=[str(object_id)])


def test_the_script_prefix_is_kept():
    try:
        set_script_prefix("/portal/")
        assert url_for("cus_acme", "customers:detail") == reverse("customers:detail", args=["cus_acme"])
        assert url_for("cus_acme", "customers:detail").startswith("/portal/")
    finally:
        set_script_prefix("/")
