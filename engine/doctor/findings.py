"""One line of the doctor's report: which check, how it went, and the fix in two languages."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class Finding:
    """A check's result. ``fix_vi``/``fix_en`` say what to do; empty when status is ok.

    ``detail`` names files, devices and hosts, never a password, patron or PIN.
    """

    check: str
    status: Status
    detail: str
    fix_vi: str = ""
    fix_en: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "status": str(self.status),
            "detail": self.detail,
            "fix": {"vi": self.fix_vi, "en": self.fix_en},
        }


def ok(check: str, detail: str) -> Finding:
    return Finding(check, Status.OK, detail)


def warn(check: str, detail: str, fix_vi: str, fix_en: str) -> Finding:
    return Finding(check, Status.WARN, detail, fix_vi, fix_en)


def fail(check: str, detail: str, fix_vi: str, fix_en: str) -> Finding:
    return Finding(check, Status.FAIL, detail, fix_vi, fix_en)
