"""Tax IDs checked before they go to Stripe: format and check digits, with python-stdnum.

`validate("eu_vat", "de 123 456 788")` -> "DE123456788", or `TaxIdError` with a message people
read ("That is not a valid EU VAT number: the check digit is wrong"). The codes are Stripe's tax ID
types. A type stdnum does not cover is checked for shape only, and says so.

An online check (VIES, HMRC) is a separate, optional step (see `taxes.verification`); offline it is
skipped, never faked.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass

from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength, ValidationError

EU_COUNTRIES = {
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT", "LU",
    "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
}  # fmt: skip


@dataclass(frozen=True)
class TaxIdType:
    code: str  # Stripe's tax ID type
    label: str
    countries: tuple[str, ...]
    example: str
    module: str | None  # the stdnum module that checks it

    def check(self, value: str) -> str:
        """The compact, canonical form of `value`, or TaxIdError."""
        return validate(self.code, value)


TYPES: dict[str, TaxIdType] = {
    t.code: t
    for t in [
        TaxIdType("eu_vat", "EU VAT number", tuple(sorted(EU_COUNTRIES)), "DE123456789", "stdnum.eu.vat"),
        TaxIdType("gb_vat", "UK VAT number", ("GB",), "GB123456789", "stdnum.gb.vat"),
        TaxIdType("ch_vat", "Swiss VAT number", ("CH",), "CHE-123.456.789 MWST", "stdnum.ch.vat"),
        TaxIdType("no_vat", "Norwegian VAT number", ("NO",), "NO123456789MVA", "stdnum.no.mva"),
        TaxIdType("au_abn", "Australian Business Number", ("AU",), "12345678912", "stdnum.au.abn"),
        TaxIdType("nz_gst", "New Zealand GST number", ("NZ",), "123456789", "stdnum.nz.ird"),
        TaxIdType("ca_bn", "Canadian Business Number", ("CA",), "123456789", "stdnum.ca.bn"),
        TaxIdType("in_gst", "Indian GSTIN", ("IN",), "12ABCDE3456FGZH", "stdnum.in_.gstin"),
        TaxIdType("jp_cn", "Japanese Corporate Number", ("JP",), "1234567891234", "stdnum.jp.cn"),
        TaxIdType("kr_brn", "Korean Business Registration Number", ("KR",), "123-45-67890", "stdnum.kr.brn"),
        TaxIdType("br_cnpj", "Brazilian CNPJ", ("BR",), "01.234.456/5432-10", "stdnum.br.cnpj"),
        TaxIdType("br_cpf", "Brazilian CPF", ("BR",), "123.456.789-87", "stdnum.br.cpf"),
        TaxIdType("mx_rfc", "Mexican RFC", ("MX",), "ABC010203AB9", "stdnum.mx.rfc"),
        TaxIdType("us_ein", "US Employer Identification Number", ("US",), "12-3456789", "stdnum.us.ein"),
        TaxIdType("sg_gst", "Singapore GST number", ("SG",), "M12345678X", None),
        TaxIdType("sg_uen", "Singapore UEN", ("SG",), "123456789F", None),
        TaxIdType("ae_trn", "UAE Tax Registration Number", ("AE",), "123456789012345", None),
        TaxIdType("kw_vat", "Kuwait VAT number", ("KW",), "123456789012", None),
    ]
}

# Shape checks for the types stdnum does not cover (as Stripe documents their formats).
SHAPES = {
    "sg_gst": re.compile(r"^[A-Z]\d{8}[A-Z]$|^\d{9}[A-Z]$"),
    "sg_uen": re.compile(r"^\d{8,9}[A-Z]$|^[ST]\d{2}[A-Z]{2}\d{4}[A-Z]$"),
    "ae_trn": re.compile(r"^\d{15}$"),
    "kw_vat": re.compile(r"^\d{12}$"),
}


class TaxIdError(ValueError):
    """A tax ID that cannot be right; the message says why, for the person who typed it."""


def _compact(value: str) -> str:
    return re.sub(r"[\s.\-/]", "", value).upper()


def validate(code: str, value: str) -> str:
    kind = TYPES.get(code)
    if kind is None:
        raise TaxIdError("Choose the kind of tax ID.")
    value = (value or "").strip()
    if not value:
        raise TaxIdError(f"Enter the {kind.label}.")
    if len(value) > 64 or not value.isprintable():
        raise TaxIdError(f"That is not a {kind.label} (for example {kind.example}).")
    if kind.module is None:
        compact = _compact(value)
        if not SHAPES[code].match(compact):
            raise TaxIdError(f"That is not a {kind.label}: expected something like {kind.example}.")
        return compact
    module = importlib.import_module(kind.module)
    if code == "no_vat" and not _compact(value).endswith("MVA"):
        value = _compact(value) + "MVA"  # people often leave out the suffix Stripe's format has
    try:
        compact = module.validate(value)
    except InvalidChecksum:
        raise TaxIdError(f"That is not a valid {kind.label}: the check digit is wrong.") from None
    except InvalidLength:
        raise TaxIdError(f"That is not a valid {kind.label}: it has the wrong length (e.g. {kind.example}).") from None
    except (InvalidFormat, InvalidComponent):
        raise TaxIdError(f"That is not a valid {kind.label}: expected something like {kind.example}.") from None
    except ValidationError:
        raise TaxIdError(f"That is not a valid {kind.label}.") from None
    if code == "eu_vat":
        country = compact[:2]
        if country == "EL":
            country = "GR"
        if country not in EU_COUNTRIES:
            raise TaxIdError("An EU VAT number starts with its country's code (e.g. DE, FR, NL).")
    if code in ("gb_vat", "no_vat") and not compact.startswith(code[:2].upper()):
        compact = code[:2].upper() + compact
    if code == "no_vat" and not compact.endswith("MVA"):
        compact += "MVA"
    return compact


def types_for_country(country: str) -> list[TaxIdType]:
    """The tax ID types a business in `country` may have, most likely first."""
    country = (country or "").upper()
    return [t for t in TYPES.values() if country in t.countries]


def eu_vat_country(value: str) -> str | None:
    """The member state an EU VAT number belongs to (GR for EL), for reverse-charge decisions."""
    prefix = (value or "")[:2].upper()
    prefix = "GR" if prefix == "EL" else prefix
    return prefix if prefix in EU_COUNTRIES else None
