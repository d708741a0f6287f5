"""Taxes on invoices: from tax rates (`default_tax_rates`) or emulated `automatic_tax`.

SANDBOX APPROXIMATION. Stripe Tax decides taxability from product tax codes, the customer's full
address and hundreds of local rules. The sandbox only knows each jurisdiction's standard rate (the
table below, a copy of the portal's `taxes/rates.py`, held equal by a test) and applies it where the
account has an active tax registration (`/v1/tax/registrations`) for the customer's country (or US
state / Canadian province), with the EU One-Stop Shop and reverse charge for customers whose
`tax_exempt` is `reverse`. Good enough to run both of the portal's tax modes offline; never a
statement of what real Stripe would charge.

Amounts: each line's tax is rounded to the currency's minor unit (half away from zero); exclusive
taxes add to the total, inclusive ones are part of it.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from ..core import SandboxError, make, new_id
from ..routing import Api, as_bool

EU = {
    "AT": "20", "BE": "21", "BG": "20", "CY": "19", "CZ": "21", "DE": "19", "DK": "25", "EE": "24", "ES": "21",
    "FI": "25.5", "FR": "20", "GR": "24", "HR": "25", "HU": "27", "IE": "23", "IT": "22", "LT": "21", "LU": "17",
    "LV": "21", "MT": "18", "NL": "21", "PL": "23", "PT": "23", "RO": "21", "SE": "25", "SI": "22", "SK": "23",
}  # fmt: skip
OTHER = {"GB": ("vat", "20"), "CH": ("vat", "8.1"), "NO": ("vat", "25"), "AU": ("gst", "10"),
         "NZ": ("gst", "15"), "JP": ("jct", "10"), "CA": ("gst", "5")}  # fmt: skip
CA_PROVINCES = {"ON": ("hst", "13"), "NB": ("hst", "15"), "NL": ("hst", "15"), "NS": ("hst", "14"),
                "PE": ("hst", "15"), "BC": ("pst", "7"), "MB": ("pst", "7"), "SK": ("pst", "6"),
                "QC": ("qst", "9.975")}  # fmt: skip
US_STATES = {
    "AL": "4", "AZ": "5.6", "AR": "6.5", "CA": "7.25", "CO": "2.9", "CT": "6.35", "FL": "6", "GA": "4", "HI": "4",
    "ID": "6", "IL": "6.25", "IN": "7", "IA": "6", "KS": "6.5", "KY": "6", "LA": "5", "ME": "5.5", "MD": "6",
    "MA": "6.25", "MI": "6", "MN": "6.875", "MS": "7", "MO": "4.225", "NE": "5.5", "NV": "6.85", "NJ": "6.625",
    "NM": "4.875", "NY": "4", "NC": "4.75", "ND": "5", "OH": "5.75", "OK": "4.5", "PA": "6", "RI": "7", "SC": "6",
    "SD": "4.2", "TN": "7", "TX": "6.25", "UT": "4.85", "VT": "6", "VA": "4.3", "WA": "6.5", "WV": "6", "WI": "5",
    "WY": "4", "DC": "6",
}  # fmt: skip


def standard_rates() -> dict[str, tuple[str, str]]:
    """jurisdiction -> (tax_type, percentage) for every jurisdiction the emulation knows."""
    table = {code: ("vat", pct) for code, pct in EU.items()}
    table.update(OTHER)
    table.update({f"CA-{code}": value for code, value in CA_PROVINCES.items()})
    table.update({f"US-{code}": ("sales_tax", pct) for code, pct in US_STATES.items()})
    return table


RATES = standard_rates()


# --- settings -----------------------------------------------------------------------------------------
SETTINGS_ID = "tax_settings"


def tax_settings(api: Api) -> dict:
    """The account's one `tax.settings` object (made on first use)."""
    settings = api.state.objects.get(SETTINGS_ID)
    if settings is None:
        settings = make(
            "tax.settings",
            id=SETTINGS_ID,
            defaults={"tax_behavior": None, "tax_code": "txcd_10000000", "provider": "stripe"},
            head_office=None,
            status="pending",
            status_details={"pending": {"missing_fields": ["head_office"]}},
        )
        api.state.add(settings)
    return settings


# --- registrations ------------------------------------------------------------------------------------
def registration_place(reg: dict) -> tuple[str, str, str]:
    """(country, state, type) of a `tax.registration`."""
    country = reg["country"]
    options = (reg.get("country_options") or {}).get(country.lower()) or {}
    state = options.get("state") or ((options.get("province_standard") or {}).get("province")) or ""
    return country, state, options.get("type") or "standard"


