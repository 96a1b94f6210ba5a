"""The staff line for a checkin that finished after its item went aside (late ILS): what
the ILS did, from the journal's state, in Vietnamese and English, never a raw code."""

from __future__ import annotations

from typing import Any

import pytest

from sorter.ils_step import late_checkin_text

CODES = ("security_failed", "security_staff", "returned", "ils_refused", "ils_unavailable")


def line(**result: Any) -> tuple[str, str]:
    text = late_checkin_text("B0009", result)
    return text.vi, text.en


@pytest.mark.parametrize("outcome", ["security_failed", "security_staff"])
def test_a_checkin_whose_security_write_failed_was_checked_in(outcome: str) -> None:
    vi, en = line(state="flagged", outcome=outcome)
    assert "the ILS checked it in afterwards" in en and "do not check it in again" in en
    assert "did not go through" not in en
    assert "đã nhận trả sau" in vi and "bật an ninh tại quầy" in vi
    assert "không thành" not in vi


def test_a_checkin_done_afterwards_only_needs_shelving() -> None:
    vi, en = line(state="done", outcome="returned")
    assert "checked it in afterwards" in en and "just shelve it" in en
    assert "chỉ cần xếp lên giá" in vi
    # Replayed from the offline queue, it was checked in too.
    assert line(state="replayed", outcome="returned") == (vi, en)


def test_a_refusal_carries_the_ils_words() -> None:
    vi, en = line(state="refused", outcome="ils_refused", ils_message="Tài liệu không được mượn")
    assert "refused the checkin (Tài liệu không được mượn)" in en
    assert "từ chối trả (Tài liệu không được mượn)" in vi


def test_a_checkin_that_never_reached_the_ils_goes_to_the_desk() -> None:
    vi, en = line(state="cancelled", outcome="ils_unavailable")
    assert "did not go through" in en and "check it in at the desk" in en
    assert "trả tại quầy" in vi


@pytest.mark.parametrize("state", ["flagged", "done", "refused", "cancelled", "", "conflict"])
@pytest.mark.parametrize("outcome", CODES)
def test_no_code_and_no_placeholder_reaches_staff(state: str, outcome: str) -> None:
    for text in line(state=state, outcome=outcome):
        assert "B0009" in text
        assert "{" not in text and "}" not in text
        assert not any(code in text for code in CODES)
