"""The pip extras: every import declared, the core free of them, one line when one is missing.

The core (``pip install muontra``) runs every daemon; Qt and the native driver
libraries come as extras (pyproject.toml, protocols/extras.py). These tests
read the real pyproject.toml and the real source tree, and make an extra's
import fail the way a machine without it would (``None`` in ``sys.modules``,
or an import hook in a child process).
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import os
import re
import subprocess
import sys
import textwrap
import tomllib
from importlib.abc import MetaPathFinder
from pathlib import Path

import pytest

from drivers.registry import BUILTIN, EXTRA_OF_SCHEME, open_device
from engine.config.model import ConfigError, parse_config
from muontra.cli import MISSING_EXTRA_STATUS, main
from protocols.extras import EXTRAS, MissingExtra, extra_of, installed, require

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (
    "muontra", "demo", "scenario", "ui", "central", "kiosk", "gates", "sorter",
    "ilssim", "engine", "drivers", "protocols",
)  # fmt: skip
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))

NEEDS_AN_EXTRA = {
    "drivers.gpio": "gpio",
    "drivers.conveyor_gpio": "gpio",
    "drivers.conveyor_modbus": "plc",
    "drivers.sim.conveyor_plc": "plc",
}
"""The core packages' modules that import an extra's library at module level, and which.