def _active(reg: dict, now: int) -> bool:
    """Active at `now` (a customer's test-clock time): a registration made or ended with "now" holds
    from (or stops at) any clock time, as test clocks run behind the wall clock registrations use."""
    started = reg.get("_from_now") or reg["active_from"] <= now
    if reg.get("_ended_now"):
        return False
    return bool(started) and (reg.get("expires_at") is None or now < reg["expires_at"])


def _registered(api: Api, now: int) -> list[tuple[str, str, str]]:
    return [registration_place(r) for r in api.state.all("tax.registration") if _active(r, now)]


def automatic_jurisdictions(api: Api, customer: dict, now: int) -> tuple[list[str], str]:
    """The jurisdictions whose tax Stripe Tax would add for `customer` now, and a taxability reason."""
    address = customer.get("address") or {}
    country = (address.get("country") or "").upper()
    state = (address.get("state") or "").upper()
    regs = _registered(api, now)
    if customer.get("tax_exempt") == "exempt":
        return [], "customer_exempt"
    if country in EU:
        if customer.get("tax_exempt") == "reverse":
            return [], "reverse_charge"
        eu_regs = [r for r in regs if r[0] in EU]
        if any(r[0] == country for r in eu_regs):
            return [country], "standard_rated"
        if any(r[2] == "oss_union" for r in eu_regs):
            return [country], "standard_rated"
        return [], "not_collecting"
    if customer.get("tax_exempt") == "reverse":
        return [], "reverse_charge"
    if country == "US":
        return (
            ([f"US-{state}"], "standard_rated")
            if ("US", state, "state_sales_tax") in regs or any(r[0] == "US" and r[1] == state for r in regs)
            else ([], "not_collecting")
        )
    if country == "CA":
        if not any(r[0] == "CA" and not r[1] for r in regs):
            return [], "not_collecting"
        if state in CA_PROVINCES and CA_PROVINCES[state][0] == "hst":
            return [f"CA-{state}"], "standard_rated"
        codes = ["CA"]
        if state in CA_PROVINCES and any(r[0] == "CA" and r[1] == state for r in regs):
            codes.append(f"CA-{state}")
        return codes, "standard_rated"
    if country in RATES and any(r[0] == country for r in regs):
        return [country], "standard_rated"
    return [], "not_collecting"


def automatic_rate(api: Api, jurisdiction: str) -> dict:
    """The (inactive, Stripe-made) tax rate automatic tax reports under, one per jurisdiction."""
    for rate in api.state.all("tax_rate"):
        if (rate.get("metadata") or {}).get("sandbox_automatic_tax") == jurisdiction:
            return rate
    tax_type, percentage = RATES[jurisdiction]
    country, _, state = jurisdiction.partition("-")
    rate = make(
        "tax_rate",
        id=new_id("tax_rate"),
        display_name={"vat": "VAT", "gst": "GST", "hst": "HST", "pst": "PST", "qst": "QST", "jct": "JCT"}.get(
            tax_type, "Sales Tax"
        ),
        percentage=float(percentage),
        effective_percentage=float(percentage),
        inclusive=False,
        country=country,
        state=state or None,
        jurisdiction=jurisdiction,
        jurisdiction_level="state" if state else "country",
        description=f"Automatic tax {jurisdiction} (sandbox approximation)",
        tax_type=tax_type,
        active=False,
        created=api.state.now(),
        metadata={"sandbox_automatic_tax": jurisdiction},
        flat_amount=None,
        rate_type="percentage",
    )
    api.state.add(rate)
    api.emit("tax_rate.created", rate)
    return rate


def prepare(api: Api, invoice: dict, customer: dict, *, tax_rates: list[dict], automatic: bool, now: int) -> None:
    """Decide an invoice's taxes when it is made; `retotal` applies them to its lines."""
    invoice["default_tax_rates"] = tax_rates
    invoice["automatic_tax"] = {
        "enabled": automatic,
        "liability": {"type": "self"} if automatic else None,
        "status": "complete" if automatic else None,
        "disabled_reason": None,
        "provider": "stripe" if automatic else None,
    }
    if automatic:
        codes, reason = automatic_jurisdictions(api, customer, now)
        invoice["_tax_rates"] = [automatic_rate(api, code) for code in codes]
        invoice["_taxability_reason"] = reason
        # Prices' own tax_behavior is not modelled: the account's default says inclusive or exclusive.
        invoice["_tax_inclusive"] = tax_settings(api)["defaults"].get("tax_behavior") == "inclusive"
    else:
        exempt = customer.get("tax_exempt")
        invoice["_tax_rates"] = tax_rates
        invoice["_taxability_reason"] = {"exempt": "customer_exempt", "reverse": "reverse_charge"}.get(
            exempt or "", "standard_rated"
        )


