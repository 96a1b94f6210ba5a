"""`muontra config check` against files that would hang, exhaust or crash it.

Each gives one clear problem naming the key and line (or the file), a non-zero
exit status and no traceback. The command runs as a real process with its
address space capped, so a check that reads without end fails here instead of
eating the machine.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from engine.config import ConfigError, parse_config
from engine.config.lines import MAX_DEPTH
from engine.config.model import MAX_SECRET_BYTES, SOCKET_PATH_MAX
from engine.jsonlines import MAX_CONNECTIONS, SUBSCRIBER_LIMIT

BASE = """\
[device]
id = "kiosk-01"
site = "VN-HN0001"

[ils]
url = "sip2+sim://?institution=MUONTRA"

[devices]
pad = "sim://pad"
"""
GATE = """\
[device]
id = "gate-01"
site = "VN-HN0001"
role = "gate"

[ils]
url = "sip2+sim://"

[gate]
readers = [
  "sim://gate-a",
  "feig+serial://{node}?baud=38400",
]
alarm_outputs = []
"""
ROOT = Path(__file__).resolve().parents[3]
MEMORY = 1 << 30  # a config check needs a few dozen MB


def check(*args: str) -> subprocess.CompletedProcess[str]:
    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))

    return subprocess.run(
        [sys.executable, "-m", "muontra", "config", "check", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=20,
        preexec_fn=cap,
    )


def problem_of(text: str, *, secrets: bool = False) -> tuple[str, int | None, str]:
    with pytest.raises(ConfigError) as exc:
        parse_config(text, secrets=secrets)
    (problem,) = exc.value.problems
    return problem.key, problem.line, problem.message


def test_deeply_nested_values_are_refused_with_key_and_line() -> None:
    for depth in (MAX_DEPTH + 1, 400, 5000):  # 5000 overflowed the TOML parser's stack
        arrays = BASE + "\n[tags]\nowner_libraries = " + "[" * depth + "]" * depth + "\n"
        key, line, message = problem_of(arrays)
        assert (key, line) == ("tags.owner_libraries", 12)
        assert f"more than {MAX_DEPTH} levels" in message
        tables = BASE + "\n[patron]\nx = 1\ny = " + "{a = " * depth + "1" + "}" * depth + "\n"
        assert problem_of(tables)[:2] == ("patron.y", 13)
    # As deep as the limit is still only a matter of the schema.
    at_limit = BASE + "\n[tags]\nowner_libraries = " + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "\n"
    key, _, message = problem_of(at_limit)
    assert key.startswith("tags.owner_libraries") and "levels" not in message


def test_a_socket_path_longer_than_sun_path_is_refused() -> None:
    fits = "/run/" + "m" * (SOCKET_PATH_MAX - len("/run//k.sock")) + "/k.sock"
    assert len(fits) == SOCKET_PATH_MAX
    parse_config(
        BASE.replace('site = "VN-HN0001"\n', f'site = "VN-HN0001"\napi_socket = "{fits}"\n')
    )
    long = fits.replace("/run/", "/run/m")
    text = BASE.replace('site = "VN-HN0001"\n', f'site = "VN-HN0001"\napi_socket = "{long}"\n')
    key, line, message = problem_of(text)
    assert (key, line) == ("device.api_socket", 4)
    assert f"at most {SOCKET_PATH_MAX} bytes" in message and "108" in message
    # Bytes count, not characters: 60 Vietnamese letters are 120 bytes.
    wide = "/run/" + "ư" * 60 + ".sock"
    assert problem_of(
        BASE.replace('site = "VN-HN0001"\n', f'site = "VN-HN0001"\napi_socket = "{wide}"\n')
    )[0] == ("device.api_socket")


def problems_by_file(*args: str) -> dict[str, list[tuple[str, int | None, str]]]:
    """`config check --json` as a real process: each file's problems (key, line, message)."""
    result = check("--json", *args)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    return {
        report["file"]: [(p["key"], p["line"], p["message"]) for p in report["problems"]]
        for report in json.loads(result.stdout)
    }


