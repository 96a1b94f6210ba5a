"""Whose loan is it: AA in item information when the ILS sends it, else the patron's list."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from engine.circulation.loans import Holder, loan_holder


@dataclass
class Info:
    circulation_status: str
    fields: dict[str, str] = field(default_factory=dict)

    def get(self, field_id: str) -> str | None:
        return self.fields.get(field_id)


@dataclass
class Account:
    charged_items: tuple[str, ...]


class FakeIls:
    """An ILS answering 17 and 63 only (a mock: the borrower field AA in 18 is what the
    simulator does not send, so this path cannot be run against it)."""

    def __init__(self, info: Info, charged: tuple[str, ...] = ()) -> None:
        self.info, self.charged = info, charged
        self.asked_patron = False

    def item_information(self, item_id: str) -> Info:
        return self.info

    def patron_information(self, patron_id: str, pin: Any, *, summary: str) -> Account:
        self.asked_patron = True
        assert summary == "charged"
        return Account(self.charged if patron_id == "P0001" else ())


@pytest.mark.parametrize(
    ("aa", "expected"), [("P0001", Holder.PATRON), ("P0005", Holder.SOMEONE_ELSE)]
)
def test_the_borrower_in_item_information_decides(aa: str, expected: Holder) -> None:
    ils = FakeIls(Info("04", {"AA": aa}), charged=("B0001",))
    assert loan_holder(ils, "B0001", "P0001")[0] is expected  # type: ignore[arg-type]
    assert ils.asked_patron is False


@pytest.mark.parametrize(
    ("charged", "expected"),
    [(("B0001", "B0002"), Holder.PATRON), (("B0002",), Holder.SOMEONE_ELSE)],
)
def test_without_aa_the_patrons_charged_list_decides(
    charged: tuple[str, ...], expected: Holder
) -> None:
    ils = FakeIls(Info("05"), charged=charged)
    assert loan_holder(ils, "B0001", "P0001")[0] is expected  # type: ignore[arg-type]


@pytest.mark.parametrize("status", ["03", "08", "10", "12"])
def test_not_on_loan_is_nobody_s(status: str) -> None:
    ils = FakeIls(Info(status, {"AA": "P0001"}))
    assert loan_holder(ils, "B0001", "P0001")[0] is Holder.NOBODY  # type: ignore[arg-type]
