"""`muontra scenario run FILE...`: play scenarios against a real engine on simulators."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from scenario.runner import run_file


def configure(parser: argparse.ArgumentParser) -> None:
    tools = parser.add_subparsers(dest="scenario_command", metavar="TOOL", required=True)
    run_parser = tools.add_parser(
        "run",
        help="run scenario files; exit 0 when every expectation holds "
        "(and every known_failure scenario still fails)",
        description="Run each scenario (TOML; see docs/scenarios.md): a fresh ILS simulator, "
        "the engine as a child process on simulated devices, the steps, then the "
        "expectations checked against the ILS database, the tags and the journal.",
    )
    run_parser.add_argument("files", nargs="+", type=Path, help="scenario files")
    run_parser.add_argument(
        "--keep", action="store_true", help="keep each scenario's directory (engine log, databases)"
    )
    run_parser.add_argument("--json", action="store_true", help="one JSON report per scenario")
    run_parser.set_defaults(_run=run_scenarios)


def run_scenarios(args: argparse.Namespace) -> int:
    failed = 0
    for path in args.files:
        report = run_file(path, keep=args.keep)
        failed += not report.as_expected
        if args.json:
            print(
                json.dumps(
                    {
                        "file": str(path),
                        "name": report.name,
                        "ok": report.ok,
                        "known_failure": report.known_failure,
                        "error": report.error,
                        "steps": [{"ok": s.ok, "text": s.text} for s in report.steps],
                        "checks": [{"ok": c.ok, "text": c.text} for c in report.checks],
                    },
                    ensure_ascii=False,
                )
            )
            continue
        verdict = "PASS" if report.ok else "FAIL"
        if report.known_failure is not None:
            verdict = "XPASS" if report.ok else "XFAIL"  # XPASS: fixed, remove the marker
        print(f"{verdict:5} {path.name}: {report.name}")
        if report.known_failure is not None:
            print(f"      known failure: {report.known_failure}")
        if report.error:
            print(f"      error: {report.error}")
        if not report.ok:
            for outcome in report.steps + report.checks:
                print(f"      {'ok ' if outcome.ok else 'NO '} {outcome.text}")
    if len(args.files) > 1:
        print(f"{len(args.files) - failed} of {len(args.files)} scenarios as expected")
    return 1 if failed else 0


def run(args: argparse.Namespace) -> int:  # pragma: no cover - the tools set their own
    return int(args._run(args))
