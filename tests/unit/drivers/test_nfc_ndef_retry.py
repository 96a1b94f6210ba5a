"""A card whose NDEF read fails while it stays on the reader is read again, up to NDEF_READS
times, before it is reported without its text (the patron's id). nfcpy's tag is the boundary
here: a stand-in answers ``ndef`` and ``is_present`` as nfcpy's Tag does (None on a failed read)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import ndef

from drivers.nfc_card import NDEF_READS, NfcCardReader
from drivers.registry import open_device


@dataclass
class FlakyTag:
    fails: int
    present: bool = True
    reads: int = 0
    records: list[Any] = field(default_factory=lambda: [ndef.TextRecord("P-000123")])

    @property
    def ndef(self) -> Any:
        self.reads += 1
        return None if self.reads <= self.fails else self

    @property
    def is_present(self) -> bool:
        return self.present


def reader() -> NfcCardReader:
    device = open_device("nfc://udp:127.0.0.1:9?targets=212F")
    assert isinstance(device, NfcCardReader)
    return device


def test_reads_that_fail_while_the_card_stays_are_tried_again() -> None:
    tag = FlakyTag(fails=NDEF_READS - 1)
    assert reader()._read_text(tag, b"\x01") == "P-000123"
    assert tag.reads == NDEF_READS


def test_a_card_that_never_reads_is_reported_without_text_after_the_last_try() -> None:
    tag = FlakyTag(fails=NDEF_READS)
    assert reader()._read_text(tag, b"\x01") is None
    assert tag.reads == NDEF_READS


def test_a_card_gone_after_a_failed_read_is_not_read_again() -> None:
    tag = FlakyTag(fails=1, present=False)
    assert reader()._read_text(tag, b"\x01") is None
    assert tag.reads == 1