Each is reached only through the device registry (which names the extra first)
or from the dev tools; anything new here should be lazy instead."""


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _names(requirements: list[str]) -> set[str]:
    found = set()
    for requirement in requirements:
        match = re.match(r"[A-Za-z0-9._-]+", requirement)
        assert match, requirement
        found.add(_normal(match.group(0)))
    return found


def _third_party_imports() -> dict[str, set[str]]:
    """Top-level module -> files of ours that import it, stdlib and our packages left out."""
    found: dict[str, set[str]] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.partition(".")[0]
                    if top in sys.stdlib_module_names or top in PACKAGES or top == "__future__":
                        continue
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_third_party_import_is_declared() -> None:
    project = PYPROJECT["project"]
    declared = _names(project["dependencies"])
    for extra, requirements in project["optional-dependencies"].items():
        if extra != "dev":
            declared |= _names(requirements)
    distributions = importlib.metadata.packages_distributions()
    undeclared = {}
    for module, files in _third_party_imports().items():
        provided_by = {_normal(d) for d in distributions.get(module, [])}
        assert provided_by, f"{module} (imported by {sorted(files)}) is not installed at all"
        if not provided_by & declared:
            undeclared[module] = sorted(files)
    assert undeclared == {}, f"imported but not in pyproject.toml's requirements: {undeclared}"


def test_the_extras_table_matches_pyproject() -> None:
    optional = PYPROJECT["project"]["optional-dependencies"]
    assert set(optional) == {*EXTRAS, "all", "dev"}
    distributions = importlib.metadata.packages_distributions()
    for extra, modules in EXTRAS.items():
        declared = _names(optional[extra])
        for module in modules:
            assert {_normal(d) for d in distributions[module]} & declared, (extra, module)
    (everything,) = optional["all"]
    assert everything == f"muontra[{','.join(EXTRAS)}]"
    assert "muontra[all]" in optional["dev"]
    core = _names(PYPROJECT["project"]["dependencies"])
    heavy = {"pyside6-essentials", "pyqtgraph", "pyscard", "nfcpy", "gpiozero", "pillow"}
    assert not core & heavy, "the core must not pull Qt or a native driver library"


def test_make_setup_installs_everything() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "-e '.[dev]'" in makefile


def test_every_scheme_of_an_extra_is_a_builtin_scheme() -> None:
    for scheme, (extra, _noun) in EXTRA_OF_SCHEME.items():
        assert scheme in BUILTIN
        assert extra in EXTRAS


BLOCKER = textwrap.dedent(
    """
    import importlib, pkgutil, sys
    from importlib.abc import MetaPathFinder

    BLOCKED = set(sys.argv[1].split(","))

    class Block(MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, Block())
    """
)


def _without_extras(code: str, blocked: set[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCKER + code, ",".join(sorted(blocked))],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=90,
        check=False,
    )


def test_the_core_imports_without_any_extra() -> None:
    """Every module of the core packages imports on a machine with no extra installed."""
    blocked = {m for modules in EXTRAS.values() for m in modules}
    code = textwrap.dedent(
        """
        failed = {}
        for package in sys.argv[2].split(","):
            root = importlib.import_module(package)
            for info in pkgutil.walk_packages(root.__path__, package + "."):
                if ".migrations" in info.name or info.name.endswith("__main__"):
                    continue
                try:
                    importlib.import_module(info.name)
                except ModuleNotFoundError as error:
                    failed[info.name] = error.name.partition(".")[0]
        for name in ("ui.cli", "ui.console.cli"):
            importlib.import_module(name)
        print(repr(failed))
        """
    )
    core = "protocols,drivers,engine,ilssim,kiosk,gates,sorter,central,scenario,demo,muontra"
    done = subprocess.run(
        [sys.executable, "-c", BLOCKER + code, ",".join(sorted(blocked)), core],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    failed = ast.literal_eval(done.stdout.strip().splitlines()[-1])
    assert {name: extra_of(module) for name, module in failed.items()} == NEEDS_AN_EXTRA


def _block(monkeypatch: pytest.MonkeyPatch, extra: str) -> None:
    """Make every module of ``extra`` fail to import, as on a machine without it."""
    for name in list(sys.modules):
        if extra_of(name) == extra:
            monkeypatch.delitem(sys.modules, name)
    for module in EXTRAS[extra]:
        monkeypatch.setitem(sys.modules, module, None)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("pcsc://ACR1552", "the pcsc:// reader needs `pip install muontra[pcsc]`"),
        ("nfc://usb", "the nfc:// card reader needs `pip install muontra[nfc]`"),
        ("gpio://?red=17&mock=1", "the gpio:// output needs `pip install muontra[gpio]`"),
        ("gpio+in://?beam=5&mock=1", "the gpio+in:// input needs `pip install muontra[gpio]`"),
        ("escpos+dummy://", "the escpos+dummy:// printer needs `pip install muontra[printer]`"),
        (
            "escpos+usb://04b8:0202",
            "the escpos+usb:// printer needs `pip install muontra[printer]`",
        ),
        (
            "modbus+tcp://127.0.0.1:502",
            "the modbus+tcp:// conveyor (a PLC) needs `pip install muontra[plc]`",
        ),
    ],
)
def test_a_device_whose_extra_is_missing_names_it(
    monkeypatch: pytest.MonkeyPatch, url: str, message: str
) -> None:
    extra = EXTRA_OF_SCHEME[url.partition("://")[0]][0]
    _block(monkeypatch, extra)
    with pytest.raises(MissingExtra) as caught:
        open_device(url)
    assert str(caught.value) == message
    assert caught.value.extra == extra


def test_a_device_with_its_extra_installed_opens(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check is not a blanket refusal: with the library there, the device is built."""
    printer = open_device("escpos+dummy://")
    printer.close()
    _block(monkeypatch, "pcsc")  # another extra missing does not matter
    open_device("escpos+dummy://").close()


def test_simulators_need_no_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for extra in EXTRAS:
        _block(monkeypatch, extra)
    open_device("card+sim://card")
    open_device("sim://pad")


def test_postgres_without_psycopg_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from central.db import make_engine

    _block(monkeypatch, "postgres")
    with pytest.raises(MissingExtra, match=re.escape("`pip install muontra[postgres]`")):
        make_engine("postgresql://central@127.0.0.1:5432/fleet")
    make_engine("sqlite://").dispose()  # SQLite needs nothing more


@pytest.mark.parametrize(
    ("command", "line"),
    [
        ("ui", "muontra ui: muontra ui (the touchscreen) needs `pip install muontra[ui]`"),
        (
            "console",
            "muontra console: muontra console (the staff console) needs `pip install muontra[ui]`",
        ),
    ],
)
def test_the_screens_without_qt_say_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: str, line: str
) -> None:
    _block(monkeypatch, "ui")
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert main([command]) == MISSING_EXTRA_STATUS
    assert capsys.readouterr().err.strip() == line


