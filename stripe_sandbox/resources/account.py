"""The account: `GET /v1/account`."""

from __future__ import annotations

from ..routing import Api, route


@route("GET", "/v1/account")
def account_get(api: Api, params: dict) -> dict:
    return api.state.account
