"""Every patron and staff text of the sorter exists in both languages with the same blanks."""

from __future__ import annotations

import string
from pathlib import Path

import pytest

from sorter import texts
from sorter.reasons import ExceptionReason
from sorter.texts import REASONS, Text


def _all_texts() -> list[tuple[str, Text]]:
    found = [(name, value) for name, value in vars(texts).items() if isinstance(value, Text)]
    for reason, entry in REASONS.items():
        for part in ("name", "staff_action", "patron"):
            found.append((f"{reason}.{part}", getattr(entry, part)))
    # Texts kept by key in a table of their own.
    for name, value in vars(texts).items():
        if isinstance(value, dict):
            found += [(f"{name}[{key}]", t) for key, t in value.items() if isinstance(t, Text)]
    return found


def _blanks(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_every_way_of_a_receipt_has_its_refusal() -> None:
    assert set(texts.RECEIPT_NOT_OFFERED) == {"print", "email", "qr"}
    assert any(name.startswith("RECEIPT_NOT_OFFERED[") for name, _ in _all_texts())


def test_every_reason_has_its_texts() -> None:
    assert set(REASONS) == set(ExceptionReason)


def test_reason_values_are_stable_identifiers() -> None:
    # Journals, MQTT events and manifests hold these: renaming one breaks old records.
    assert [reason.value for reason in ExceptionReason] == [
        "unreadable_tag",
        "not_ours",
        "incomplete_set",
        "ils_refused",
        "ils_error",
        "security_not_verified",
        "already_sorted",
        "bin_full",
        "late_ils",
    ]


@pytest.mark.parametrize(
    ("name", "text"), _all_texts(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_both_languages_are_written_with_the_same_blanks(name: str, text: Text) -> None:
    assert text.vi.strip() and text.en.strip(), name
    assert text.vi != text.en, name
    assert _blanks(text.vi) == _blanks(text.en), name
    assert text.in_language("vi") == text.vi and text.in_language("en") == text.en


def test_reason_names_are_distinct_for_staff() -> None:
    for language in ("vi", "en"):
        names = [entry.name.in_language(language) for entry in REASONS.values()]
        assert len(set(names)) == len(names)


def test_docs_name_every_reason_in_both_languages_with_its_action() -> None:
    docs = (Path(__file__).resolve().parents[3] / "docs" / "sorter.md").read_text("utf-8")
    for reason, entry in REASONS.items():
        row = f"| `{reason.value}` | {entry.name.vi} | {entry.name.en} | "
        row += f"{entry.staff_action.vi} | {entry.staff_action.en} |"
        assert row in docs, reason
