"""A stand-in for the sorter's local API, speaking the contract of briefs/sorter-api.md.

The real sorter service is being written beside the screen, so the screen's
tests talk to this: engine/jsonlines.py's own server on a Unix socket, a
command table answering as the contract says, and an event bus the test
publishes on (``drop_item``, ``set_state``). Everything the screen sends is
recorded in ``calls``, so a test asserts what a touch did on the wire.
"""

from __future__ import annotations

import contextlib
import io
import socket
import threading
import uuid
from pathlib import Path
from typing import Any

import segno

from engine.events import EventBus
from engine.jsonlines import JsonLinesServer, Refusal

RETURNED = {"vi": "Đã nhận — cảm ơn", "en": "Returned — thank you"}


def default_bins() -> list[dict[str, Any]]:
    def b(ident: str, vi: str, en: str, count: int, capacity: int, role: str) -> dict[str, Any]:
        return {
            "id": ident,
            "name": {"vi": vi, "en": en},
            "count": count,
            "capacity": capacity,
            "full": count >= capacity,
            "role": role,
        }

    return [
        b("1", "Thùng 1 — Giá chung", "Bin 1 — General", 12, 80, "normal"),
        b("2", "Thùng 2 — Thiếu nhi", "Bin 2 — Children", 74, 80, "normal"),
        b("3", "Thùng 3 — Đặt giữ", "Bin 3 — Holds", 5, 40, "hold"),
        b("4", "Thùng 4 — Luân chuyển", "Bin 4 — Transit", 40, 40, "transit"),
        b("5", "Thùng 5 — Dự phòng", "Bin 5 — Overflow", 0, 80, "overflow"),
        b("E", "Thùng ngoại lệ", "Exception bin", 3, 60, "exception"),
    ]


def refuse(code: str, vi: str, en: str) -> Refusal:
    refusal = Refusal(code)
    refusal.message = {"code": code, "vi": vi, "en": en}
    return refusal


