"""Local payment methods Stripe supports for recurring billing, beyond card, ACH and SEPA:

- `au_becs_debit` (BECS Direct Debit, AUD) and `acss_debit` (pre-authorised debit, CAD): bank debits
  with a mandate, saved through a SetupIntent;
- `ideal` and `bancontact` (EUR): single-use bank redirects. A SetupIntent with them saves the
  authorised account as a SEPA Direct Debit PaymentMethod — the setup attempt's
  `payment_method_details.<type>.generated_sepa_debit` — that renewals are charged to.

Test numbers and how each behaves, from Stripe's testing documentation. The redirect (iDEAL,
Bancontact) and the micro-deposit verification (ACSS) are taken as done at once, as the sandbox does
for 3-D Secure. Used by engine/payments (creating, charging) and the SetupIntent resource.
"""

from __future__ import annotations

from ..core import SandboxError, make, new_id

TYPES = ("au_becs_debit", "acss_debit", "ideal", "bancontact")
MANDATED = ("au_becs_debit", "acss_debit")  # debited under a mandate of their own
REDIRECTS = ("ideal", "bancontact")  # save a generated SEPA Direct Debit method

# BSB 000000 (https://docs.stripe.com/payments/au-becs-debit#testing)
BECS_ACCOUNTS = {
    "000123456": "ok",
    "900123456": "ok",
    "111111113": "account_closed",
    "111111116": "insufficient_funds",
}
# Institution 000, transit 11000 (https://docs.stripe.com/payments/acss-debit#testing)
ACSS_ACCOUNTS = {"000123456789": "ok", "900123456789": "ok", "000222222227": "account_closed"}
IDEAL_BANKS = {
    "abn_amro": "ABNANL2A",
    "asn_bank": "ASNBNL21",
    "bunq": "BUNQNL2A",
    "ing": "INGBNL2A",
    "knab": "KNABNL2H",
    "rabobank": "RABONL2U",
    "revolut": "REVOLT21",
    "sns_bank": "SNSBNL2A",
    "triodos_bank": "TRIONL2U",
}
# The IBAN each redirect's bank "returns" in test mode: a SEPA account that debits fine.
GENERATED_IBAN = {"ideal": "NL39RABO0300065264", "bancontact": "BE68539007547034"}
# An iDEAL or Bancontact method is single-use: charging it off-session is refused, as at Stripe.
DECLINES = {
    "not_reusable": (
        "payment_method_not_available",
        "generic_decline",
        "This PaymentMethod was used for a single payment; charge the SEPA Direct Debit method it generated.",
    )
}


def fill(pm: dict, data: dict, billing: dict) -> None:
    """The type's details on a new PaymentMethod `pm` from `payment_method_data`; Stripe's errors."""
    kind = pm["type"]
    details = data.get(kind) or {}
    if kind == "au_becs_debit":
        bsb, account = str(details.get("bsb_number") or ""), str(details.get("account_number") or "")
        if len(bsb) != 6 or not bsb.isdigit():
            raise SandboxError(400, "Your BSB number must be 6 digits.", param="au_becs_debit[bsb_number]")
        if not account.isdigit() or not 5 <= len(account) <= 9:
            raise SandboxError(400, "Your account number is invalid.", param="au_becs_debit[account_number]")
        _need_name_and_email(billing)
        pm[kind] = {"bsb_number": bsb, "fingerprint": f"fp{account[-8:]}", "last4": account[-4:]}
        pm["_behaviour"] = BECS_ACCOUNTS.get(account, "ok")
    elif kind == "acss_debit":
        institution = str(details.get("institution_number") or "")
        transit = str(details.get("transit_number") or "")
        account = str(details.get("account_number") or "")
        if len(institution) != 3 or len(transit) != 5 or not (institution + transit).isdigit():
            raise SandboxError(
                400,
                "Use a 3-digit institution number and a 5-digit transit number (test: 000 and 11000).",
                param="acss_debit[institution_number]",
            )
        if not account.isdigit() or not 7 <= len(account) <= 12:
            raise SandboxError(400, "Your account number is invalid.", param="acss_debit[account_number]")
        _need_name_and_email(billing)
        pm[kind] = {
            "bank_name": "STRIPE TEST BANK",
            "fingerprint": f"fp{account[-8:]}",
            "institution_number": institution,
            "last4": account[-4:],
            "transit_number": transit,
        }
        pm["_behaviour"] = ACSS_ACCOUNTS.get(account, "ok")
    elif kind == "ideal":
        bank = details.get("bank") or "ing"
        if bank not in IDEAL_BANKS:
            raise SandboxError(
                400, f"Invalid ideal[bank]: must be one of {', '.join(IDEAL_BANKS)}", param="ideal[bank]"
            )
        pm[kind] = {"bank": bank, "bic": IDEAL_BANKS[bank]}
        pm["_behaviour"] = "not_reusable"
    elif kind == "bancontact":
        pm[kind] = {}
        pm["_behaviour"] = "not_reusable"