def test_require_passes_other_import_errors_through(monkeypatch: pytest.MonkeyPatch) -> None:
    """A native library missing under an installed module is not a pip problem: raised as is."""

    class NoSharedLibrary(MetaPathFinder):
        def find_spec(self, name: str, path: object = None, target: object = None) -> None:
            if name.partition(".")[0] == "smartcard":
                raise ImportError("libpcsclite.so.1: cannot open shared object file")

    for name in list(sys.modules):
        if name.partition(".")[0] == "smartcard":
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "meta_path", [NoSharedLibrary(), *sys.meta_path])
    with pytest.raises(ImportError, match="libpcsclite") as caught:
        require("pcsc", "the pcsc:// reader")
    assert not isinstance(caught.value, MissingExtra)


def test_a_gate_daemon_without_gpiozero_names_the_extra(tmp_path: Path) -> None:
    """End to end: the real `muontra gate` on the example config, gpiozero hidden."""
    example = (ROOT / "config" / "gate.example.toml").read_text(encoding="utf-8")
    config = tmp_path / "gate.toml"
    config.write_text(
        example.replace("/var/lib/muontra-gate", str(tmp_path / "data")).replace(
            "/run/muontra-gate/gate.sock", str(tmp_path / "gate.sock")
        ),
        encoding="utf-8",
    )
    code = "from muontra.cli import main; sys.exit(main(sys.argv[2:]))"
    env = {**os.environ, "NOTIFY_SOCKET": ""}
    done = subprocess.run(
        [sys.executable, "-c", BLOCKER + code, "gpiozero", "gate", "--config", str(config)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=90,
        check=False,
        env=env,
    )
    # The configuration check names it first, with the line, before anything starts.
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[-2:] == [
        "  25: devices.outputs: the gpio:// output needs `pip install muontra[gpio]`",
        "  43: gate.beams: the gpio+in:// input needs `pip install muontra[gpio]`",
    ]
    assert "Traceback" not in done.stderr


def test_config_check_names_a_missing_extra_with_its_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without importing it: the check finds the modules, so validation costs no memory."""
    text = (ROOT / "config" / "kiosk-self-checkout.example.toml").read_text(encoding="utf-8")
    _block(monkeypatch, "printer")
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    assert [(p.key, p.message) for p in caught.value.problems] == [
        ("devices.printer", "the escpos+dummy:// printer needs `pip install muontra[printer]`")
    ]
    assert installed("pcsc")
    assert not installed("printer")


def test_config_check_does_not_import_the_extras() -> None:
    text = (ROOT / "config" / "kiosk-self-checkout.example.toml").read_text(encoding="utf-8")
    code = textwrap.dedent(
        f"""
        from engine.config.model import parse_config
        parse_config({text!r})
        print(sorted(m for m in ("escpos", "PIL", "gpiozero", "usb") if m in sys.modules))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", "import sys\n" + code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_printer_loads_its_library_at_the_first_receipt_not_at_start() -> None:
    """python-escpos and Pillow cost about 9 MB resident: a sorter that prints a slip
    a day should not carry them from its start (bench/footprint.py)."""
    code = textwrap.dedent(
        """
        import json
        import sys
        from drivers.registry import open_device
        printer = open_device("escpos+dummy://")
        printer.open()
        heavy = ("escpos.capabilities", "escpos.printer", "PIL.Image")
        before = sorted(m for m in heavy if m in sys.modules)
        printer.print_receipt(["Phiếu trả", "Slip"])
        after = sorted(m for m in heavy if m in sys.modules)
        print(json.dumps([before, after, len(printer.output) > 0]))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    before, after, printed = json.loads(done.stdout)
    assert before == []
    assert after == ["PIL.Image", "escpos.capabilities", "escpos.printer"]
    assert printed is True


def test_a_case_switch_without_gpiozero_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tamper guard reports the switch unavailable with the one line (and keeps going)."""
    from engine.events import EventBus
    from engine.security.reporter import SecurityReporter
    from engine.tamper.case import CaseSwitch

    _block(monkeypatch, "gpio")
    bus = EventBus()
    with pytest.raises(ValueError, match=r"the case switch\) needs `pip install muontra\[gpio\]`"):
        CaseSwitch(17, SecurityReporter(bus), bus)