def test_a_device_or_pipe_given_as_the_file_is_refused_unread(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer
    big = tmp_path / "big.toml"
    big.write_text(BASE + "#" * (2 * 1024 * 1024) + "\n")
    found = problems_by_file("/dev/zero", str(fifo), str(big))
    assert found == {
        "/dev/zero": [("", None, "is a character device, not a file")],
        str(fifo): [("", None, "is a pipe, not a file")],
        str(big): [("", None, "is larger than 1024 KiB: not the right file?")],
    }


def test_secrets_and_devices_checked_on_the_machine(tmp_path: Path) -> None:
    fifo = tmp_path / "secret-pipe"
    os.mkfifo(fifo)
    huge = tmp_path / "huge-secret"
    huge.write_bytes(b"x" * (MAX_SECRET_BYTES + 1))
    plain = tmp_path / "ttyUSB0"
    plain.write_text("")
    expected: dict[str, list[tuple[str, int | None, str]]] = {}
    for name, source, what in [
        ("zero", "/dev/zero", "is a character device, not a file"),
        ("pipe", str(fifo), "is a pipe, not a file"),
        ("dir", str(tmp_path), "Is a directory"),
        ("huge", str(huge), "is larger than 64 KiB: not the right file?"),
    ]:
        text = BASE.replace('MUONTRA"\n', f'MUONTRA"\npassword_file = "{source}"\n')
        parse_config(text)  # not read unless asked
        path = tmp_path / f"{name}.toml"
        path.write_text(text)
        expected[str(path)] = [("ils.password_file", 7, f"cannot read {source}: {what}")]
    # A reader on a serial port that is not there, or on a file that is no device.
    for name, node, what in [
        ("absent", tmp_path / "ttyUSB9", "No such file or directory (is the device plugged in?)"),
        ("plain", plain, "is a regular file, not a device"),
    ]:
        text = GATE.format(node=node)
        parse_config(text)
        path = tmp_path / f"{name}.toml"
        path.write_text(text)
        message = f"{node}: {what}" if name == "absent" else f"{node} {what}"
        expected[str(path)] = [("gate.readers[1]", 12, message)]
    assert problems_by_file("--secrets", *expected) == expected
    # What the units run at start: the reader unplugged at boot is the daemon's to report.
    skipped = check("--secrets", "--skip-devices", str(tmp_path / "absent.toml"))
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    # A real character device (a pseudo-terminal, as a USB serial port is) passes.
    leader, follower = os.openpty()
    try:
        parse_config(GATE.format(node=os.ttyname(follower)), secrets=True)
    finally:
        os.close(leader)
        os.close(follower)


def test_the_command_reports_every_hostile_file_without_a_traceback(tmp_path: Path) -> None:
    deep = tmp_path / "deep.toml"
    deep.write_text(BASE + "\n[tags]\nowner_libraries = " + "[" * 5000 + "]" * 5000 + "\n")
    sock = tmp_path / "sock.toml"
    sock.write_text(
        BASE.replace(
            'site = "VN-HN0001"\n', f'site = "VN-HN0001"\napi_socket = "/run/{"m" * 110}"\n'
        )
    )
    secret = tmp_path / "secret.toml"
    secret.write_text(BASE.replace('MUONTRA"\n', 'MUONTRA"\npassword_file = "/dev/zero"\n'))
    result = check("--secrets", str(deep), "/dev/zero", str(sock), str(secret))
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and "Error" not in result.stderr, result.stderr
    assert result.stdout.splitlines() == [
        f"{deep}:12: tags.owner_libraries: nested more than {MAX_DEPTH} levels deep; "
        "a device configuration needs a few",
        "/dev/zero: is a character device, not a file",
        f"{sock}:4: device.api_socket: a Unix socket path holds at most {SOCKET_PATH_MAX} "
        "bytes (sun_path is 108 with its final NUL), this one has 115; "
        "use a shorter one such as /run/muontra/kiosk.sock",
        f"{secret}:7: ils.password_file: cannot read /dev/zero: is a character device, not a file",
    ]


UNITS = [ROOT / "systemd" / "muontra-kiosk.service", ROOT / "systemd" / "muontra-gate.service"]


@pytest.mark.parametrize("unit", UNITS, ids=lambda path: path.name)
def test_units_bound_memory_tasks_and_descriptors_above_the_apis_own_limits(unit: Path) -> None:
    settings = dict(
        line.split("=", 1)
        for line in unit.read_text(encoding="utf-8").splitlines()
        if "=" in line and not line.startswith("#")
    )
    # What the local API alone may take when every client is hostile fits under them,
    # with room for the daemon's own threads and files.
    assert int(settings["TasksMax"]) >= 2 * MAX_CONNECTIONS + 100
    assert int(settings["LimitNOFILE"]) >= MAX_CONNECTIONS + 1000
    memory_max = int(settings["MemoryMax"].removesuffix("M"))
    stalled = MAX_CONNECTIONS * SUBSCRIBER_LIMIT * 250 // 2**20  # MB, 250 bytes an event
    assert memory_max >= 80 + stalled + 100 and memory_max <= 1024  # a Pi 3 has 1 GB
    assert int(settings["MemoryHigh"].removesuffix("M")) < memory_max