def _need_name_and_email(billing: dict) -> None:
    if not billing.get("name") or not billing.get("email"):
        raise SandboxError(
            400,
            "This payment method needs billing_details[name] and billing_details[email].",
            param="billing_details[name]",
        )


def behaviour(pm: dict) -> str:
    return pm.get("_behaviour", "ok")


def check_setup_intent(types: list[str], options: dict | None) -> dict:
    """A SetupIntent's `payment_method_options`, checked as Stripe checks them: pre-authorised debit
    needs the currency and the mandate's schedule and transaction type."""
    options = dict(options or {})
    if "acss_debit" in types:
        acss = options.get("acss_debit") or {}
        mandate = acss.get("mandate_options") or {}
        if acss.get("currency") not in ("cad", "usd"):
            raise SandboxError(
                400,
                "payment_method_options[acss_debit][currency] is required for acss_debit (cad or usd).",
                param="payment_method_options[acss_debit][currency]",
            )
        if mandate.get("payment_schedule") not in ("interval", "sporadic", "combined"):
            raise SandboxError(
                400,
                "payment_method_options[acss_debit][mandate_options][payment_schedule] must be interval, "
                "sporadic or combined.",
                param="payment_method_options[acss_debit][mandate_options][payment_schedule]",
            )
        if mandate.get("transaction_type") not in ("personal", "business"):
            raise SandboxError(
                400,
                "payment_method_options[acss_debit][mandate_options][transaction_type] must be personal or business.",
                param="payment_method_options[acss_debit][mandate_options][transaction_type]",
            )
        if mandate["payment_schedule"] != "sporadic" and not mandate.get("interval_description"):
            raise SandboxError(
                400,
                "payment_method_options[acss_debit][mandate_options][interval_description] is required for "
                "this payment_schedule.",
                param="payment_method_options[acss_debit][mandate_options][interval_description]",
            )
        options["acss_debit"] = {
            "currency": acss["currency"],
            "mandate_options": {
                "custom_mandate_url": None,
                "default_for": [],
                "interval_description": mandate.get("interval_description"),
                "payment_schedule": mandate["payment_schedule"],
                "transaction_type": mandate["transaction_type"],
            },
            "verification_method": acss.get("verification_method") or "automatic",
        }
    return options


def setup_attempt(
    state, seti: dict, pm: dict, now: int, create_payment_method, mandate_for
) -> tuple[dict, dict | None]:
    """The successful attempt of `seti` with `pm`; for a redirect method, the SEPA Direct Debit method
    (attached to the customer, with its mandate) that renewals use. Returns (attempt, generated)."""
    kind = pm["type"]
    attempt_id = "setatt_" + new_id("event")[4:]
    details: dict = {"type": kind, kind: {k: v for k, v in (pm.get(kind) or {}).items() if k != "fingerprint"}}
    generated = None
    if kind in REDIRECTS:
        billing = pm.get("billing_details") or {}
        if not billing.get("name") or not billing.get("email"):
            raise SandboxError(
                400,
                f"Saving {kind} for SEPA Direct Debit needs billing_details[name] and billing_details[email].",
                param="billing_details[name]",
            )
        generated = create_payment_method(
            state,
            {
                "type": "sepa_debit",
                "sepa_debit": {"iban": GENERATED_IBAN[kind]},
                "billing_details": {"name": billing["name"], "email": billing["email"]},
            },
            now,
        )
        generated["sepa_debit"]["generated_from"] = {"charge": None, "setup_attempt": attempt_id}
        generated["customer"] = seti.get("customer")
        mandate = mandate_for(state, generated, seti.get("customer"), now)
        details[kind].update(
            {
                "generated_sepa_debit": generated["id"],
                "generated_sepa_debit_mandate": mandate["id"] if mandate else None,
                "iban_last4": GENERATED_IBAN[kind][-4:],
                "verified_name": billing["name"],
            }
        )
        if kind == "bancontact":
            details[kind].update(
                {"bank_code": "VAPE", "bank_name": "VAN DE PUT & CO", "bic": "VAPEBE22", "preferred_language": "en"}
            )
        seti["mandate"] = mandate["id"] if mandate else None
    attempt = make(
        "setup_attempt",
        id=attempt_id,
        application=None,
        created=now,
        customer=seti.get("customer"),
        customer_account=None,
        flow_directions=None,
        livemode=False,
        on_behalf_of=None,
        payment_method=pm["id"],
        payment_method_details=details,
        setup_error=None,
        setup_intent=seti["id"],
        status="succeeded",
        usage=seti.get("usage") or "off_session",
    )
    state.add(attempt)
    seti["latest_attempt"] = attempt_id
    return attempt, generated