def _round(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def tax_of(amount: int, percentage, inclusive: bool) -> int:
    rate = Decimal(str(percentage)) / 100
    value = Decimal(amount)
    return _round(value - value / (1 + rate) if inclusive else value * rate)


def apply_taxes(invoice: dict) -> tuple[int, int]:
    """Put each line's taxes and the invoice's `total_taxes`; (exclusive tax, inclusive tax) in minor units."""
    rates = invoice.get("_tax_rates") or []
    reason = invoice.get("_taxability_reason") or "standard_rated"
    automatic_inclusive = invoice.get("_tax_inclusive") if (invoice.get("automatic_tax") or {}).get("enabled") else None
    zero = reason in ("customer_exempt", "reverse_charge")
    totals: dict[str, dict] = {}
    exclusive = inclusive = 0
    for line in invoice["lines"]["data"]:
        taxes = []
        for rate in rates:
            inclusive_rate = bool(rate.get("inclusive")) if automatic_inclusive is None else automatic_inclusive
            amount = 0 if zero else tax_of(line["amount"], rate["percentage"], inclusive_rate)
            behaviour = "inclusive" if inclusive_rate else "exclusive"
            taxable = line["amount"] - amount if behaviour == "inclusive" else line["amount"]
            taxes.append(
                {
                    "amount": amount,
                    "tax_behavior": behaviour,
                    "tax_rate_details": {"tax_rate": rate["id"]},
                    "taxability_reason": reason,
                    "taxable_amount": taxable,
                    "type": "tax_rate_details",
                }
            )
            entry = totals.setdefault(rate["id"], {**taxes[-1], "amount": 0, "taxable_amount": 0})
            entry["amount"] += amount
            entry["taxable_amount"] += taxable
            if behaviour == "inclusive":
                inclusive += amount
            else:
                exclusive += amount
        line["taxes"] = taxes
    invoice["total_taxes"] = list(totals.values())
    return exclusive, inclusive


def credit_note_taxes(invoice: dict, total: int) -> tuple[list[dict], int]:
    """A credit note's share of its invoice's taxes: `total` (tax included) × each tax / the invoice's
    total, rounded per rate; (total_taxes, tax)."""
    if not invoice.get("total") or not invoice.get("total_taxes"):
        return [], 0
    taxes = []
    for tax in invoice["total_taxes"]:
        amount = _round(Decimal(total) * tax["amount"] / Decimal(invoice["total"]))
        taxable = _round(Decimal(total) * (tax.get("taxable_amount") or 0) / Decimal(invoice["total"]))
        taxes.append({**tax, "amount": amount, "taxable_amount": taxable})
    return taxes, sum(t["amount"] for t in taxes)


def tax_params(api: Api, params: dict, *, prefix: str = "") -> tuple[list[dict] | None, bool | None]:
    """`default_tax_rates` (ids; "" clears) and `automatic_tax[enabled]` of a create or update: the tax
    rate objects and the flag, or None for each one not given. An archived rate cannot be assigned."""
    rates = None
    if "default_tax_rates" in params:
        ids = params["default_tax_rates"] or []
        if isinstance(ids, dict):
            ids = [ids[k] for k in sorted(ids, key=int)]
        if isinstance(ids, str):
            ids = [ids] if ids else []
        rates = []
        for n, rate_id in enumerate(ids):
            rate = api.state.get(rate_id, "tax_rate", param=f"{prefix}default_tax_rates[{n}]")
            if not rate.get("active"):
                raise SandboxError(
                    400,
                    f"Tax rate {rate_id} is archived (inactive) and cannot be applied to new objects.",
                    param=f"{prefix}default_tax_rates[{n}]",
                )
            rates.append(rate)
    automatic = None
    if "automatic_tax" in params:
        automatic = as_bool((params.get("automatic_tax") or {}).get("enabled"))
    return rates, automatic
