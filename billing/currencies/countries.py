"""Country → billing currency and the payment methods offered there: the one table for both.

Self-serve asks `payment_methods_for(country, currency)` which methods to offer; new organisations
get `currency_for_country(country)`. A currency launch (billing/currencies, issue 13) moves a
country to a new currency and switches on its local methods; until then the defaults below hold.
Only methods Stripe supports for recurring billing (saved off-session through a SetupIntent) are
listed; a country's methods apply only in currencies Stripe accepts for them.
"""

from __future__ import annotations

from dataclasses import dataclass

from billing.currencies.models import CountryCurrency

EURO_AREA = {
    "AT", "BE", "CY", "DE", "EE", "ES", "FI", "FR", "GR", "HR", "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PT",
    "SI", "SK",
}  # fmt: skip
SEPA_AREA = EURO_AREA | {"BG", "CZ", "DK", "HU", "PL", "RO", "SE", "IS", "LI", "NO", "CH", "GB", "MC", "SM"}


@dataclass(frozen=True)
class Method:
    type: str  # Stripe's payment method type
    label: str
    currencies: tuple[str, ...] | None  # None: any currency
    note: str = ""
    renews_as: str = ""  # a single-use method whose setup saves another type for renewals (iDEAL → SEPA)
    short: str = ""  # the label in filters and tables, when shorter than `label`


CARD = Method("card", "Card", None)
ACH = Method(
    "us_bank_account",
    "US bank account (ACH Direct Debit)",
    ("usd",),
    "Verified instantly or by micro-deposits",
    short="ACH Direct Debit",
)
SEPA = Method("sepa_debit", "SEPA Direct Debit", ("eur",), "A mandate you accept once; debits settle in a few days")
BACS = Method("bacs_debit", "Bacs Direct Debit", ("gbp",), "A Direct Debit mandate; debits settle in a few days")
BECS = Method("au_becs_debit", "BECS Direct Debit", ("aud",), "A direct debit request; debits settle in a few days")
ACSS = Method("acss_debit", "Pre-authorised debit", ("cad",), "A pre-authorised debit agreement")
# Bank redirects: single-use, so Stripe saves the account they authorise as a SEPA Direct Debit
# method (`generated_sepa_debit` on the SetupIntent's attempt) that renewals are charged to.
IDEAL = Method(
    "ideal", "iDEAL", ("eur",), "Authorise once in your banking app; renewals by SEPA Direct Debit", "sepa_debit"
)
BANCONTACT = Method(
    "bancontact", "Bancontact", ("eur",), "Authorise once with Bancontact; renewals by SEPA Direct Debit", "sepa_debit"
)
ALL_METHODS = {m.type: m for m in (CARD, ACH, SEPA, BACS, BECS, ACSS, IDEAL, BANCONTACT)}
# The types payments are made with (a bank redirect's renewals are SEPA debits): the one list every
# filter, policy and table of payment methods offers.
CHARGED_METHOD_CHOICES = [(m.type, m.short or m.label) for m in ALL_METHODS.values() if not m.renews_as]

# The billing currency a new organisation of each country starts in, unless a launch changed it.
DEFAULT_CURRENCY = {
    "US": "usd",
    "CA": "usd",
    "GB": "gbp",
    "JP": "jpy",
    "KR": "krw",
    "KW": "kwd",
    "AU": "aud",
    "BR": "brl",
    "IN": "inr",
    "SG": "usd",
    **{country: "eur" for country in EURO_AREA},
    "SE": "eur",
}
FALLBACK_CURRENCY = "usd"

# Local methods per country, after the card every country has.
LOCAL_METHODS: dict[str, tuple[Method, ...]] = {
    "US": (ACH,),
    "GB": (BACS,),
    "AU": (BECS,),
    "CA": (ACSS,),
    **{country: (SEPA,) for country in SEPA_AREA - {"GB"}},
    "NL": (IDEAL, SEPA),
    "BE": (BANCONTACT, SEPA),
}


def currency_for_country(country: str) -> str:
    """The currency a new organisation in `country` is billed in (launched currencies included)."""
    country = (country or "").upper()
    live = CountryCurrency.objects.filter(country=country).values_list("currency", flat=True).first()
    return live or DEFAULT_CURRENCY.get(country, FALLBACK_CURRENCY)


def payment_methods_for(country: str, currency: str) -> list[Method]:
    """What an organisation in `country` paying in `currency` may add: card, then local methods
    that take that currency."""
    country, currency = (country or "").upper(), (currency or "").lower()
    methods = [CARD, *LOCAL_METHODS.get(country, ())]
    extra = CountryCurrency.objects.filter(country=country).values_list("payment_methods", flat=True).first()
    for kind in extra or ():
        if kind in ALL_METHODS and ALL_METHODS[kind] not in methods:
            methods.append(ALL_METHODS[kind])
    return [m for m in methods if m.currencies is None or currency in m.currencies]


def local_methods_in(country: str, currency: str) -> list[Method]:
    """The local methods (beyond the card) a launch of `currency` switches on in `country`."""
    currency = currency.lower()
    return [m for m in LOCAL_METHODS.get(country.upper(), ()) if m.currencies and currency in m.currencies]


def setup_intent_options(method_type: str, currency: str) -> dict | None:
    """What Stripe needs on a SetupIntent for `method_type` beyond the type itself: a pre-authorised
    debit names its currency and mandate (a business paying on each renewal)."""
    if method_type == "acss_debit":
        return {
            "acss_debit": {
                "currency": currency.lower(),
                "mandate_options": {
                    "payment_schedule": "interval",
                    "interval_description": "On each renewal of your subscription",
                    "transaction_type": "business",
                },
            }
        }
    return None
