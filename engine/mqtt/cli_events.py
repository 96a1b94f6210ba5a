"""`muontra events`: a site's live events from MQTT, for a person at the desk or a script.

It is the simplest staff alarm view there is: a terminal that prints
"BÁO ĐỘNG / ALARM at gate …" the moment a gate alarms, and the presence of each
device. ``--json`` prints one JSON object a line for scripts. QoS 1 delivers at
least once, so repeated payload ids are dropped here, as every consumer must.
The password comes from an environment variable, never from the command line
(where every user of the machine could read it in the process list).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import ssl
import sys
import threading
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from engine.mqtt.paho_loop import stop_loop
from protocols.mqtt import payloads, topics
from protocols.mqtt.payloads import Event, PayloadError, State
from protocols.mqtt.topics import Channel, TopicError

_SEEN = 10_000

LABELS = {
    "alarm": "BÁO ĐỘNG / ALARM",
    "checkout": "Mượn / Checkout",
    "checkin": "Trả / Return",
    "renew": "Gia hạn / Renewal",
    "people": "Lượt người / People",
    "error": "Lỗi / Error",
    "device": "Thiết bị / Device",
    "item_sorted": "Đã phân loại / Sorted",
    "sort_exception": "Thùng ngoại lệ / Exception bin",
    "bin_full": "THÙNG ĐẦY / BIN FULL",
    "bin_emptied": "Đã làm trống thùng / Bin emptied",
    "belt_stopped": "BĂNG TẢI DỪNG / BELT STOPPED",
    "plc_lost": "MẤT KẾT NỐI PLC / PLC LOST",
    "plc_back": "PLC đã kết nối lại / PLC back",
    "intake_closed": "NGỪNG NHẬN TÀI LIỆU / INTAKE CLOSED",
    "intake_opened": "Nhận tài liệu trở lại / Intake open",
}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--broker",
        required=True,
        help="the broker: mqtts://user@host:8883 (TLS) or mqtt://user@host:1883",
    )
    parser.add_argument("--site", help="only this site (e.g. VN-HN0001); default: every site")
    parser.add_argument("--prefix", default="muontra", help="topic prefix (default: muontra)")
    parser.add_argument("--json", action="store_true", help="one JSON object a line")
    parser.add_argument("--ca", help="PEM file of the broker's CA (default: the system's CAs)")
    parser.add_argument(
        "--password-env",
        default="MUONTRA_MQTT_PASSWORD",
        metavar="VAR",
        help="environment variable holding the password (default: MUONTRA_MQTT_PASSWORD)",
    )
    parser.add_argument("--count", type=int, metavar="N", help="exit after N events")
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="exit after this long (status 1 if --count was not reached)",
    )


def _local_time(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%H:%M:%S")
    except ValueError:
        return iso


def describe_event(event: Event) -> str:
    """One line for a person, Vietnamese / English."""
    data: dict[str, Any] = dict(event.data)
    where = f"{event.envelope.site}/{event.envelope.device}"
    label = LABELS.get(event.kind, event.kind)
    item = ""
    if data.get("item_id"):
        item = f" item {data['item_id']}"
        if data.get("title"):
            item += f" «{data['title']}»"
    if event.kind == "alarm":
        gate = data.get("gate") or event.envelope.device
        direction = f" ({data['direction']})" if data.get("direction") else ""
        text = f"{label} at gate {gate}:{item or ' unknown item'}{direction}"
    elif event.kind == "people":
        counts = data.get("counts")
        if isinstance(counts, dict):
            numbers = ", ".join(f"{k} {v}" for k, v in counts.items())
        else:
            numbers = str(data.get("count", "?"))
        text = f"{label} at gate {data.get('gate') or event.envelope.device}: {numbers}"
    elif event.kind == "device":
        detail = f" ({data['detail']})" if data.get("detail") else ""
        text = f"{label}: {data.get('part', '?')} {data.get('state', '?')}{detail}"
    elif event.kind == "error":
        text = f"{label}: {data.get('reason', '?')}{item}"
    elif event.kind in ("item_sorted", "sort_exception"):
        to = f" → {data['destination']}" if data.get("destination") else ""
        reason = f" [{data.get('reason', '?')}]"
        text = f"{label}:{item or ' unread item'} bin {data.get('bin', '?')}{reason}{to}"
    elif event.kind in ("bin_full", "bin_emptied"):
        staff = f" by {data['staff']}" if data.get("staff") else ""
        text = f"{label}: bin {data.get('bin', '?')}, {data.get('count', '?')} item(s){staff}"
    elif event.kind in ("belt_stopped", "plc_lost", "intake_closed"):
        text = f"{label}" + (f": {data['why']}" if data.get("why") else "")
    elif event.kind == "plc_back":
        down = data.get("down_s")
        text = f"{label}" + (f" after {down:.0f} s" if isinstance(down, int | float) else "")
    elif event.kind == "intake_opened":
        text = label
    else:
        due = f", due {data['due_date']}" if data.get("due_date") else ""
        outcome = f" [{data['outcome']}]" if data.get("outcome") else ""
        offline = " (offline)" if data.get("offline") else ""
        text = f"{label}:{item}{due}{outcome}{offline}"
    return f"{_local_time(event.envelope.time)}  {where}  {text}"


def describe_state(state: State) -> str:
    word = "trực tuyến / online" if state.state == "online" else "MẤT KẾT NỐI / OFFLINE"
    env = state.envelope
    return (
        f"{_local_time(env.time)}  {env.site}/{env.device}  {word} "
        f"(since {_local_time(state.since)}, version {state.version})"
    )


class _Watcher:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.filters = [
            topics.events_filter(args.prefix, args.site),
            topics.state_filter(args.prefix, args.site),
        ]
        self.seen: collections.OrderedDict[str, None] = collections.OrderedDict()
        self.events = 0
        self.done = threading.Event()
        self.error: str | None = None

    def on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            self.error = f"the broker refused the connection: {reason}"
            self.done.set()
            return
        client.subscribe([(f, 1) for f in self.filters])

    def on_subscribe(self, _c: mqtt.Client, _u: Any, _mid: int, reasons: Any, _p: Any) -> None:
        if any(r.is_failure for r in reasons):
            self.error = "the broker refused the subscription (not authorised?)"
            self.done.set()
            return
        print(
            f"muontra events: subscribed to {', '.join(self.filters)}", file=sys.stderr, flush=True
        )

    def on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        try:
            where = topics.parse_topic(message.topic, self.args.prefix)
            value = payloads.decode_for(where.channel, where.name, bytes(message.payload))
        except (TopicError, PayloadError, UnicodeDecodeError) as error:
            print(f"muontra events: skipped a malformed message: {error}", file=sys.stderr)
            return
        msg_id = value.envelope.id
        if msg_id in self.seen:
            return
        self.seen[msg_id] = None
        while len(self.seen) > _SEEN:
            self.seen.popitem(last=False)
        if self.args.json:
            print(
                json.dumps({"topic": message.topic, **payloads.as_dict(value)}, ensure_ascii=False),
                flush=True,
            )
        elif isinstance(value, Event):
            print(describe_event(value), flush=True)
        elif isinstance(value, State):
            print(describe_state(value), flush=True)
        if where.channel is Channel.EVENTS:
            self.events += 1
            if self.args.count is not None and self.events >= self.args.count:
                self.done.set()


def run(args: argparse.Namespace) -> int:
    url = urlsplit(args.broker)
    if url.scheme not in ("mqtt", "mqtts") or not url.hostname:
        print("--broker must look like mqtts://user@host:8883", file=sys.stderr)
        return 2
    if url.password is not None:
        print(f"put the password in ${args.password_env}, not in --broker", file=sys.stderr)
        return 2
    tls = url.scheme == "mqtts"
    try:
        port = url.port or (8883 if tls else 1883)
        for level in filter(None, [args.site]):
            topics.check_level(level, "site")
        topics.check_prefix(args.prefix)
    except ValueError as error:
        print(f"muontra events: {error}", file=sys.stderr)
        return 2
    watcher = _Watcher(args)
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"muontra-events-{uuid.uuid4().hex[:12]}"
    )
    if tls:
        client.tls_set(ca_certs=args.ca, cert_reqs=ssl.CERT_REQUIRED)
    if url.username:
        client.username_pw_set(url.username, os.environ.get(args.password_env))
    client.on_connect = watcher.on_connect
    client.on_subscribe = watcher.on_subscribe
    client.on_message = watcher.on_message
    try:
        client.connect(url.hostname, port, keepalive=30)
    except (OSError, ssl.SSLError) as error:
        print(f"muontra events: cannot reach {url.hostname}:{port}: {error}", file=sys.stderr)
        return 1
    client.loop_start()
    try:
        finished = watcher.done.wait(args.timeout)
    except KeyboardInterrupt:
        finished = True
    finally:
        client.disconnect()
        stop_loop(client)
    if watcher.error:
        print(f"muontra events: {watcher.error}", file=sys.stderr)
        return 1
    if not finished and args.count is not None:
        print(
            f"muontra events: {watcher.events} of {args.count} events before the timeout",
            file=sys.stderr,
        )
        return 1
    return 0
