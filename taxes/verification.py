"""The optional online check of a tax ID: EU VAT numbers in VIES, UK VAT numbers at HMRC.

Off unless PORTAL_TAX_ID_ONLINE_CHECK is on. When it is off, or the service cannot be reached
(these machines are offline), the result says "skipped" and why — it is never reported as valid.
The format and check digits are always checked first, offline (`taxes.tax_ids.validate`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import requests
from django.conf import settings

log = logging.getLogger(__name__)

VIES_URL = "https://ec.europa.eu/taxation_customs/vies/rest-api/ms/{country}/vat/{number}"
HMRC_URL = "https://api.service.hmrc.gov.uk/organisations/vat/check-vat-number/lookup/{number}"


@dataclass(frozen=True)
class Verification:
    status: str  # valid | invalid | skipped
    message: str
    name: str = ""


def verify_online(code: str, compact: str, *, timeout: float = 5.0) -> Verification:
    """Ask the authority about an already-checked (canonical) tax ID, if the setting allows."""
    if not settings.PORTAL_TAX_ID_ONLINE_CHECK:
        return Verification("skipped", "online check off (PORTAL_TAX_ID_ONLINE_CHECK)")
    try:
        if code == "eu_vat":
            country = "EL" if compact[:2] == "GR" else compact[:2]
            answer = requests.get(VIES_URL.format(country=country, number=compact[2:]), timeout=timeout)
            answer.raise_for_status()
            data = answer.json()
            if data.get("isValid"):
                return Verification("valid", "VIES: valid", (data.get("name") or "").strip())
            return Verification("invalid", "VIES: not a registered VAT number")
        if code == "gb_vat":
            answer = requests.get(HMRC_URL.format(number=compact.removeprefix("GB")), timeout=timeout)
            if answer.status_code == 404:
                return Verification("invalid", "HMRC: not a registered VAT number")
            answer.raise_for_status()
            target = answer.json().get("target") or {}
            return Verification("valid", "HMRC: valid", target.get("name") or "")
    except (requests.RequestException, OSError, ValueError, RuntimeError) as error:  # offline, refused, odd: skipped
        log.info("tax ID online check unavailable: %s", type(error).__name__)
        return Verification("skipped", f"online check unavailable ({type(error).__name__})")
    return Verification("skipped", "no online register for this kind of tax ID")
