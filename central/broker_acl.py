"""The broker's ACL, made from central's device list: a mosquitto acl_file or dynamic-security JSON.

The shipped config/mosquitto/muontra.acl works for any fleet through ``%u``
patterns, but it lets every login that exists act as a device, under any site.
Made from the list of devices central knows — those configured in
``[central.broker] devices`` and those it has heard (the ``devices`` table), with
their role — the ACL names each login and what it may do, and nothing else:

- a device writes its state, events, telemetry and results under its own site and
  id only, and reads only its own commands; a gate also reads its own site's
  checkout, checkin and error events (its ``trusted_devices`` then choose whom to
  believe);
- central reads the fleet's tree and is the only login that writes commands, to
  the listed devices only (and Home Assistant's discovery, when that is on);
- staff tools (``muontra events``) read events and states; Home Assistant reads
  what it shows and its own tree;
- any other login, and any device not listed, may do nothing.

A device heard but never configured gets its role from the events stored for it
(an alarm: a gate; a sorted item: a return machine; a checkout: a kiosk) or none,
which gives it a device's own topics only: configure gates, so that a new gate
reads its kiosks' events before it has raised an alarm. A device heard under two
sites is not guessed at: it must be configured with its site.

The dynamic-security form holds the same grants as one role per login. The plugin
keeps passwords in the same file, so :func:`dynsec_config` carries over the password
of every login it writes from the existing file, and keeps clients and roles it
did not make (the plugin's admin); logins it made before and no longer lists are
dropped. Set new logins' passwords with ``mosquitto_ctrl dynsec setClientPassword``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.models import Device, Event
from protocols.mqtt.topics import SCHEMA, TopicError, check_level, check_prefix

__all__ = [
    "Account",
    "BrokerSection",
    "FleetDevice",
    "Grant",
    "Role",
    "accounts",
    "acl_file",
    "devices_from_store",
    "dynsec_config",
    "fleet",
]

GATE_READS = ("checkout", "checkin", "error")
"""The site events a gate listens to (gates/cli.py)."""

MADE_BY = "muontra central acl"
"""The ``textname`` of every dynsec client and role this module writes: what it may replace."""

_ROLE_OF_KIND = {
    "alarm": "gate",
    "people": "gate",
    "item_sorted": "sorter",
    "sort_exception": "sorter",
    "bin_full": "sorter",
    "bin_emptied": "sorter",
    "checkout": "kiosk",
    "renew": "kiosk",
}


class Role(StrEnum):
    KIOSK = "kiosk"
    GATE = "gate"
    SORTER = "sorter"


def _level(value: str, what: str) -> str:
    try:
        return check_level(value, what)
    except TopicError as error:
        raise ValueError(str(error)) from None


class DeviceEntry(BaseModel):
    """One configured device: ``{site = "VN-HN0001", id = "gate-01", role = "gate"}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    site: str = Field(description="The device's [device] site.")
    id: str = Field(description="The device's [device] id, which is also its broker login.")
    role: Role = Field(description="kiosk, gate or sorter.")

    @field_validator("site", "id")
    @classmethod
    def _clean(cls, value: str) -> str:
        return _level(value, "device id or site")


