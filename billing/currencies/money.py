"""Money is an integer amount in the currency's minor unit plus an ISO 4217 code. Never a float."""

from __future__ import annotations

from decimal import Decimal

# ISO 4217 minor units where they are not 2 (Stripe's zero-decimal and three-decimal lists).
ZERO_DECIMAL = {
    "bif",
    "clp",
    "djf",
    "gnf",
    "jpy",
    "kmf",
    "krw",
    "mga",
    "pyg",
    "rwf",
    "ugx",
    "vnd",
    "vuv",
    "xaf",
    "xof",
    "xpf",
}
THREE_DECIMAL = {"bhd", "jod", "kwd", "omr", "tnd"}
SYMBOLS = {
    "usd": "$",
    "eur": "€",
    "gbp": "£",
    "jpy": "¥",
    "krw": "₩",
    "inr": "₹",
    "aud": "A$",
    "cad": "CA$",
    "brl": "R$",
    "chf": "CHF ",
    "sek": "kr ",
    "kwd": "KD ",
    "bhd": "BD ",
    "mxn": "MX$",
    "sgd": "S$",
}


def exponent(currency: str) -> int:
    code = currency.lower()
    if code in ZERO_DECIMAL:
        return 0
    if code in THREE_DECIMAL:
        return 3
    return 2


def to_decimal(amount_minor: int, currency: str) -> Decimal:
    return Decimal(int(amount_minor)).scaleb(-exponent(currency))


def to_minor(amount: Decimal | str, currency: str) -> int:
    """Major units as typed by a person ("12.50") to minor units; refuses more precision than the currency has."""
    value = Decimal(str(amount))
    scaled = value.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{currency.upper()} has {exponent(currency)} decimal places; {amount} has more")
    return int(scaled)


def format_money(amount_minor: int | None, currency: str | None) -> str:
    if amount_minor is None or not currency:
        return "—"
    places = exponent(currency)
    value = to_decimal(amount_minor, currency)
    sign = "-" if value < 0 else ""
    number = f"{abs(value):,.{places}f}"
    symbol = SYMBOLS.get(currency.lower())
    if symbol:
        return f"{sign}{symbol}{number}"
    return f"{sign}{number} {currency.upper()}"
