"""A realistic, deterministic catalogue for the ILS simulator.

:func:`seed` fills an empty store with two parts:

1. **Demo fixtures** that never change, so that demos, documentation and
   tests can name them (times are relative to ``now``):

   Institution ``MUONTRA``; branches ``TT`` (Thư viện Trung tâm, the main
   library), ``CG`` (Chi nhánh Cầu Giấy) and ``HK`` (Chi nhánh Hoàn Kiếm).

   ======  =====  =======================  ==============================================
   Patron  PIN    Name                     Situation
   ======  =====  =======================  ==============================================
   P0001   1234   Nguyễn Thị Hương         adult, TT, good standing; has B0010 (due in 7
                                           days) and B0013 (due in 3 days, no renewals
                                           left); item hold on B0009, pickup TT
   P0002   2345   Trần Văn Minh            card reported lost (blocked by staff)
   P0003   3456   Lê Hoàng Anh             student; owes 75.000 VND (60.000 overdue fine,
                                           15.000 damage): over the fine limit
   P0004   4567   Phạm Minh Châu           child, loan limit 3, at the limit: B0008
                                           (10 days overdue), B0009 and B0011 (due in 5)
   P0005   5678   Đặng Quốc Bảo            staff, English; B0005 waits for him on the TT
                                           hold shelf; hold on B0011 with pickup at CG
   P0006   6789   Võ Thị Ngọc Ánh          blocked by a kiosk (patron enable lifts it)
   ======  =====  =======================  ==============================================

   ======  ==================================================================
   Item    What it shows
   ======  ==================================================================
   B0001   Truyện Kiều, Nguyễn Du: available book at TT
   B0002   Số đỏ, Vũ Trọng Phụng: available book at TT
   B0003   Dế Mèn phiêu lưu ký, Tô Hoài: available; title stored **NFD**
           (as Evergreen sends it) to catch codecs that normalise
   B0004   Nhật ký Đặng Thùy Trâm: belongs to CG, sits at TT; a checkin at
           TT sends it in transit to CG (alert 04)
   B0005   Tắt đèn: on the TT hold shelf for P0005 (status 08)
   B0006   Tiếng Anh giao tiếp hằng ngày: book with CD, 2 parts
   B0007   Tạp chí Tia Sáng: magazine (7-day loan)
   B0008   Bỉ vỏ: on loan to P0004, 10 days overdue (checkin charges a fine)
   B0009   Chí Phèo: on loan to P0004; P0001 holds it at TT (checkin at TT:
           alert 01, hold shelf)
   B0010   Vợ nhặt: on loan to P0001, renewable
   B0011   Lão Hạc: on loan to P0004; P0005 holds it with pickup at CG
           (checkin at TT: alert 02, destination CG)
   B0012   Đất rừng phương Nam: lost (status 12)
   B0013   The Great Gatsby: on loan to P0001, renewal limit reached
   B0014   Mùi đu đủ xanh: video tape with a 10.000 VND loan fee
   B0015   Harry Potter và Hòn đá Phù thủy: copy at TT, same title as B0016
   B0016   Harry Potter và Hòn đá Phù thủy: copy at CG
   B0017   Từ điển Việt – Anh: 3-volume set
   B0018   Nhạc Trịnh Công Sơn tuyển chọn: CD (sorts to bin 2 at TT)
   B0019   Tiếng Việt cho người nước ngoài: book with audio tape (magnetic)
   B0020   Pride and Prejudice: available at HK
   ======  ==================================================================

   Sort bins at every branch: 1 shelf, 2 CDs and video, 3 magazines, 4 hold
   shelf, 5 transit.

2. **Generated data**: ``n`` items and ``max(20, n // 5)`` patrons drawn with
   ``random.Random(rng_seed)`` from the word lists in ``data/``: Vietnamese
   and English titles with DDC-like call numbers, every SIP2 media type, a
   few multi-part sets, patrons with Vietnamese names (a few blocked or
   with fines), loans (some overdue) and holds. Item barcodes are 14 digits
   starting with 3, patron barcodes 14 digits starting with 2. The same
   ``n``, ``rng_seed`` and ``now`` always give the same database.
"""

