"""`muontra doctor --config FILE`: one line per check, what to fix in Vietnamese and English.

The exit status is 1 when any check failed, 0 otherwise (warnings included),
so an install script or a monitoring job can act on it; ``--json`` prints the
findings as one document.
"""

from __future__ import annotations

import argparse
import json
import shutil
from datetime import datetime
from pathlib import Path

from engine.doctor.findings import Finding, Status
from engine.doctor.links import check_broker, check_ils
from engine.doctor.local import (
    check_clock,
    check_config,
    check_devices,
    check_disk,
    check_permissions,
)
from engine.doctor.memory import check_memory

FAILED_STATUS = 1


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Check this device before (or while) its daemon runs: config, devices, ILS, "
        "broker, clock, disk space, memory, permissions. Run it as the service's user with the "
        "service's environment, e.g. sudo -u muontra … or systemd-run -p User=muontra …"
    )
    parser.add_argument("--config", required=True, type=Path, metavar="FILE", help="TOML file")
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")
    parser.add_argument(
        "--offline",
        action="store_true",
        help="leave out the ILS and the broker (no network)",
    )


def diagnose(config_path: Path, *, offline: bool = False) -> list[Finding]:
    findings, config = check_config(config_path)
    if config is None:
        return findings
    findings += check_devices(config)
    ils_time: datetime | None = None
    if not offline:
        ils, ils_time = check_ils(config)
        findings += ils
        findings += check_broker(config)
    findings += check_clock(config, ils_time, timedatectl=shutil.which("timedatectl"))
    findings += check_disk(config)
    findings += check_memory(config)
    findings += check_permissions(config)
    return findings


def _line(finding: Finding) -> list[str]:
    lines = [f"{finding.status.value:<4}  {finding.check:<11} {finding.detail}"]
    if finding.status is not Status.OK:
        lines.append(f"{'':17} sửa: {finding.fix_vi}")
        lines.append(f"{'':17} fix: {finding.fix_en}")
    return lines


def run(args: argparse.Namespace) -> int:
    findings = diagnose(args.config, offline=args.offline)
    failed = any(f.status is Status.FAIL for f in findings)
    if args.json:
        document = {"ok": not failed, "findings": [f.as_json() for f in findings]}
        print(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        for finding in findings:
            for line in _line(finding):
                print(line)
        counts = {s: sum(f.status is s for f in findings) for s in Status}
        print(
            f"doctor: {counts[Status.OK]} ok, {counts[Status.WARN]} warn, "
            f"{counts[Status.FAIL]} fail"
        )
    return FAILED_STATUS if failed else 0
