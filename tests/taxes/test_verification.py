"""The online tax ID check is off by default, and offline it says skipped — never valid."""

from taxes.verification import verify_online


def test_off_by_default(settings):
    settings.PORTAL_TAX_ID_ONLINE_CHECK = False
    assert verify_online("eu_vat", "FR40303265045").status == "skipped"


def test_offline_is_skipped_not_faked(settings):
    settings.PORTAL_TAX_ID_ONLINE_CHECK = True  # the tests may not leave 127.0.0.1: the service is unreachable
    for code, number in [("eu_vat", "FR40303265045"), ("gb_vat", "GB980780684")]:
        result = verify_online(code, number, timeout=1)
        assert result.status == "skipped" and "unavailable" in result.message
    assert verify_online("au_abn", "51824753556").message == "no online register for this kind of tax ID"
