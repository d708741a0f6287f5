"""Dispute evidence: `POST /v1/disputes/{id}` stages evidence and submits it to the bank (`submit`,
true by default), with Stripe's limits; the bank's answer comes later (see engine.risk)."""

from __future__ import annotations

from ..engine.risk import update_dispute
from ..routing import Api, as_bool, check, route


@route("POST", "/v1/disputes/{id}")
def dispute_update(api: Api, params: dict, id: str) -> dict:
    check(params, {"evidence", "metadata", "submit"})
    dispute = api.state.get(id, "dispute")
    return update_dispute(
        api,
        dispute,
        evidence=params.get("evidence"),
        metadata=params.get("metadata") if isinstance(params.get("metadata"), dict) else None,
        submit=as_bool(params.get("submit"), default=True),
    )
