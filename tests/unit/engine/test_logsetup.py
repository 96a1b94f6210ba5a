import logging

import pytest

from engine.logsetup import MaskingFilter, mask_sip2


def test_masks_patron_id_pin_and_name_in_sip2_traffic() -> None:
    raw = "6300120240101    120000          AOLIB|AA2001234|AD1234|AEPhạm Văn A|AY1AZF00D"
    masked = mask_sip2(raw)
    assert "2001234" not in masked and "1234|" not in masked and "Phạm" not in masked
    assert "AA***|AD***|AE***|" in masked
    assert "AOLIB|" in masked


def test_masks_first_field_right_after_fixed_part() -> None:
    fixed = "2300120240101    120000"
    assert mask_sip2(fixed + "AA2001234|AOLIB|") == fixed + "AA***|AOLIB|"


def test_leaves_ordinary_text_alone() -> None:
    text = "ACCOUNT blocked; CONTACT staff AAA"
    assert mask_sip2(text) == text


def test_empty_field_stays_empty() -> None:
    assert mask_sip2("x|AD|AY") == "x|AD|AY"


def test_filter_masks_formatted_arguments(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.masking")
    logger.addFilter(MaskingFilter())
    with caplog.at_level(logging.INFO, logger="test.masking"):
        logger.info("sent %s", "11YN20240101    120000AOLIB|AA2001234|AB300001|")
    assert "2001234" not in caplog.text
    assert "AB300001" in caplog.text
