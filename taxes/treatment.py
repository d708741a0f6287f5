"""What tax a customer is charged and why: pure functions over plain values, no database, no Stripe.

`treat(seller, buyer, day)` -> a `Treatment`: the kind (taxed, reverse charge, exempt, not
collected), the components (jurisdiction, tax type, rate), and the reason in words finance reads on
the customer page. `tax_amount(...)` rounds as Stripe does: to the currency's minor unit (JPY has
none, KWD three), halves away from zero, per line, for prices inclusive or exclusive of tax.

The rules are the standard-rate ones a SaaS seller needs (see README "Taxes"): the EU's reverse
charge and One-Stop Shop, the UK/CH/NO/AU/NZ/JP reverse charge for businesses buying from abroad,
Canada's GST plus HST or PST/QST, US sales tax where registered. Stripe Tax applies the fuller
rules (product tax codes, reduced and local rates) in the `stripe_tax` mode.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from billing.money import exponent
from taxes.rates import CA_HST_PROVINCES, rate_for
from taxes.tax_ids import EU_COUNTRIES, eu_vat_country

REVERSE_CHARGE_NOTE_EU = (
    "Reverse charge: VAT to be accounted for by the recipient (Article 196, Council Directive 2006/112/EC)."
)
REVERSE_CHARGE_NOTE = "Reverse charge: tax to be accounted for by the recipient."
# Countries where a business buying services from a foreign seller accounts for the tax itself.
B2B_REVERSE_CHARGE = frozenset({"GB", "CH", "NO", "AU", "NZ", "JP"})


@dataclass(frozen=True)
class Reg:
    """A seller's registration, as the engine needs it."""

    country: str
    state: str = ""
    scheme: str = "standard"  # or "oss_union"
    effective_from: dt.date = dt.date(2000, 1, 1)
    effective_to: dt.date | None = None

    def active_on(self, day: dt.date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day < self.effective_to)


@dataclass(frozen=True)
class Seller:
    home_country: str
    registrations: tuple[Reg, ...] = ()


@dataclass(frozen=True)
class Buyer:
    country: str
    state: str = ""
    business: bool = False
    tax_id: str = ""  # canonical and checked (taxes.tax_ids.validate); empty if none
    tax_id_type: str = ""
    exempt_until: dt.date | None = None  # an exemption certificate's expiry
    forced_reverse_charge: bool = False  # finance set the status by hand


@dataclass(frozen=True)
class Component:
    jurisdiction: str
    tax_type: str
    percentage: Decimal
    label: str


@dataclass(frozen=True)
class Treatment:
    kind: str  # taxed | reverse_charge | exempt | not_collected
    reason: str
    components: tuple[Component, ...] = ()
    stripe_tax_exempt: str = "none"  # what customer.tax_exempt should be
    note: str = ""  # the legal note on the invoice
    notes: list[str] = field(default_factory=list)

    @property
    def percentage(self) -> Decimal:
        return sum((c.percentage for c in self.components), Decimal(0))

    @property
    def jurisdiction(self) -> str:
        return self.components[0].jurisdiction if self.components else ""


def _component(code: str) -> Component | None:
    rate = rate_for(code)
    if rate is None:
        return None
    return Component(rate.jurisdiction, rate.tax_type, rate.percentage, rate.label)


def _registered(seller: Seller, day: dt.date, country: str, state: str = "") -> Reg | None:
    for reg in seller.registrations:
        if reg.active_on(day) and reg.country == country and (reg.state or "") == (state or ""):
            return reg
    return None


def _taxed(codes: list[str], reason: str) -> Treatment:
    components = tuple(c for c in (_component(code) for code in codes) if c)
    if not components:
        return Treatment("not_collected", f"{reason}, but the rate table has no rate for {', '.join(codes)}")
    return Treatment("taxed", reason, components)


def treat(seller: Seller, buyer: Buyer, day: dt.date) -> Treatment:
    country, state = buyer.country.upper(), buyer.state.upper()
    home = seller.home_country.upper()
    if buyer.exempt_until is not None:
        if buyer.exempt_until >= day:
            return Treatment(
                "exempt",
                f"exempt: certificate valid until {buyer.exempt_until:%Y-%m-%d}",
                stripe_tax_exempt="exempt",
                note="Tax exempt customer.",
            )
        # An expired certificate: taxed as anyone else, and said so.
    if buyer.forced_reverse_charge:
        return Treatment(
            "reverse_charge",
            "reverse charge set by finance",
            stripe_tax_exempt="reverse",
            note=REVERSE_CHARGE_NOTE_EU if country in EU_COUNTRIES else REVERSE_CHARGE_NOTE,
        )
    if country in EU_COUNTRIES:
        treatment = _eu(seller, buyer, day, country)
    elif country == "US":
        treatment = _us(seller, day, state)
    elif country == "CA":
        treatment = _canada(seller, buyer, day, state, home)
    else:
        treatment = _other(seller, buyer, day, country, home)
    if buyer.exempt_until is not None and buyer.exempt_until < day:
        treatment.notes.append(f"the exemption certificate expired on {buyer.exempt_until:%Y-%m-%d}")
    return treatment


