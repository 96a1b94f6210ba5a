"""The doctor's checks of the links: the ILS (through the SIP2 doctor) and the MQTT broker."""

from __future__ import annotations

import ssl
import time
from datetime import datetime

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from engine.config.model import DeviceConfig, SecretError
from engine.doctor.findings import Finding, fail, ok, warn
from engine.ils.cli_doctor import Doctor
from protocols.sip2 import ACSStatusResponse, SIP2Error, decode

CONNECT_TIMEOUT = 10.0


def check_ils(config: DeviceConfig) -> tuple[list[Finding], datetime | None]:
    """Connect, log in and ask SC status, as ``muontra sip2 doctor URL`` does.

    Also returns the ILS's date from its SC status answer, for the clock check.
    """
    try:
        settings = config.ils.settings()
    except (SecretError, ValueError) as error:
        return [
            fail(
                "ils",
                f"ils: {error}",
                "Sửa [ils] hoặc mật khẩu của nó (password_env / password_file).",
                "Fix [ils] or its password (password_env / password_file).",
            )
        ], None
    if settings.simulated:
        return [
            warn(
                "ils",
                f"{settings.display()} is the built-in simulator, not the library's ILS",
                "Đặt ils.url là địa chỉ SIP2 của thư viện (docs/sip2.md).",
                "Set ils.url to the library's SIP2 address (docs/sip2.md).",
            )
        ], None
    said: list[str] = []
    doctor = Doctor(settings, said.append)
    usable = doctor.run(None, None, None)
    ils_time: datetime | None = None
    last = doctor.steps[-1] if doctor.steps else None
    if last is not None and last.name == "SC status":
        try:
            answer = decode(doctor.connection.last_raw, settings.profile.encoding)
        except (SIP2Error, ValueError):
            answer = None
        if isinstance(answer, ACSStatusResponse) and isinstance(answer.date_time_sync, datetime):
            ils_time = answer.date_time_sync
    if usable:
        return [ok("ils", f"{settings.display()}: " + "; ".join(s.detail for s in doctor.steps))], (
            ils_time
        )
    failed = next((s for s in doctor.steps if not s.ok), None)
    detail = f"{failed.name}: {failed.detail}" if failed else "not usable"
    return [
        fail(
            "ils",
            f"{settings.display()}: {detail}",
            "Kiểm tra địa chỉ, cổng, tường lửa, TLS và tài khoản SIP2; chi tiết: "
            "muontra sip2 doctor URL (docs/sip2-doctor.md).",
            "Check the address, port, firewall, TLS and the SIP2 account; in detail: "
            "muontra sip2 doctor URL (docs/sip2-doctor.md).",
        )
    ], ils_time


def check_broker(config: DeviceConfig, *, timeout: float = CONNECT_TIMEOUT) -> list[Finding]:
    """Connect and log in to the broker as the daemon would, then leave."""
    section = config.mqtt
    if section is None:
        return [ok("broker", "no [mqtt]: this device reports to no fleet")]
    where = f"{section.host}:{section.port}" + (" (TLS)" if section.tls else "")
    try:
        password = section.password()
    except SecretError as error:
        return [
            fail(
                "broker",
                f"{where}: {error}",
                "Đặt mật khẩu MQTT (mqtt.password_env / password_file).",
                "Provide the MQTT password (mqtt.password_env / password_file).",
            )
        ]
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"{section.client_id or config.device.id}-doctor",
        clean_session=True,
        protocol=mqtt.MQTTv311,
    )
    if section.tls:
        client.tls_set(
            ca_certs=str(section.ca_file) if section.ca_file else None,
            cert_reqs=ssl.CERT_REQUIRED,
            tls_version=ssl.PROTOCOL_TLS_CLIENT,
        )
    if section.username is not None:
        client.username_pw_set(section.username, password)
    answers: list[str] = []

    def on_connect(_c: object, _u: object, _f: object, reason: object, _p: object) -> None:
        answers.append(str(reason))

    client.on_connect = on_connect
    fix_vi = (
        "Kiểm tra [mqtt] host, port, tls, ca_file, tên đăng nhập và mật khẩu, và tường lửa "
        "(docs/mqtt.md)."
    )
    fix_en = (
        "Check [mqtt] host, port, tls, ca_file, username and password, and the firewall "
        "(docs/mqtt.md)."
    )
    try:
        client.connect(section.host, section.port, keepalive=30)
        deadline = time.monotonic() + timeout
        while not answers and time.monotonic() < deadline:
            client.loop(timeout=0.2)
    except (OSError, ssl.SSLError, ValueError) as error:
        return [fail("broker", f"{where}: {error}", fix_vi, fix_en)]
    finally:
        client.disconnect()
    if not answers:
        return [fail("broker", f"{where}: no answer in {timeout:.0f} s", fix_vi, fix_en)]
    if answers[0] != "Success":
        return [fail("broker", f"{where}: refused: {answers[0]}", fix_vi, fix_en)]
    login = f" as {section.username}" if section.username else ""
    return [ok("broker", f"{where}: connected{login}")]