class FakeSorter:
    """The sorter's state as the API shows it, and the commands that read and change it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.bus = EventBus()
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.state = "running"
        self.belt = "running"
        self.link = "ok"
        self.intake_open = True
        self.ils_online = True
        self.queue = 0
        self.language = "vi"
        self.bins = default_bins()
        self.drop: dict[str, Any] | None = None
        self.drop_items: list[dict[str, Any]] = []
        self.ended: dict[str, list[dict[str, Any]]] = {}
        self.exception_list: list[dict[str, Any]] = []
        self.report_lines: list[dict[str, Any]] = []
        self.printer_works = True

    # --- what a test does ---------------------------------------------------------------------

    def drop_item(
        self,
        item_id: str,
        title: str | None,
        *,
        bin: str = "1",
        reason: str | None = None,
        text: dict[str, str] | None = None,
        ils_message: str | None = None,
    ) -> None:
        """An item passes the reader and is diverted: the item event, then the bins."""
        with self.lock:
            event = {
                "item_id": item_id,
                "title": title,
                "outcome": "exception" if reason else "sorted",
                "bin": bin,
                "reason": reason,
                "text": text or RETURNED,
                "ils_message": ils_message,
            }
            self.drop_items.append(event)
            if self.drop is not None:
                self.drop["items"] = len(self.drop_items)
            for entry in self.bins:
                if entry["id"] == bin:
                    entry["count"] += 1
                    entry["full"] = entry["count"] >= entry["capacity"]
            bins = [dict(b) for b in self.bins]
        self.bus.publish("item", **event)
        self.bus.publish("bins", bins=bins)

    def set_state(self, **values: Any) -> None:
        with self.lock:
            for key, value in values.items():
                setattr(self, key, value)
            subset = {key: getattr(self, key) for key in values}
        self.bus.publish("state", **subset)

    # --- the commands -----------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        with self.lock:
            return {
                "state": self.state,
                "belt": self.belt,
                "intake_open": self.intake_open,
                "link": self.link,
                "ils_online": self.ils_online,
                "queue": self.queue,
                "drop": dict(self.drop) if self.drop else None,
                "bins": [dict(b) for b in self.bins],
                "language": self.language,
            }

    def drop_begin(self) -> dict[str, Any]:
        with self.lock:
            self.drop = {"id": uuid.uuid4().hex[:8], "items": 0}
            self.drop_items = []
            return {"drop": self.drop["id"]}

    def drop_end(self, args: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            if self.drop is None or args.get("drop", self.drop["id"]) != self.drop["id"]:
                raise refuse("no_drop", "Không có lượt trả nào", "No drop is open")
            ident, items = self.drop["id"], self.drop_items
            self.ended[ident] = items
            self.drop, self.drop_items = None, []
            return {"drop": ident, "items": items}

    def receipt(self, args: dict[str, Any]) -> dict[str, Any]:
        ident, how = str(args["drop"]), str(args["how"])
        with self.lock:
            if ident not in self.ended:
                raise refuse("no_drop", "Không có lượt trả này", "No such drop")
            items = self.ended[ident]
        lines = [f"{i['item_id']} {i['title'] or ''}" for i in items]
        if how == "qr":
            out = io.BytesIO()
            segno.make("\n".join(lines) or "-", error="m").save(out, kind="svg", scale=4)
            return {"method": "qr", "payload": "\n".join(lines), "svg": out.getvalue().decode()}
        if how == "print" and not self.printer_works:
            return {"method": how, "delivered": False, "message": "printer out of paper"}
        if how == "email" and "@" not in str(args.get("email") or ""):
            return {"method": how, "delivered": False, "message": "no e-mail address"}
        return {"method": how, "delivered": True}

    def empty_bin(self, args: dict[str, Any]) -> dict[str, Any]:
        ident = str(args["bin"])
        with self.lock:
            for entry in self.bins:
                if entry["id"] == ident:
                    count, entry["count"], entry["full"] = entry["count"], 0, False
                    break
            else:
                raise refuse("no_bin", "Không có thùng này", "No such bin")
            bins = [dict(b) for b in self.bins]
        self.bus.publish("bins", bins=bins)
        return {
            "bin": ident,
            "items": count,
            "manifest": f"/var/lib/muontra/manifests/bin-{ident}.csv",
            "printed": self.printer_works,
        }

    def pause(self, paused: bool) -> dict[str, Any]:
        self.set_state(
            state="paused" if paused else "running",
            belt="stopped" if paused else "running",
            intake_open=not paused,
        )
        return self.status()


def commands() -> dict[str, Any]:
    def recorded(name: str, call: Any) -> Any:
        def command(sorter: FakeSorter, args: dict[str, Any]) -> Any:
            sorter.calls.append((name, dict(args)))
            return call(sorter, args)

        return command

    table = {
        "ping": lambda s, a: {"pong": True},
        "status": lambda s, a: s.status(),
        "exceptions": lambda s, a: {"items": s.exception_list[: int(a.get("limit") or 50)]},
        "staff_report": lambda s, a: {"lines": s.report_lines},
        "empty_bin": lambda s, a: s.empty_bin(a),
        "drop_begin": lambda s, a: s.drop_begin(),
        "drop_end": lambda s, a: s.drop_end(a),
        "receipt": lambda s, a: s.receipt(a),
        "language": lambda s, a: s.set_state(language=str(a["lang"])) or {"lang": a["lang"]},
        "pause": lambda s, a: s.pause(True),
        "resume": lambda s, a: s.pause(False),
    }
    return {name: recorded(name, call) for name, call in table.items()}


class _Server(JsonLinesServer):
    """Hangs up on its clients when closed, as a dying process does."""

    def get_request(self) -> Any:
        request = super().get_request()
        self.__dict__.setdefault("accepted", []).append(request[0])
        return request

    def close(self) -> None:
        super().close()
        for conn in self.__dict__.get("accepted", []):
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


def serve(path: Path, sorter: FakeSorter) -> JsonLinesServer:
    server = _Server(path, sorter, sorter.bus, commands(), name="fake-sorter-api")
    server.serve_in_thread()
    return server
