"""The doctor's checks of this machine: config, device nodes, clock, disk space, permissions.

Each returns findings and never raises for what it finds: a doctor that stops
at the first problem would send the installer up the ladder once per problem.
Run as the daemon's user (``sudo -u muontra muontra doctor …``): access to
devices and files means something only for that user.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from drivers.registry import EXTRA_OF_SCHEME, DeviceUrlError, parse_url
from engine.config.cli import format_problem
from engine.config.model import (
    ConfigError,
    DeviceConfig,
    credential_path,
    device_problems,
    load_config,
    secret_problems,
)
from engine.doctor.findings import Finding, fail, ok, warn
from protocols.extras import MissingExtra, require

DISK_FAIL_MB = 100
"""Below this the journal and offline queue may not get their next write: refuse."""
DISK_WARN_MB = 500
SKEW_WARN_S = 60.0
"""Receipts and due dates show the ILS's dates; commands and events carry ours."""


def _urls(value: object) -> list[str]:
    if isinstance(value, dict):
        return [url for item in value.values() for url in _urls(item)]
    if isinstance(value, list):
        return [url for item in value for url in _urls(item)]
    return [value] if isinstance(value, str) and "://" in value else []


_EXTRA_NEEDED = re.compile(r"needs `pip install muontra\[([a-z]+)\]`")


def _install_extra(extra: str) -> tuple[str, str]:
    return (
        f"Cài thêm phần này: pip install 'muontra[{extra}]' "
        f"(hoặc scripts/install-device.sh --extras {extra}).",
        f"Install it: pip install 'muontra[{extra}]' "
        f"(or scripts/install-device.sh --extras {extra}).",
    )


def check_config(path: Path) -> tuple[list[Finding], DeviceConfig | None]:
    """The file as ``muontra config check`` sees it, then its secrets as this user."""
    try:
        config = load_config(path)
    except ConfigError as error:
        findings = []
        for problem in error.problems:
            extra = _EXTRA_NEEDED.search(problem.message)
            if extra is not None:
                fix_vi, fix_en = _install_extra(extra.group(1))
            else:
                fix_vi = "Sửa khoá này trong tệp cấu hình (docs/configuration.md), rồi chạy lại."
                fix_en = (
                    "Fix this key in the configuration file (docs/configuration.md) and run again."
                )
            findings.append(fail("config", format_problem(path, problem), fix_vi, fix_en))
        return findings, None
    found = [ok("config", f"{path}: role {config.device.role}, device {config.device.id}")]
    for problem in secret_problems(config):
        found.append(
            fail(
                "secrets",
                f"{problem.key}: {problem.message}",
                "Đặt mật khẩu vào tệp môi trường của dịch vụ (/etc/muontra/ROLE.env) hoặc "
                "tệp bí mật, và chạy doctor với người dùng và môi trường của dịch vụ.",
                "Put the password in the unit's environment file (/etc/muontra/ROLE.env) or "
                "secret file, and run the doctor as the service's user with its environment.",
            )
        )
    return found, config


def check_devices(config: DeviceConfig) -> list[Finding]:
    """Every device URL: its extra installed, its node present and usable by this user."""
    found: list[Finding] = []
    urls = [url for url in _urls(config.model_dump(mode="json")) if url != config.ils.url]
    for url in urls:
        try:
            scheme = parse_url(url).scheme
        except DeviceUrlError:
            continue
        if scheme in EXTRA_OF_SCHEME:
            extra, noun = EXTRA_OF_SCHEME[scheme]
            try:
                require(extra, f"the {scheme}:// {noun}")
            except MissingExtra as missing:
                found.append(fail("devices", str(missing), *_install_extra(extra)))
            except ImportError as error:  # installed, but a native library under it is not
                found.append(
                    fail(
                        "devices",
                        f"the {scheme}:// {noun} does not load: {error}",
                        "Cài gói Debian mà thư viện này cần (docs/install.md, mục 1).",
                        "Install the Debian package this library needs (docs/install.md, 1).",
                    )
                )
    for problem in device_problems(config):
        found.append(
            fail(
                "devices",
                f"{problem.key}: {problem.message}",
                "Cắm thiết bị, dùng tên cố định trong /dev/serial/by-id/, và thêm người dùng "
                "của dịch vụ vào nhóm của thiết bị (dialout, plugdev, gpio, input, lp).",
                "Plug the device in, use its stable name under /dev/serial/by-id/, and add "
                "the service's user to the device's group (dialout, plugdev, gpio, input, lp).",
            )
        )
    if not found:
        found.append(ok("devices", f"{len(urls)} device URLs; every node present and usable"))
    return found