from __future__ import annotations

import functools
import logging
import random
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ilssim.circulation import Policy
from ilssim.models import (
    BlockSource,
    Branch,
    Fee,
    Hold,
    HoldStatus,
    Institution,
    Item,
    Loan,
    Patron,
    PatronType,
    SortBinRule,
    SortPurpose,
)
from ilssim.store import Store
from protocols.sip2.codes import CirculationStatus, FeeType, MediaType, SecurityMarker

__all__ = [
    "BRANCHES",
    "DEMO_ITEMS",
    "DEMO_PATRONS",
    "INSTITUTION",
    "SeedSummary",
    "create_branches",
    "seed",
]

log = logging.getLogger(__name__)

_T = TypeVar("_T")

INSTITUTION = ("MUONTRA", "Thư viện Muontra (mô phỏng)")
BRANCHES = (
    ("TT", "Thư viện Trung tâm"),
    ("CG", "Chi nhánh Cầu Giấy"),
    ("HK", "Chi nhánh Hoàn Kiếm"),
)
DEFAULT_LOAN_LIMITS = {
    PatronType.ADULT: 10,
    PatronType.STUDENT: 10,
    PatronType.CHILD: 5,
    PatronType.STAFF: 20,
}

DEMO_PATRONS = ("P0001", "P0002", "P0003", "P0004", "P0005", "P0006")
DEMO_ITEMS = tuple(f"B{i:04d}" for i in range(1, 21))


@dataclass(frozen=True, slots=True)
class SeedSummary:
    """What :func:`seed` created (fixtures included)."""

    patrons: int
    items: int
    loans: int
    overdue_loans: int
    holds: int
    fees: int
    blocked_patrons: int


@functools.cache
def _lines(name: str) -> tuple[str, ...]:
    text = resources.files("ilssim").joinpath("data", name).read_text(encoding="utf-8")
    return tuple(line for line in text.splitlines() if line.strip() and not line.startswith("#"))


def _rows(name: str) -> list[list[str]]:
    return [line.split("\t") for line in _lines(name)]


@functools.cache
def _family_names_ascii() -> frozenset[str]:
    return frozenset(_ascii(name) for name in _lines("vi_family_names.txt"))


