"""The statistics CSV a library sends its authority: exact bytes, local days, both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from central.export import day_csv, month_csv
from central.store import parse_message, store_batch
from tests.central.helpers import PREFIX, event

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
# 16:59 UTC on the 25th is 23:59 in Hanoi (UTC+7); 17:00 UTC is already the 26th there.
LATE = datetime(2026, 11, 25, 16, 59, tzinfo=UTC)
EARLY = datetime(2026, 11, 25, 1, 30, tzinfo=UTC)  # 08:30 in Hanoi


def _fill(engine: Engine) -> None:
    pairs = [
        event("checkout", EARLY, success=True),
        event("checkout", EARLY, success=True),
        event("checkin", EARLY, device="sorter-01", success=True, destination="A"),
        event("checkin", LATE, device="sorter-01", success=True, destination="Trả lại"),
        event("people", EARLY, device="gate-01", direction="in"),
        event("checkout", datetime(2026, 11, 25, 17, 0, tzinfo=UTC), success=True),
        event("checkout", EARLY, site="VN-HN0002", success=True),
    ]
    with Session(engine) as session, session.begin():
        store_batch(
            session, [parse_message(t, p, PREFIX) for t, p in pairs], lambda: datetime.now(UTC)
        )


HEAD = (
    "Mượn (Checkouts),Trả (Returns),Gia hạn (Renewals),Lỗi (Failures),"
    "Lượt vào (Gate in),Lượt ra (Gate out),Báo động cổng (Gate alarms),"
    "Thùng A (Bin A),Thùng Trả lại (Bin Trả lại)"
)


def test_a_day_has_a_row_per_local_hour_and_a_total(engine: Engine) -> None:
    _fill(engine)
    with Session(engine) as session:
        data = day_csv(session, "VN-HN0001", date(2026, 11, 25), HANOI)
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data[3:].decode("utf-8").split("\r\n")
    assert lines[0] == f"Đơn vị (Site),Ngày (Date),Giờ (Hour),{HEAD}"
    assert lines[1] == "VN-HN0001,25/11/2026,00:00,0,0,0,0,0,0,0,0,0"
    assert lines[9] == "VN-HN0001,25/11/2026,08:00,2,1,0,0,1,0,0,1,0"
    assert lines[24] == "VN-HN0001,25/11/2026,23:00,0,1,0,0,0,0,0,0,1"
    assert lines[25] == "VN-HN0001,Tổng cộng (Total),,2,2,0,0,1,0,0,1,1"
    assert lines[26:] == [""] and len(lines) == 27


def test_a_month_has_a_row_per_local_day(engine: Engine) -> None:
    _fill(engine)
    with Session(engine) as session:
        data = month_csv(session, "VN-HN0001", 2026, 11, HANOI)
    lines = data.decode("utf-8-sig").split("\r\n")
    assert lines[0] == f"Đơn vị (Site),Ngày (Date),{HEAD}"
    assert len(lines) == 1 + 30 + 1 + 1
    assert lines[25] == "VN-HN0001,25/11/2026,2,2,0,0,1,0,0,1,1"
    assert lines[26] == "VN-HN0001,26/11/2026,1,0,0,0,0,0,0,0,0"
    assert lines[31] == "VN-HN0001,Tổng cộng (Total),3,2,0,0,1,0,0,1,1"


def test_a_day_without_statistics_is_all_zeros(engine: Engine) -> None:
    with Session(engine) as session:
        data = day_csv(session, "VN-HN0009", date(2026, 1, 1), HANOI)
    lines = data.decode("utf-8-sig").split("\r\n")
    assert lines[0].endswith("Báo động cổng (Gate alarms)")
    assert lines[25] == "VN-HN0009,Tổng cộng (Total),,0,0,0,0,0,0,0"