def _eu(seller: Seller, buyer: Buyer, day: dt.date, country: str) -> Treatment:
    eu_regs = [r for r in seller.registrations if r.active_on(day) and r.country in EU_COUNTRIES]
    if not eu_regs:
        return Treatment("not_collected", f"not registered for VAT in the EU; {country} customers are not charged VAT")
    established = seller.home_country.upper() if seller.home_country.upper() in EU_COUNTRIES else eu_regs[0].country
    vat_country = eu_vat_country(buyer.tax_id) if buyer.tax_id_type in ("", "eu_vat") else None
    if buyer.business and vat_country == country and country != established:
        return Treatment(
            "reverse_charge",
            f"EU business with VAT ID {buyer.tax_id} in {country}, seller established in {established}: "
            "reverse charge, the customer accounts for the VAT",
            stripe_tax_exempt="reverse",
            note=REVERSE_CHARGE_NOTE_EU,
        )
    if country == established or _registered(seller, day, country):
        who = "business" if buyer.business else "consumer"
        return _taxed([country], f"{who} in {country}, where the seller is registered: {country} VAT")
    if any(r.scheme == "oss_union" for r in eu_regs):
        return _taxed([country], f"consumer in {country}, VAT declared through the EU One-Stop Shop: {country} VAT")
    return _taxed([established], f"consumer in {country}, no One-Stop Shop registration: {established} VAT (home rate)")


def _us(seller: Seller, day: dt.date, state: str) -> Treatment:
    if not state:
        return Treatment("not_collected", "US customer without a state: no sales tax can be determined")
    if _registered(seller, day, "US", state):
        return _taxed([f"US-{state}"], f"registered for sales tax in US-{state}")
    return Treatment("not_collected", f"not registered for sales tax in US-{state}: no tax (watch the nexus threshold)")


def _canada(seller: Seller, buyer: Buyer, day: dt.date, province: str, home: str) -> Treatment:
    if not _registered(seller, day, "CA"):
        return Treatment("not_collected", "not registered for GST/HST in Canada: no tax")
    if province in CA_HST_PROVINCES:
        return _taxed([f"CA-{province}"], f"registered for GST/HST; {province} charges HST")
    codes = ["CA"]
    reason = "registered for GST/HST: GST"
    if province and rate_for(f"CA-{province}") and _registered(seller, day, "CA", province):
        codes.append(f"CA-{province}")
        reason += f" and {province}'s provincial tax (registered there)"
    return _taxed(codes, reason)


def _other(seller: Seller, buyer: Buyer, day: dt.date, country: str, home: str) -> Treatment:
    if rate_for(country) is None:
        return Treatment("not_collected", f"no tax collected in {country} (not in the rate table)")
    if buyer.business and buyer.tax_id and country in B2B_REVERSE_CHARGE and country != home:
        return Treatment(
            "reverse_charge",
            f"business with tax ID {buyer.tax_id} in {country}, seller abroad: reverse charge",
            stripe_tax_exempt="reverse",
            note=REVERSE_CHARGE_NOTE,
        )
    if _registered(seller, day, country):
        who = "business" if buyer.business else "consumer"
        return _taxed([country], f"{who} in {country}, where the seller is registered")
    return Treatment("not_collected", f"not registered in {country}: no tax")


# --- amounts ---------------------------------------------------------------------------------------
def tax_amount(amount_minor: int, percentage: Decimal, currency: str, *, inclusive: bool = False) -> int:
    """The tax on a line of `amount_minor`: the currency's minor units are integers, so rounding to
    the unit is rounding to the currency's exponent (JPY 0, USD 2, KWD 3); halves away from zero.

    Exclusive: amount × rate. Inclusive: the part of the amount that is tax, amount − amount / (1 + rate).
    """
    exponent(currency)  # an unknown currency fails here, not later
    rate = Decimal(percentage) / 100
    amount = Decimal(int(amount_minor))
    tax = amount - amount / (1 + rate) if inclusive else amount * rate
    return int(tax.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def line_taxes(amount_minor: int, components, currency: str, *, inclusive: bool = False) -> list[tuple[object, int]]:
    """Each component's tax on one line. Inclusive with several rates: the total inclusive tax is
    split by rate, the last one taking the rounding remainder so the parts add up."""
    components = list(components)
    if not inclusive:
        return [(c, tax_amount(amount_minor, c.percentage, currency)) for c in components]
    total_rate = sum((c.percentage for c in components), Decimal(0))
    total = tax_amount(amount_minor, total_rate, currency, inclusive=True)
    parts, left = [], total
    for index, c in enumerate(components):
        share = (
            left
            if index == len(components) - 1
            else int((Decimal(total) * c.percentage / total_rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        )
        parts.append((c, share))
        left -= share
    return parts
