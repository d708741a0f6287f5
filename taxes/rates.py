"""The rate table: each jurisdiction's standard rate, its kind of tax, where the figure comes from
and the day it was checked. One table for the portal-rates mode, the treatment preview and the
threshold monitor (the sandbox keeps a copy for its `automatic_tax` emulation; a test holds the two
equal).

Jurisdictions are ISO country codes, and `US-CA`-style codes (ISO 3166-2) for US states and
Canadian provinces. Percentages are Decimals (a percentage is not money); amounts are integer minor
units of their currency.

Standard rates only: reduced rates, local (county/city) US sales tax and product taxability are
Stripe Tax's job in the `stripe_tax` mode. A US state's figure is the state-level base rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class JurisdictionRate:
    jurisdiction: str  # "DE", "US-CA", "CA-ON"
    name: str
    tax_type: str  # Stripe's tax_type: vat, gst, hst, pst, qst, sales_tax, jct
    percentage: Decimal
    source: str
    as_of: str  # ISO date the figure was checked against the source

    @property
    def country(self) -> str:
        return self.jurisdiction[:2]

    @property
    def state(self) -> str:
        return self.jurisdiction[3:] if "-" in self.jurisdiction else ""

    @property
    def label(self) -> str:
        kind = {"vat": "VAT", "gst": "GST", "hst": "HST", "pst": "PST", "qst": "QST", "jct": "JCT"}
        return f"{kind.get(self.tax_type, 'Sales tax')} {self.name}"


EU_SOURCE = "European Commission, VAT rates applied in the Member States (taxation-customs.ec.europa.eu)"
EU_AS_OF = "2025-09-01"
_EU = {
    "AT": ("Austria", "20"), "BE": ("Belgium", "21"), "BG": ("Bulgaria", "20"), "CY": ("Cyprus", "19"),
    "CZ": ("Czechia", "21"), "DE": ("Germany", "19"), "DK": ("Denmark", "25"), "EE": ("Estonia", "24"),
    "ES": ("Spain", "21"), "FI": ("Finland", "25.5"), "FR": ("France", "20"), "GR": ("Greece", "24"),
    "HR": ("Croatia", "25"), "HU": ("Hungary", "27"), "IE": ("Ireland", "23"), "IT": ("Italy", "22"),
    "LT": ("Lithuania", "21"), "LU": ("Luxembourg", "17"), "LV": ("Latvia", "21"), "MT": ("Malta", "18"),
    "NL": ("Netherlands", "21"), "PL": ("Poland", "23"), "PT": ("Portugal", "23"), "RO": ("Romania", "21"),
    "SE": ("Sweden", "25"), "SI": ("Slovenia", "22"), "SK": ("Slovakia", "23"),
}  # fmt: skip

US_SOURCE = "State revenue departments' published state-level rates (summarised by the Tax Foundation, 2025)"
US_AS_OF = "2025-07-01"
_US = {
    "AL": ("Alabama", "4"), "AZ": ("Arizona", "5.6"), "AR": ("Arkansas", "6.5"), "CA": ("California", "7.25"),
    "CO": ("Colorado", "2.9"), "CT": ("Connecticut", "6.35"), "FL": ("Florida", "6"), "GA": ("Georgia", "4"),
    "HI": ("Hawaii", "4"), "ID": ("Idaho", "6"), "IL": ("Illinois", "6.25"), "IN": ("Indiana", "7"),
    "IA": ("Iowa", "6"), "KS": ("Kansas", "6.5"), "KY": ("Kentucky", "6"), "LA": ("Louisiana", "5"),
    "ME": ("Maine", "5.5"), "MD": ("Maryland", "6"), "MA": ("Massachusetts", "6.25"), "MI": ("Michigan", "6"),
    "MN": ("Minnesota", "6.875"), "MS": ("Mississippi", "7"), "MO": ("Missouri", "4.225"),
    "NE": ("Nebraska", "5.5"), "NV": ("Nevada", "6.85"), "NJ": ("New Jersey", "6.625"),
    "NM": ("New Mexico", "4.875"), "NY": ("New York", "4"), "NC": ("North Carolina", "4.75"),
    "ND": ("North Dakota", "5"), "OH": ("Ohio", "5.75"), "OK": ("Oklahoma", "4.5"), "PA": ("Pennsylvania", "6"),
    "RI": ("Rhode Island", "7"), "SC": ("South Carolina", "6"), "SD": ("South Dakota", "4.2"),
    "TN": ("Tennessee", "7"), "TX": ("Texas", "6.25"), "UT": ("Utah", "4.85"), "VT": ("Vermont", "6"),
    "VA": ("Virginia", "4.3"), "WA": ("Washington", "6.5"), "WV": ("West Virginia", "6"),
    "WI": ("Wisconsin", "5"), "WY": ("Wyoming", "4"), "DC": ("District of Columbia", "6"),
}  # fmt: skip

CA_SOURCE = "Canada Revenue Agency, GST/HST rates; provincial finance ministries for PST and QST"
CA_AS_OF = "2025-07-01"
# Provinces whose HST replaces the federal GST, and those that add a provincial tax to it.
_CA_HST = {"ON": ("Ontario", "13"), "NB": ("New Brunswick", "15"), "NL": ("Newfoundland and Labrador", "15"),
           "NS": ("Nova Scotia", "14"), "PE": ("Prince Edward Island", "15")}  # fmt: skip
_CA_PST = {"BC": ("British Columbia", "pst", "7"), "MB": ("Manitoba", "pst", "7"),
           "SK": ("Saskatchewan", "pst", "6"), "QC": ("Quebec", "qst", "9.975")}  # fmt: skip


def _table() -> dict[str, JurisdictionRate]:
    rows = [JurisdictionRate(code, name, "vat", Decimal(p), EU_SOURCE, EU_AS_OF) for code, (name, p) in _EU.items()]
    rows += [
        JurisdictionRate(
            "GB", "United Kingdom", "vat", Decimal("20"), "HMRC, VAT rates (gov.uk/vat-rates)", "2025-07-01"
        ),
        JurisdictionRate(
            "CH", "Switzerland", "vat", Decimal("8.1"), "Swiss Federal Tax Administration (ESTV)", "2025-07-01"
        ),
        JurisdictionRate(
            "NO", "Norway", "vat", Decimal("25"), "Norwegian Tax Administration (Skatteetaten)", "2025-07-01"
        ),
        JurisdictionRate(
            "AU", "Australia", "gst", Decimal("10"), "Australian Taxation Office (ato.gov.au)", "2025-07-01"
        ),
        JurisdictionRate("NZ", "New Zealand", "gst", Decimal("15"), "Inland Revenue (ird.govt.nz)", "2025-07-01"),
        JurisdictionRate(
            "JP", "Japan", "jct", Decimal("10"), "National Tax Agency, consumption tax (nta.go.jp)", "2025-07-01"
        ),
        JurisdictionRate("CA", "Canada", "gst", Decimal("5"), CA_SOURCE, CA_AS_OF),
    ]
    rows += [JurisdictionRate(f"CA-{c}", n, "hst", Decimal(p), CA_SOURCE, CA_AS_OF) for c, (n, p) in _CA_HST.items()]
    rows += [JurisdictionRate(f"CA-{c}", n, t, Decimal(p), CA_SOURCE, CA_AS_OF) for c, (n, t, p) in _CA_PST.items()]
    rows += [JurisdictionRate(f"US-{c}", n, "sales_tax", Decimal(p), US_SOURCE, US_AS_OF) for c, (n, p) in _US.items()]
    return {row.jurisdiction: row for row in rows}


RATES: dict[str, JurisdictionRate] = _table()
CA_HST_PROVINCES = frozenset(_CA_HST)
# States without a state sales tax: nothing to register for.
US_NO_SALES_TAX = frozenset({"AK", "DE", "MT", "NH", "OR"})


def rate_for(jurisdiction: str) -> JurisdictionRate | None:
    return RATES.get((jurisdiction or "").upper())


def jurisdiction_of(country: str, state: str = "") -> str:
    """`("US", "ca")` -> `US-CA`; a country without states in the table -> the country."""
    country, state = (country or "").upper(), (state or "").upper()
    if country in ("US", "CA") and state:
        return f"{country}-{state}"
    return country


# --- registration thresholds ---------------------------------------------------------------------
@dataclass(frozen=True)
class Threshold:
    jurisdiction: str
    amount: int  # minor units of `currency`
    currency: str
    transactions: int | None  # "or this many sales" where the rule has one
    period: str  # what the sales are counted over
    source: str
    as_of: str


NEXUS_SOURCE = "State economic nexus rules after South Dakota v. Wayfair (2018), per state revenue departments"
_US_NEXUS_500K = {"CA", "TX", "NY", "AL", "MS"}
_US_NEXUS_TRANSACTIONS = {"NY": 100, "CT": 200, "GA": 200, "MI": 200, "MN": 200, "NV": 200, "NJ": 200,
                          "NC": 200, "OH": 200, "RI": 200, "VT": 200, "WA": None, "KY": 200, "WV": 200}  # fmt: skip


def _thresholds() -> dict[str, Threshold]:
    rows = [
        Threshold(
            f"US-{code}",
            (50_000_000 if code in _US_NEXUS_500K else 10_000_000),
            "usd",
            _US_NEXUS_TRANSACTIONS.get(code),
            "previous or current calendar year",
            NEXUS_SOURCE,
            US_AS_OF,
        )
        for code in _US
    ]
    rows += [
        Threshold(
            "EU",
            1_000_000,
            "eur",
            None,
            "calendar year, all EU cross-border B2C sales",
            "Council Directive (EU) 2017/2455 (the EU-wide €10,000 threshold)",
            EU_AS_OF,
        ),
        Threshold(
            "GB",
            0,
            "gbp",
            None,
            "first sale (non-established businesses)",
            "HMRC VAT Notice 700/1: no threshold for non-established taxable persons",
            "2025-07-01",
        ),
        Threshold(
            "CH",
            10_000_000,
            "chf",
            None,
            "worldwide turnover, 12 months",
            "ESTV, mandatory VAT liability",
            "2025-07-01",
        ),
        Threshold("NO", 5_000_000, "nok", None, "12 months (VOEC scheme)", "Skatteetaten, VOEC", "2025-07-01"),
        Threshold("AU", 7_500_000, "aud", None, "12 months", "ATO, GST registration turnover threshold", "2025-07-01"),
        Threshold(
            "NZ", 6_000_000, "nzd", None, "12 months", "Inland Revenue, GST registration threshold", "2025-07-01"
        ),
        Threshold("CA", 3_000_000, "cad", None, "four consecutive quarters", "CRA, small supplier threshold", CA_AS_OF),
        Threshold(
            "JP", 1_000_000_000, "jpy", None, "base period (two years before)", "National Tax Agency", "2025-07-01"
        ),
    ]
    return {row.jurisdiction: row for row in rows}


THRESHOLDS: dict[str, Threshold] = _thresholds()
