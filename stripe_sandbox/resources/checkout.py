"""Checkout Sessions: the sandbox makes none, so the list is empty (the portal's mirror lists them)."""

from __future__ import annotations

from ..routing import Api, route


@route("GET", "/v1/checkout/sessions")
def checkout_session_list(api: Api, params: dict) -> list:
    return api.state.all("checkout.session")
