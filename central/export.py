"""Statistics as CSV, in the form a Vietnamese library reports to its authority.

One file per site and day (a row per hour) or per site and month (a row per
day), with a total row. Days and hours are the library's local time (the
``timezone`` of the config), dates written dd/mm/yyyy. The file is UTF-8 with a
byte-order mark, because that is what makes Excel, the tool these reports are
opened in, read Vietnamese letters right; headers are Vietnamese with the
English beside them, so the same file serves a provincial office and a donor.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from central.models import HourlyStat, utc_naive

__all__ = ["COLUMNS", "day_csv", "month_csv"]

BOM = "\ufeff"
COLUMNS: tuple[tuple[str, str], ...] = (
    ("checkout", "Mượn (Checkouts)"),
    ("checkin", "Trả (Returns)"),
    ("renew", "Gia hạn (Renewals)"),
    ("failure", "Lỗi (Failures)"),
    ("gate_in", "Lượt vào (Gate in)"),
    ("gate_out", "Lượt ra (Gate out)"),
    ("alarm", "Báo động cổng (Gate alarms)"),
)
SITE = "Đơn vị (Site)"
DATE = "Ngày (Date)"
HOUR = "Giờ (Hour)"
TOTAL = "Tổng cộng (Total)"


def _bin_header(name: str) -> str:
    return f"Thùng {name} (Bin {name})"


def _local_midnight_utc(day: date, zone: ZoneInfo) -> datetime:
    return utc_naive(datetime.combine(day, time(0), zone))


Buckets = dict[datetime, dict[tuple[str, str], int]]


def _buckets(session: Session, site: str, start: datetime, end: datetime) -> Buckets:
    """UTC hour -> (metric, key) -> the sum over the site's devices, for [start, end)."""
    rows = session.execute(
        select(HourlyStat.hour, HourlyStat.metric, HourlyStat.key, func.sum(HourlyStat.count))
        .where(HourlyStat.site == site, HourlyStat.hour >= start, HourlyStat.hour < end)
        .group_by(HourlyStat.hour, HourlyStat.metric, HourlyStat.key)
    )
    out: Buckets = defaultdict(dict)
    for hour, metric, key, total in rows:
        out[hour][(metric, key)] = int(total)
    return out


def _render(first: list[str], rows: list[tuple[list[str], dict[tuple[str, str], int]]]) -> bytes:
    bins = sorted({key for _, counts in rows for (metric, key) in counts if metric == "sorted"})
    headers = [*first, *(title for _, title in COLUMNS), *(_bin_header(b) for b in bins)]
    totals: dict[tuple[str, str], int] = defaultdict(int)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(headers)
    for lead, counts in rows:
        cells = [counts.get((metric, ""), 0) for metric, _ in COLUMNS]
        cells += [counts.get(("sorted", b), 0) for b in bins]
        for key, value in counts.items():
            totals[key] += value
        writer.writerow([*lead, *cells])
    total_cells = [totals.get((metric, ""), 0) for metric, _ in COLUMNS]
    total_cells += [totals.get(("sorted", b), 0) for b in bins]
    writer.writerow(
        [rows[0][0][0] if rows else "", TOTAL, *([""] * (len(first) - 2)), *total_cells]
    )
    return (BOM + buffer.getvalue()).encode("utf-8")


def day_csv(session: Session, site: str, day: date, zone: ZoneInfo) -> bytes:
    """The site's statistics for its local ``day``, a row per local hour (0-23)."""
    start = _local_midnight_utc(day, zone)
    end = _local_midnight_utc(day + timedelta(days=1), zone)
    buckets = _buckets(session, site, start, end)
    per_hour: dict[int, dict[tuple[str, str], int]] = defaultdict(dict)
    for hour, counts in buckets.items():
        local = hour.replace(tzinfo=UTC).astimezone(zone).hour
        for key, value in counts.items():
            per_hour[local][key] = per_hour[local].get(key, 0) + value
    label = day.strftime("%d/%m/%Y")
    rows = [([site, label, f"{h:02d}:00"], per_hour.get(h, {})) for h in range(24)]
    return _render([SITE, DATE, HOUR], rows)


def month_csv(session: Session, site: str, year: int, month: int, zone: ZoneInfo) -> bytes:
    """The site's statistics for a local month, a row per day."""
    first = date(year, month, 1)
    after = date(year + (month == 12), month % 12 + 1, 1)
    buckets = _buckets(
        session, site, _local_midnight_utc(first, zone), _local_midnight_utc(after, zone)
    )
    per_day: dict[date, dict[tuple[str, str], int]] = defaultdict(dict)
    for hour, counts in buckets.items():
        local = hour.replace(tzinfo=UTC).astimezone(zone).date()
        for key, value in counts.items():
            per_day[local][key] = per_day[local].get(key, 0) + value
    days = [first + timedelta(days=n) for n in range((after - first).days)]
    rows = [([site, d.strftime("%d/%m/%Y")], per_day.get(d, {})) for d in days]
    return _render([SITE, DATE], rows)