def _ascii(text: str) -> str:
    """Drop Vietnamese diacritics (đ → d) for e-mail addresses and cutter numbers."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _cutter(author: str) -> str:
    """A three-letter author mark from the family name, as on Vietnamese spine labels."""
    words = _ascii(author).replace(".", " ").split()
    # Vietnamese names start with the family name; Western ones end with it.
    vietnamese = any(c != a for c, a in zip(author, _ascii(author), strict=False)) or (
        words and words[0] in _family_names_ascii()
    )
    word = (words[0] if vietnamese else words[-1]) if words else "XXX"
    return word[:3].upper()


def create_branches(session: Session) -> None:
    """The institution, its three branches and their sort-bin rules."""
    session.add(Institution(code=INSTITUTION[0], name=INSTITUTION[1]))
    session.flush()
    for code, name in BRANCHES:
        session.add(Branch(code=code, name=name, institution_code=INSTITUTION[0]))
    session.flush()
    for code, _ in BRANCHES:
        session.add_all(
            [
                SortBinRule(branch_code=code, purpose=SortPurpose.RESHELVE, bin="1"),
                SortBinRule(
                    branch_code=code,
                    purpose=SortPurpose.RESHELVE,
                    media_type=MediaType.CD_CDROM,
                    bin="2",
                ),
                SortBinRule(
                    branch_code=code,
                    purpose=SortPurpose.RESHELVE,
                    media_type=MediaType.VIDEO_TAPE,
                    bin="2",
                ),
                SortBinRule(
                    branch_code=code,
                    purpose=SortPurpose.RESHELVE,
                    media_type=MediaType.MAGAZINE,
                    bin="3",
                ),
                SortBinRule(branch_code=code, purpose=SortPurpose.HOLD, bin="4"),
                SortBinRule(branch_code=code, purpose=SortPurpose.TRANSIT, bin="5"),
            ]
        )


def seed(
    store: Store,
    n: int = 1000,
    rng_seed: int = 0,
    *,
    now: datetime | None = None,
    policy: Policy | None = None,
) -> SeedSummary:
    """Fill an empty store with the demo fixtures and ``n`` generated items.

    ``now`` anchors loan and due dates (defaults to the current time); pass
    a fixed value for a reproducible database. Refuses a store that already
    has a catalogue rather than mixing two.
    """
    if n < 0:
        raise ValueError("n must be zero or more")
    now = (now or datetime.now(UTC)).astimezone(UTC)
    policy = policy or Policy()
    with store.write() as session:
        if session.scalar(select(func.count()).select_from(Institution)):
            raise ValueError("the simulator store already has a catalogue; seed an empty one")
        create_branches(session)
        _Fixtures(session, now, policy).create()
        _Generator(session, random.Random(rng_seed), now, policy).create(n)
        session.flush()
        summary = SeedSummary(
            patrons=_count(session, Patron),
            items=_count(session, Item),
            loans=_count(session, Loan),
            overdue_loans=session.scalar(
                select(func.count()).select_from(Loan).where(Loan.due_at < now)
            )
            or 0,
            holds=_count(session, Hold),
            fees=_count(session, Fee),
            blocked_patrons=session.scalar(
                select(func.count()).select_from(Patron).where(Patron.blocked.is_(True))
            )
            or 0,
        )
    log.info("seeded the simulator: %d items, %d patrons", summary.items, summary.patrons)
    return summary


def _count(session: Session, model: type[Patron | Item | Loan | Hold | Fee]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


class _Fixtures:
    """The fixed demo data described in the module docstring."""

    def __init__(self, session: Session, now: datetime, policy: Policy) -> None:
        self.session = session
        self.now = now
        self.policy = policy
        self.patrons: dict[str, Patron] = {}
        self.items: dict[str, Item] = {}

    def _due_in(self, days: int) -> datetime:
        return self.policy.end_of_local_day(self.policy.local_day(self.now) + timedelta(days=days))

    def _patron(
        self,
        barcode: str,
        pin: str,
        name: str,
        patron_type: PatronType,
        home: str = "TT",
        **extra: object,
    ) -> None:
        email = _ascii(name).lower().replace(" ", ".") + "@example.vn"
        patron = Patron(
            barcode=barcode,
            pin=pin,
            name=name,
            email=email,
            patron_type=patron_type,
            loan_limit=DEFAULT_LOAN_LIMITS[patron_type],
            blocked=False,
            card_lost=False,
            language="vi",
            home_branch_code=home,
        )
        for key, value in extra.items():
            setattr(patron, key, value)
        self.session.add(patron)
        self.patrons[barcode] = patron

    def _item(
        self,
        number: int,
        title: str,
        author: str,
        ddc: str,
        *,
        media: MediaType = MediaType.BOOK,
        home: str = "TT",
        bib: str | None = None,
        **extra: object,
    ) -> None:
        barcode = f"B{number:04d}"
        item = Item(
            barcode=barcode,
            bib_id=bib or f"demo{number:04d}",
            title=title,
            author=author,
            media_type=media,
            call_number=f"{ddc} {_cutter(author)}",
            home_branch_code=home,
            current_branch_code=home,
            owner_code=INSTITUTION[0],
            set_parts=1,
            status=CirculationStatus.AVAILABLE,
            security_marker=SecurityMarker.TATTLE_TAPE,
            loan_fee=0,
            properties="",
        )
        for key, value in extra.items():
            setattr(item, key, value)
        self.session.add(item)
        self.items[barcode] = item

    def _loan(self, item: str, patron: str, days_ago: int, due_in: int, renewals: int = 0) -> None:
        self.items[item].status = CirculationStatus.CHARGED
        self.session.add(
            Loan(
                item=self.items[item],
                patron=self.patrons[patron],
                checked_out_at=self.now - timedelta(days=days_ago),
                due_at=self._due_in(due_in),
                renewals=renewals,
                offline=False,
                terminal="seed",
                return_offline=False,
            )
        )

    def create(self) -> None:
        p = self._patron
        p("P0001", "1234", "Nguyễn Thị Hương", PatronType.ADULT)
        p(
            "P0002",
            "2345",
            "Trần Văn Minh",
            PatronType.ADULT,
            "CG",
            blocked=True,
            card_lost=True,
            block_reason="Thẻ đã báo mất / Card reported lost",
            block_source=BlockSource.STAFF,
        )
        p("P0003", "3456", "Lê Hoàng Anh", PatronType.STUDENT, "HK")
        p("P0004", "4567", "Phạm Minh Châu", PatronType.CHILD, loan_limit=3)
        p("P0005", "5678", "Đặng Quốc Bảo", PatronType.STAFF, language="en")
        p(
            "P0006",
            "6789",
            "Võ Thị Ngọc Ánh",
            PatronType.ADULT,
            blocked=True,
            block_reason="Khóa bởi máy tự phục vụ / Blocked by a self-service device",
            block_source=BlockSource.KIOSK,
        )

        i = self._item
        i(1, "Truyện Kiều", "Nguyễn Du", "895.9221")
        i(2, "Số đỏ", "Vũ Trọng Phụng", "895.92233")
        i(3, unicodedata.normalize("NFD", "Dế Mèn phiêu lưu ký"), "Tô Hoài", "895.92233")
        i(4, "Nhật ký Đặng Thùy Trâm", "Đặng Thùy Trâm", "895.92283", home="CG")
        self.items["B0004"].current_branch_code = "TT"
        i(5, "Tắt đèn", "Ngô Tất Tố", "895.92233")
        i(
            6,
            "Tiếng Anh giao tiếp hằng ngày",
            "Trần Mạnh Tường",
            "428.34",
            media=MediaType.BOOK_WITH_CD,
            set_parts=2,
        )
        i(
            7,
            "Tạp chí Tia Sáng, số 12/2024",
            "Bộ Khoa học và Công nghệ",
            "505",
            media=MediaType.MAGAZINE,
        )
        i(8, "Bỉ vỏ", "Nguyên Hồng", "895.92233")
        i(9, "Chí Phèo", "Nam Cao", "895.92233")
        i(10, "Vợ nhặt", "Kim Lân", "895.92233")
        i(11, "Lão Hạc", "Nam Cao", "895.92233")
        i(12, "Đất rừng phương Nam", "Đoàn Giỏi", "895.92233", status=CirculationStatus.LOST)
        i(13, "The Great Gatsby", "F. Scott Fitzgerald", "813.52")
        i(
            14,
            "Mùi đu đủ xanh",
            "Trần Anh Hùng",
            "791.43",
            media=MediaType.VIDEO_TAPE,
            loan_fee=10_000,
        )
        i(15, "Harry Potter và Hòn đá Phù thủy", "J. K. Rowling", "823.914", bib="demo0015")
        i(
            16,
            "Harry Potter và Hòn đá Phù thủy",
            "J. K. Rowling",
            "823.914",
            home="CG",
            bib="demo0015",
        )
        i(17, "Từ điển Việt – Anh", "Viện Ngôn ngữ học", "495.92232", set_parts=3)
        i(
            18,
            "Nhạc Trịnh Công Sơn tuyển chọn",
            "Trịnh Công Sơn",
            "782.42",
            media=MediaType.CD_CDROM,
        )
        i(
            19,
            "Tiếng Việt cho người nước ngoài",
            "Nguyễn Văn Huệ",
            "495.9228",
            media=MediaType.BOOK_WITH_AUDIO_TAPE,
        )
        i(20, "Pride and Prejudice", "Jane Austen", "823.7", home="HK")
        self.session.flush()

        self._loan("B0010", "P0001", days_ago=14, due_in=7)
        self._loan("B0013", "P0001", days_ago=40, due_in=3, renewals=2)
        self._loan("B0008", "P0004", days_ago=31, due_in=-10)
        self._loan("B0009", "P0004", days_ago=9, due_in=5)
        self._loan("B0011", "P0004", days_ago=9, due_in=5)

        b5 = self.items["B0005"]
        b5.status = CirculationStatus.WAITING_ON_HOLD_SHELF
        self.session.add_all(
            [
                Hold(
                    patron=self.patrons["P0005"],
                    bib_id=b5.bib_id,
                    item=b5,
                    item_level=False,
                    pickup_branch_code="TT",
                    status=HoldStatus.READY,
                    placed_at=self.now - timedelta(days=6),
                    ready_at=self.now - timedelta(days=1),
                    ready_until=self._due_in(6),
                ),
                Hold(
                    patron=self.patrons["P0001"],
                    bib_id=self.items["B0009"].bib_id,
                    item=self.items["B0009"],
                    item_level=True,
                    pickup_branch_code="TT",
                    status=HoldStatus.WAITING,
                    placed_at=self.now - timedelta(days=3),
                ),
                Hold(
                    patron=self.patrons["P0005"],
                    bib_id=self.items["B0011"].bib_id,
                    item=self.items["B0011"],
                    item_level=True,
                    pickup_branch_code="CG",
                    status=HoldStatus.WAITING,
                    placed_at=self.now - timedelta(days=2),
                ),
            ]
        )
        p3 = self.patrons["P0003"]
        self.session.add_all(
            [
                Fee(
                    patron=p3,
                    item=self.items["B0002"],
                    fee_type=FeeType.OVERDUE,
                    amount=60_000,
                    paid=0,
                    currency="VND",
                    description="Quá hạn 30 ngày / 30 days overdue: B0002",
                    created_at=self.now - timedelta(days=20),
                ),
                Fee(
                    patron=p3,
                    item=self.items["B0001"],
                    fee_type=FeeType.DAMAGE,
                    amount=15_000,
                    paid=0,
                    currency="VND",
                    description="Hư hỏng bìa / Damaged cover: B0001",
                    created_at=self.now - timedelta(days=5),
                ),
            ]
        )
        self.session.flush()


_MEDIA_WEIGHTS = (
    (MediaType.BOOK, 72),
    (MediaType.MAGAZINE, 6),
    (MediaType.BOUND_JOURNAL, 3),
    (MediaType.CD_CDROM, 5),
    (MediaType.VIDEO_TAPE, 3),
    (MediaType.AUDIO_TAPE, 2),
    (MediaType.BOOK_WITH_CD, 4),
    (MediaType.BOOK_WITH_AUDIO_TAPE, 2),
    (MediaType.BOOK_WITH_DISKETTE, 1),
    (MediaType.DISKETTE, 1),
    (MediaType.OTHER, 1),
)

_PATRON_WEIGHTS = (
    (PatronType.ADULT, 60),
    (PatronType.STUDENT, 25),
    (PatronType.CHILD, 10),
    (PatronType.STAFF, 5),
)

_BLOCK_REASONS = (
    "Chưa trả tài liệu quá hạn lâu ngày / Long-overdue items not returned",
    "Vi phạm nội quy thư viện / Breach of library rules",
    "Thông tin đăng ký chưa xác minh / Registration not verified",
)


class _Generator:
    """Random but reproducible catalogue, patrons and circulation history."""

    def __init__(self, session: Session, rng: random.Random, now: datetime, policy: Policy):
        self.session = session
        self.rng = rng
        self.now = now
        self.policy = policy
        self.family = _lines("vi_family_names.txt")
        self.middle = _lines("vi_middle_names.txt")
        self.given = _lines("vi_given_names.txt")
        self.en_names = _rows("en_names.tsv")
        self.classics = _rows("classic_works.tsv")
        self.vi_subjects = _rows("vi_subjects.tsv")
        self.vi_patterns = _lines("vi_title_patterns.txt")
        self.en_subjects = _rows("en_subjects.tsv")
        self.en_patterns = _lines("en_title_patterns.txt")
        self.branch_codes = [code for code, _ in BRANCHES]

    def _pick(self, weighted: tuple[tuple[_T, int], ...]) -> _T:
        values = [value for value, _ in weighted]
        weights = [weight for _, weight in weighted]
        return self.rng.choices(values, weights)[0]

    def _vi_name(self) -> str:
        family = self.rng.choice(self.family)
        middle = self.rng.choice(self.middle)
        return f"{family} {middle} {self.rng.choice(self.given)}"

    def _work(self) -> tuple[str, str, MediaType | None, str]:
        roll = self.rng.random()
        if roll < 0.25:
            title, author, media, ddc = self.rng.choice(self.classics)
            return title, author, MediaType(media), ddc
        if roll < 0.8:
            subject, ddc = self.rng.choice(self.vi_subjects)
            title = self.rng.choice(self.vi_patterns).format(subject=subject)
            return title, self._vi_name(), None, ddc
        subject, ddc = self.rng.choice(self.en_subjects)
        title = self.rng.choice(self.en_patterns).format(subject=subject)
        first, last = self.rng.choice(self.en_names)
        return title, f"{first} {last}", None, ddc

    def create(self, n: int) -> None:
        patrons = self._patrons(max(20, n // 5) if n else 0)
        items = self._items(n)
        self.session.flush()
        self._circulation(patrons, items)

    def _patrons(self, count: int) -> list[Patron]:
        patrons = []
        for index in range(count):
            name = self._vi_name()
            patron_type = self._pick(_PATRON_WEIGHTS)
            roll = self.rng.random()
            patron = Patron(
                barcode=f"2{index + 1:013d}",
                pin=f"{self.rng.randrange(10_000):04d}",
                name=name,
                email=f"{_ascii(name).lower().replace(' ', '.')}.{index}@example.vn",
                patron_type=patron_type,
                loan_limit=DEFAULT_LOAN_LIMITS[patron_type],
                blocked=roll < 0.04,
                block_reason=self.rng.choice(_BLOCK_REASONS) if roll < 0.04 else None,
                block_source=BlockSource.STAFF if roll < 0.04 else None,
                card_lost=roll < 0.01,
                expires_on=(
                    self.now.date() - timedelta(days=self.rng.randint(1, 200))
                    if 0.04 <= roll < 0.06
                    else date(self.now.year + self.rng.randint(1, 3), 12, 31)
                ),
                language="en" if self.rng.random() < 0.08 else "vi",
                home_branch_code=self.rng.choice(self.branch_codes),
            )
            patrons.append(patron)
        self.session.add_all(patrons)
        return patrons

    def _items(self, count: int) -> list[Item]:
        items: list[Item] = []
        bib_number = 0
        previous: Item | None = None
        for index in range(count):
            if previous is not None and self.rng.random() < 0.2:
                # Another copy of the previous title, often at another branch.
                title, author = previous.title, previous.author
                media, call_number, bib_id = (
                    previous.media_type,
                    previous.call_number,
                    previous.bib_id,
                )
            else:
                bib_number += 1
                title, author, fixed_media, ddc = self._work()
                media = fixed_media or self._pick(_MEDIA_WEIGHTS)
                call_number = f"{ddc} {_cutter(author)}"
                bib_id = f"bib{bib_number:07d}"
            home = self.rng.choice(self.branch_codes)
            roll = self.rng.random()
            status = CirculationStatus.AVAILABLE
            if roll < 0.01:
                status = CirculationStatus.LOST
            elif roll < 0.02:
                status = CirculationStatus.MISSING
            elif roll < 0.03:
                status = CirculationStatus.IN_PROCESS
            parts = 1
            if media in (MediaType.BOOK_WITH_CD, MediaType.BOOK_WITH_AUDIO_TAPE):
                parts = 2
            elif self.rng.random() < 0.02:
                parts = self.rng.randint(2, 4)
            item = Item(
                barcode=f"3{index + 1:013d}",
                bib_id=bib_id,
                title=title,
                author=author,
                media_type=media,
                call_number=call_number,
                home_branch_code=home,
                current_branch_code=home,
                owner_code=INSTITUTION[0],
                set_parts=parts,
                status=status,
                security_marker=SecurityMarker.TATTLE_TAPE,
                loan_fee=10_000 if media is MediaType.VIDEO_TAPE else 0,
                properties="",
            )
            items.append(item)
            previous = item
        self.session.add_all(items)
        return items

    def _circulation(self, patrons: list[Patron], items: list[Item]) -> None:
        if not patrons:
            return
        loans_by_patron: dict[int, int] = {}
        lendable = [item for item in items if item.status is CirculationStatus.AVAILABLE]
        for item in lendable:
            roll = self.rng.random()
            if roll < 0.18:
                patron = self.rng.choice(patrons)
                if loans_by_patron.get(patron.id, 0) >= patron.loan_limit:
                    continue
                loans_by_patron[patron.id] = loans_by_patron.get(patron.id, 0) + 1
                # Most loans are recent; about one in ten is long overdue.
                back = (
                    self.rng.randint(30, 60) if self.rng.random() < 0.1 else self.rng.randint(0, 20)
                )
                start = self.now - timedelta(days=back, minutes=self.rng.randint(0, 600))
                days = self.policy.loan_period(patron.patron_type, item.media_type)
                due = self.policy.end_of_local_day(
                    self.policy.local_day(start) + timedelta(days=days)
                )
                item.status = CirculationStatus.CHARGED
                self.session.add(
                    Loan(
                        item=item,
                        patron=patron,
                        checked_out_at=start,
                        due_at=due,
                        renewals=self.rng.choice((0, 0, 0, 1, 2)),
                        offline=False,
                        terminal="seed",
                        return_offline=False,
                    )
                )
                if self.rng.random() < 0.15:
                    self._hold(item, patron, patrons, HoldStatus.WAITING)
            elif roll < 0.2:
                self._hold(item, None, patrons, HoldStatus.READY)
        for patron in patrons:
            if self.rng.random() < 0.1:
                amount = self.rng.choice((2_000, 6_000, 14_000, 30_000, 60_000))
                fee_type = self._pick(
                    ((FeeType.OVERDUE, 6), (FeeType.DAMAGE, 2), (FeeType.REPLACEMENT, 1))
                )
                self.session.add(
                    Fee(
                        patron_id=patron.id,
                        fee_type=fee_type,
                        amount=amount,
                        paid=0,
                        currency="VND",
                        description="Phí phát sinh / Charge",
                        created_at=self.now - timedelta(days=self.rng.randint(1, 90)),
                    )
                )

    def _hold(
        self, item: Item, borrower: Patron | None, patrons: list[Patron], status: HoldStatus
    ) -> None:
        candidates = [p for p in patrons if p is not borrower and not p.blocked]
        if not candidates:
            return
        patron = self.rng.choice(candidates)
        hold = Hold(
            patron_id=patron.id,
            bib_id=item.bib_id,
            item_id=item.id if status is HoldStatus.READY or self.rng.random() < 0.5 else None,
            item_level=False,
            pickup_branch_code=patron.home_branch_code,
            status=status,
            placed_at=self.now - timedelta(days=self.rng.randint(1, 20)),
        )
        hold.item_level = hold.item_id is not None and status is HoldStatus.WAITING
        if status is HoldStatus.READY:
            item.status = CirculationStatus.WAITING_ON_HOLD_SHELF
            item.current_branch_code = patron.home_branch_code
            hold.ready_at = self.now - timedelta(days=self.rng.randint(0, 3))
            hold.ready_until = self.policy.end_of_local_day(
                self.policy.local_day(self.now) + timedelta(days=self.policy.hold_shelf_days)
            )
        self.session.add(hold)