def ntp_synchronised(timedatectl: str | None) -> bool | None:
    """What ``timedatectl`` says of NTP synchronisation; None when it cannot tell."""
    if timedatectl is None:
        return None
    try:
        done = subprocess.run(
            [timedatectl, "show", "--property=NTPSynchronized", "--value"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    answer = done.stdout.strip().lower()
    if done.returncode != 0 or answer not in {"yes", "no"}:
        return None
    return answer == "yes"


def check_clock(
    config: DeviceConfig,
    ils_time: datetime | None,
    *,
    timedatectl: str | None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[Finding]:
    """NTP synchronisation, and the skew against the ILS's date when the ILS gave one.

    The ILS sends its local time without a zone; it is compared in the device's
    ``device.timezone``, so a skew of whole hours usually means the two disagree
    on the zone rather than on the time.
    """
    found: list[Finding] = []
    synced = ntp_synchronised(timedatectl)
    if synced is None:
        found.append(
            warn(
                "clock",
                "cannot tell whether the clock is synchronised (no answer from timedatectl)",
                "Kiểm tra đồng bộ giờ (NTP): timedatectl status; bật bằng "
                "sudo timedatectl set-ntp true.",
                "Check time synchronisation (NTP): timedatectl status; turn it on with "
                "sudo timedatectl set-ntp true.",
            )
        )
    elif synced:
        found.append(ok("clock", "synchronised by NTP"))
    else:
        found.append(
            fail(
                "clock",
                "not synchronised by NTP",
                "Bật đồng bộ giờ: sudo timedatectl set-ntp true, và cho phép NTP (UDP 123) "
                "qua tường lửa. Lệnh từ trung tâm bị từ chối khi giờ sai.",
                "Turn on time synchronisation: sudo timedatectl set-ntp true, and let NTP "
                "(UDP 123) through the firewall. Commands from central are refused on a "
                "wrong clock.",
            )
        )
    if ils_time is not None:
        local = now().astimezone(ZoneInfo(config.device.timezone)).replace(tzinfo=None)
        skew = (local - ils_time).total_seconds()
        limit = config.mqtt.command_max_age if config.mqtt is not None else 300.0
        detail = f"{skew:+.0f} s against the ILS's clock"
        fix_vi = (
            "Đặt giờ đúng cho máy này (NTP) hoặc báo quản trị ILS; nếu lệch tròn số giờ, "
            "kiểm tra device.timezone."
        )
        fix_en = (
            "Set this machine's clock (NTP) or tell the ILS's administrator; a skew of whole "
            "hours means device.timezone differs from the ILS's zone."
        )
        if abs(skew) > limit:
            found.append(fail("clock", detail, fix_vi, fix_en))
        elif abs(skew) > SKEW_WARN_S:
            found.append(warn("clock", detail, fix_vi, fix_en))
        else:
            found.append(ok("clock", detail))
    return found


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_disk(config: DeviceConfig) -> list[Finding]:
    data_dir = config.device.data_dir
    where = _existing(data_dir)
    free_mb = shutil.disk_usage(where).free / 1e6
    detail = f"{free_mb:.0f} MB free for {data_dir}"
    fix_vi = (
        "Giải phóng chỗ trên đĩa (journalctl --vacuum-size=100M, bản sao lưu cũ) hoặc đĩa lớn hơn."
    )
    fix_en = "Free disk space (journalctl --vacuum-size=100M, old backups) or use a larger disk."
    if free_mb < DISK_FAIL_MB:
        return [fail("disk", detail, fix_vi, fix_en)]
    if free_mb < DISK_WARN_MB:
        return [warn("disk", detail, fix_vi, fix_en)]
    return [ok("disk", detail)]


def _owner_problem(info: os.stat_result, uid: int) -> bool:
    return info.st_uid not in (uid, 0)


def _secret_files(config: DeviceConfig) -> list[Path]:
    files: list[Path | None] = [
        config.ils.password_file,
        config.mqtt.password_file if config.mqtt else None,
        config.receipts.smtp.password_file if config.receipts.smtp else None,
        config.device.site_key_file,
        config.journal.pin_key_file,
    ]
    found = [credential_path(file) for file in files if file is not None]
    data_dir = config.device.data_dir
    found += [data_dir / "pin.key", data_dir / "patron-ref.key"]
    return [file for file in found if file.is_absolute()]


def check_permissions(config: DeviceConfig, *, uid: int | None = None) -> list[Finding]:
    """data_dir 0700 and this user's; every secret file 0600 (or 0400), this user's or root's."""
    uid = os.geteuid() if uid is None else uid
    found: list[Finding] = []
    data_dir = config.device.data_dir
    try:
        info = data_dir.stat()
    except FileNotFoundError:
        found.append(
            warn(
                "permissions",
                f"{data_dir} does not exist yet",
                "systemd tạo thư mục này khi dịch vụ chạy (StateDirectory=); nếu không chạy "
                f"bằng systemd: sudo install -d -m 0700 -o muontra {data_dir}",
                "systemd makes it when the unit starts (StateDirectory=); without systemd: "
                f"sudo install -d -m 0700 -o muontra {data_dir}",
            )
        )
    else:
        mode = stat.S_IMODE(info.st_mode)
        if info.st_uid != uid:
            found.append(
                fail(
                    "permissions",
                    f"{data_dir} belongs to uid {info.st_uid}, not to this user ({uid})",
                    "Chạy doctor bằng người dùng của dịch vụ, hoặc: "
                    f"sudo chown -R muontra: {data_dir}",
                    f"Run the doctor as the service's user, or: sudo chown -R muontra: {data_dir}",
                )
            )
        elif mode & 0o077:
            found.append(
                fail(
                    "permissions",
                    f"{data_dir} has mode {mode:04o}: others can enter the journal",
                    f"Chỉ người dùng của dịch vụ được vào: chmod 0700 {data_dir}",
                    f"Only the service's user may enter it: chmod 0700 {data_dir}",
                )
            )
        else:
            found.append(ok("permissions", f"{data_dir}: mode {mode:04o}, this user's"))
    for secret in _secret_files(config):
        try:
            info = secret.stat()
        except OSError:
            continue  # a missing secret is the secrets check's to report
        mode = stat.S_IMODE(info.st_mode)
        if mode & 0o077:
            found.append(
                fail(
                    "permissions",
                    f"{secret} has mode {mode:04o}: other users can read a secret",
                    f"Chỉ chủ sở hữu được đọc: chmod 0600 {secret}",
                    f"Only its owner may read it: chmod 0600 {secret}",
                )
            )
        elif _owner_problem(info, uid):
            found.append(
                warn(
                    "permissions",
                    f"{secret} belongs to uid {info.st_uid}, neither this user nor root",
                    f"Giao tệp cho root (dùng LoadCredential=) hoặc cho người dùng của dịch vụ: "
                    f"sudo chown root: {secret}",
                    f"Give it to root (and use LoadCredential=) or to the service's user: "
                    f"sudo chown root: {secret}",
                )
            )
        else:
            found.append(ok("permissions", f"{secret}: mode {mode:04o}"))
    return found