class BrokerSection(BaseModel):
    """``[central.broker]``: the logins `muontra central acl` writes the broker's ACL for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    devices: list[DeviceEntry] = Field(
        default_factory=list,
        description="Devices to let in before central has heard them (and the role of each; "
        "a configured role wins over the one guessed from events).",
    )
    staff_users: list[str] = Field(
        default_factory=lambda: ["muontra_staff"],
        description="Logins of staff tools (`muontra events`): they read events and states.",
    )
    homeassistant_user: str = Field(
        "homeassistant",
        description="Home Assistant's login, when [central.homeassistant] is enabled.",
    )

    @field_validator("staff_users")
    @classmethod
    def _users(cls, value: list[str]) -> list[str]:
        return [_level(user, "login") for user in value]

    @field_validator("homeassistant_user")
    @classmethod
    def _user(cls, value: str) -> str:
        return _level(value, "login")


@dataclass(frozen=True, slots=True)
class FleetDevice:
    site: str
    device: str
    role: Role | None = None


@dataclass(frozen=True, slots=True)
class Grant:
    access: Literal["read", "write", "readwrite"]
    topic: str


@dataclass(frozen=True, slots=True)
class Account:
    """One broker login and everything it may do."""

    user: str
    what: str
    """A comment: who this login is."""
    grants: tuple[Grant, ...]


def devices_from_store(session: Session) -> list[FleetDevice]:
    """Every device central has heard, with the role its stored events show (or None)."""
    roles: dict[tuple[str, str], set[str]] = {}
    for site, device in session.execute(select(Device.site, Device.device)):
        roles.setdefault((site, device), set())
    found = session.execute(
        select(Event.site, Event.device, Event.kind)
        .where(Event.kind.in_(sorted(_ROLE_OF_KIND)))
        .distinct()
    )
    for site, device, kind in found:
        roles.setdefault((site, device), set()).add(_ROLE_OF_KIND[kind])
    out = []
    for (site, device), seen in sorted(roles.items()):
        # A sorter checks items in too; a gate never checks out. One role each, most telling first.
        role = next((Role(r) for r in ("gate", "sorter", "kiosk") if r in seen), None)
        out.append(FleetDevice(site, device, role))
    return out


def fleet(configured: Iterable[DeviceEntry], seen: Iterable[FleetDevice]) -> list[FleetDevice]:
    """The configured devices and the heard ones, one entry per id; the configured entry wins.

    A device id is its broker login, so it has one site. One heard under two sites
    (moved, or posing under another site while the broker allowed it) is not
    guessed at: ValueError, until it is configured with its site.
    """
    by_id: dict[str, FleetDevice] = {
        entry.id: FleetDevice(entry.site, entry.id, entry.role) for entry in configured
    }
    heard: dict[str, FleetDevice] = {}
    for device in seen:
        if device.device in by_id:
            continue
        other = heard.setdefault(device.device, device)
        if other.site != device.site:
            raise ValueError(
                f"device {device.device} was heard under sites {other.site} and {device.site}: "
                "list it in [central.broker] devices with its site"
            )
    return sorted([*by_id.values(), *heard.values()], key=lambda d: (d.site, d.device))


def _device(prefix: str, device: FleetDevice) -> Account:
    base = f"{prefix}/{SCHEMA}/{device.site}/{device.device}"
    grants = [
        Grant("write", f"{base}/state"),
        Grant("write", f"{base}/events/+"),
        Grant("write", f"{base}/telemetry"),
        Grant("write", f"{base}/results/+"),
        Grant("read", f"{base}/commands/+"),
    ]
    if device.role is Role.GATE:
        site = f"{prefix}/{SCHEMA}/{device.site}"
        grants += [Grant("read", f"{site}/+/events/{kind}") for kind in GATE_READS]
    role = device.role.value if device.role is not None else "role not known yet"
    return Account(device.device, f"{device.site} {role}", tuple(grants))


def accounts(
    devices: Iterable[FleetDevice],
    *,
    prefix: str,
    central_user: str,
    staff_users: Iterable[str] = ("muontra_staff",),
    homeassistant: tuple[str, str] | None = None,
    broker_log: str | None = None,
) -> list[Account]:
    """Every login and its grants; ``homeassistant`` is (login, discovery prefix) when on,
    ``broker_log`` the ``$SYS`` log topic central reads refused logins from when that is on."""
    check_prefix(prefix)
    listed = list(devices)
    tree = f"{prefix}/{SCHEMA}"
    central = [Grant("read", f"{tree}/#")]
    central += [Grant("write", f"{tree}/{d.site}/{d.device}/commands/+") for d in listed]
    if homeassistant is not None:
        _user, discovery = homeassistant
        central += [
            Grant("write", f"{discovery}/+/+/+/config"),
            Grant("read", f"{discovery}/status"),
            Grant("write", f"{prefix}/central/#"),
        ]
    if broker_log is not None:
        central.append(Grant("read", broker_log))
    out = [Account(_level(central_user, "login"), "central monitoring", tuple(central))]
    for user in staff_users:
        staff_reads = (f"{tree}/+/+/events/#", f"{tree}/+/+/state")
        out.append(Account(user, "staff tool", tuple(Grant("read", t) for t in staff_reads)))
    if homeassistant is not None:
        user, discovery = homeassistant
        reads = (
            f"{tree}/+/+/state",
            f"{tree}/+/+/telemetry",
            f"{tree}/+/+/events/alarm",
            f"{prefix}/central/#",
        )
        grants = (*(Grant("read", t) for t in reads), Grant("readwrite", f"{discovery}/#"))
        out.append(Account(user, "Home Assistant, commands nothing", grants))
    taken = {account.user for account in out}
    for device in listed:
        if device.device in taken:
            raise ValueError(f"device id {device.device!r} is also a login of central or staff")
        taken.add(device.device)
        out.append(_device(prefix, device))
    return out


def acl_file(logins: Iterable[Account]) -> str:
    """The mosquitto ``acl_file`` text: a ``user`` block per login and no pattern."""
    lines = [
        f"# Written by `{MADE_BY}` from central's device list; regenerate, do not edit.",
        "# Logins not named here may do nothing. mosquitto re-reads this file on SIGHUP.",
    ]
    for account in logins:
        lines += ["", f"# {account.what}", f"user {account.user}"]
        lines += [f"topic {grant.access} {grant.topic}" for grant in account.grants]
    return "\n".join(lines) + "\n"


def _dynsec_acls(grants: Iterable[Grant]) -> list[dict[str, Any]]:
    acls: list[dict[str, Any]] = []
    for grant in grants:
        if grant.access in ("write", "readwrite"):
            acls.append({"acltype": "publishClientSend", "topic": grant.topic, "allow": True})
        if grant.access in ("read", "readwrite"):
            acls.append({"acltype": "subscribePattern", "topic": grant.topic, "allow": True})
            acls.append({"acltype": "publishClientReceive", "topic": grant.topic, "allow": True})
    return [{**acl, "priority": 0} for acl in acls]


def dynsec_config(
    logins: Iterable[Account], existing: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The dynamic-security plugin's JSON: one client and one role per login.

    Everything is denied by default (receiving too, so that a grant to subscribe is
    also needed to be sent anything). From ``existing`` (the file as it is) the
    password of each login is kept, and clients and roles not made here are kept.
    """
    old = existing or {}
    old_clients = {c.get("username"): c for c in old.get("clients", []) if isinstance(c, dict)}
    mine = [
        {"username": a.user, "textname": MADE_BY, "roles": [{"rolename": f"muontra-{a.user}"}]}
        for a in logins
    ]
    names = {client["username"] for client in mine}
    for client in mine:
        previous = old_clients.get(client["username"], {})
        for field in ("password", "salt", "iterations"):
            if field in previous:
                client[field] = previous[field]
    roles = [
        {"rolename": f"muontra-{a.user}", "textname": MADE_BY, "acls": _dynsec_acls(a.grants)}
        for a in logins
    ]
    role_names = {role["rolename"] for role in roles}
    kept_clients = [
        c
        for c in old.get("clients", [])
        if isinstance(c, dict) and c.get("textname") != MADE_BY and c.get("username") not in names
    ]
    kept_roles = [
        r
        for r in old.get("roles", [])
        if isinstance(r, dict)
        and r.get("textname") != MADE_BY
        and r.get("rolename") not in role_names
    ]
    return {
        "defaultACLAccess": {
            "publishClientSend": False,
            "publishClientReceive": False,
            "subscribe": False,
            "unsubscribe": True,
        },
        "clients": kept_clients + mine,
        "groups": old.get("groups", []),
        "roles": kept_roles + roles,
    }
