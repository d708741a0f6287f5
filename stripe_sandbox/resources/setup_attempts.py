"""Setup attempts: what each SetupIntent confirmation did (for iDEAL and Bancontact, the SEPA Direct
Debit method it generated). Listed by `setup_intent`, as Stripe requires."""

from __future__ import annotations

from ..core import SandboxError
from ..routing import Api, route


@route("GET", "/v1/setup_attempts")
def setup_attempt_list(api: Api, params: dict) -> list:
    if not params.get("setup_intent"):
        raise SandboxError(400, "Missing required param: setup_intent.", code="parameter_missing", param="setup_intent")
    return [a for a in api.state.all("setup_attempt") if a["setup_intent"] == params["setup_intent"]]
