"""The PC/SC rig: a private pcscd, vsmartcard's virtual reader, and a virtual tag card.

pcscd loads ``libifdvpcd.so`` from a reader.conf written for this rig; the
driver listens on a free TCP port for the card program
(:mod:`tests.contract.rigs.vpcd_card`), which plays the field's first tag.
The driver under test opens ``pcsc://Virtual PCD 00 00`` through the registry,
exactly as the engine would.

Keeping pcscd private: the client library connects to the socket named by
``PCSCLITE_CSOCK_NAME`` (read once per process, at the first context, hence one
socket path per test process), but pcscd 1.9 ignores that variable and always
serves /run/pcscd/pcscd.comm. So pcscd runs in its own mount namespace with a
private directory bound over /run/pcscd (needs CAP_SYS_ADMIN, as root in CI
containers); without one, pcscd runs plainly with the variable set, which
newer versions honour, and the rig skips if the socket does not appear.

``unplug`` stops the card and pcscd (the reader is gone: DeviceUnavailable);
``replug`` starts both again on fresh ports. Placing or removing the tag that
is the card waits until pcscd has seen the change, as a person waits for the
reader's beep, so cases see the same field through PC/SC as through the
simulator.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest

from drivers.registry import open_device
from drivers.sim.field import SimTag, TagField
from tests.contract.rigs.base import Rig
from tests.contract.rigs.vpcd_card import LogicFactory, TagCardLogic, VirtualTagCard

log = logging.getLogger(__name__)

PCSCD = "/usr/sbin/pcscd"
VPCD_DRIVERS = (
    "/usr/lib/pcsc/drivers/serial/libifdvpcd.so",
    "/usr/local/lib/pcsc/drivers/serial/libifdvpcd.so",
)
READER = "Virtual PCD 00 00"
URL = "pcsc://Virtual%20PCD%2000%2000?retry=0.05&retry_max=0.5"
READY_TIMEOUT = 10.0
SYNC_TIMEOUT = 5.0
SOCKET_ENV = "PCSCLITE_CSOCK_NAME"


def socket_path() -> Path:
    """One socket path per process: libpcsclite caches the first name it reads."""
    return Path(tempfile.gettempdir()) / f"muontra-pcscd-{os.getpid()}" / "pcscd.comm"


def _wait(predicate: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` passes; an Event paces the polls."""
    pause = threading.Event()
    deadline = time.monotonic() + timeout
    while not predicate():
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        pause.wait(min(step, left))
    return True


def _free_port_pair() -> int:
    """A port P with P and P+1 free: vpcd opens one reader slot on each."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("", 0))
            port = int(first.getsockname()[1])
            if port >= 65535:
                continue
            with socket.socket() as second:
                try:
                    second.bind(("", port + 1))
                except OSError:
                    continue
            return port
    raise RuntimeError("no two consecutive free TCP ports")


@functools.cache
def _can_unshare() -> bool:
    """Whether pcscd can get a mount namespace of its own (asked once per process)."""
    tool = shutil.which("unshare")
    if not tool:
        return False
    result = subprocess.run(
        [tool, "--mount", "--propagation", "private", "true"], capture_output=True, check=False
    )
    return result.returncode == 0


class Pcscd:
    """One private pcscd with a vpcd reader on a chosen port."""

    def __init__(self, workdir: Path, driver: str) -> None:
        self.workdir = workdir
        self.driver = driver
        self.socket = socket_path()
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    def start(self) -> None:
        self.port = _free_port_pair()
        conf_dir = self.workdir / "reader.conf.d"
        conf_dir.mkdir(parents=True, exist_ok=True)
        (conf_dir / "vpcd").write_text(
            'FRIENDLYNAME "Virtual PCD"\n'
            f"DEVICENAME   /dev/null:0x{self.port:04X}\n"
            f"LIBPATH      {self.driver}\n"
            f"CHANNELID    0x{self.port:04X}\n"
        )
        run_dir = self.socket.parent
        run_dir.mkdir(parents=True, exist_ok=True)
        with suppress(FileNotFoundError):
            self.socket.unlink()
        command = [PCSCD, "--foreground", "--config", str(conf_dir)]
        if _can_unshare():
            script = 'mkdir -p /run/pcscd && mount --bind "$1" /run/pcscd && shift && exec "$@"'
            command = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script,
                       "sh", str(run_dir), *command]  # fmt: skip
        env = dict(os.environ, **{SOCKET_ENV: str(self.socket)})
        self._log = (self.workdir / "pcscd.log").open("ab")
        self.process = subprocess.Popen(
            command, stdout=self._log, stderr=subprocess.STDOUT, env=env
        )

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if self._log is not None:
            self._log.close()
            self._log = None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self) -> str:
        path = self.workdir / "pcscd.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""


class _Status:
    """The rig's own PC/SC context, to see what pcscd reports about the reader."""

    def __init__(self) -> None:
        from smartcard import scard

        self.scard = scard
        self.context: Any = None

    def open(self) -> bool:
        scard = self.scard
        self.close()
        hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if hresult != scard.SCARD_S_SUCCESS:
            return False
        hresult, names = scard.SCardListReaders(context, [])
        if hresult == scard.SCARD_S_SUCCESS and READER in names:
            self.context = context
            return True
        scard.SCardReleaseContext(context)
        return False

    def close(self) -> None:
        if self.context is not None:
            self.scard.SCardReleaseContext(self.context)
            self.context = None

    def wait_present(self, present: bool, timeout: float) -> bool:
        """Block in SCardGetStatusChange until pcscd reports a card (or none)."""
        scard = self.scard
        if self.context is None:
            return False
        deadline = time.monotonic() + timeout
        known = scard.SCARD_STATE_UNAWARE
        while True:
            left_ms = int((deadline - time.monotonic()) * 1000)
            hresult, states = scard.SCardGetStatusChange(
                self.context, max(left_ms, 0) if known != scard.SCARD_STATE_UNAWARE else 0,
                [(READER, known)],
            )  # fmt: skip
            if hresult == scard.SCARD_S_SUCCESS:
                known = states[0][1] & ~scard.SCARD_STATE_CHANGED
                if bool(known & scard.SCARD_STATE_PRESENT) == present:
                    return True
            elif hresult != scard.SCARD_E_TIMEOUT:
                return False
            if time.monotonic() >= deadline:
                return False


class SyncedField(TagField):
    """A field whose place/remove return once the PC/SC reader has seen the change.

    Waiting happens only where the caller holds no lock of the field: the card
    thread needs that lock to follow the change. ``bring_back`` and ``clear``
    call ``place``/``remove`` under the lock, so they wait once, afterwards.
    """

    def __init__(self) -> None:
        super().__init__()
        self.sync: Callable[[], None] | None = None
        self.card: VirtualTagCard | None = None
        self._batch = threading.local()

    def place(self, tag: SimTag) -> SimTag:
        placed = super().place(tag)
        self._settle()
        return placed

    def remove(self, uid: bytes) -> SimTag | None:
        removed = super().remove(uid)
        self._settle()
        return removed

    def bring_back(self, uid: bytes) -> SimTag:
        with self._batched():
            tag = super().bring_back(uid)
        self._settle()
        return tag

    def clear(self) -> None:
        with self._batched():
            super().clear()
        self._settle()

    @contextmanager
    def _batched(self) -> Iterator[None]:
        self._batch.depth = getattr(self._batch, "depth", 0) + 1
        try:
            yield
        finally:
            self._batch.depth -= 1

    def _settle(self) -> None:
        card = self.card
        if self.sync is None or card is None or card.is_card_thread():
            return  # a tag leaving during a write, inside the card's own thread: no waiting
        if getattr(self._batch, "depth", 0) or _owned(self.lock):
            return
        self.sync()


def _owned(lock: Any) -> bool:
    """Whether this thread holds ``lock`` (an RLock), where the interpreter can tell."""
    is_owned = getattr(lock, "_is_owned", None)
    return bool(is_owned()) if is_owned is not None else False


def _skip_reason() -> str | None:
    if not os.access(PCSCD, os.X_OK):
        return f"{PCSCD} is not installed (apt install pcscd)"
    if not any(Path(p).exists() for p in VPCD_DRIVERS):
        return "libifdvpcd.so is missing (apt install vsmartcard-vpcd)"
    try:
        import smartcard.scard  # noqa: F401
    except ImportError:
        return "pyscard is not installed"
    return None


TRANSPARENT_FEATURES = frozenset({"anticollision", "air", "eas", "lock_afi"})
"""What a reader with the transparent session reaches: every tag, AFI, EAS, system info."""


@contextmanager
def rig(
    tmp_path: Path,
    logic: LogicFactory = TagCardLogic,
    name: str = "pcsc",
    features: frozenset[str] = TRANSPARENT_FEATURES,
    url: str = URL,
) -> Iterator[Rig]:
    """The rig around one kind of contactless reader, played by ``logic``."""
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    driver = next(p for p in VPCD_DRIVERS if Path(p).exists())
    saved_env = os.environ.get(SOCKET_ENV)
    os.environ[SOCKET_ENV] = str(socket_path())
    pcscd = Pcscd(tmp_path, driver)
    status = _Status()
    field = SyncedField()
    card: VirtualTagCard | None = None
    plugged = False
    reader: Any = None

    def start() -> None:
        nonlocal card, plugged
        pcscd.start()
        if not _wait(lambda: pcscd.alive() and status.open(), READY_TIMEOUT):
            tail = pcscd.log_tail()
            pcscd.stop()
            if not _can_unshare() and not socket_path().exists():
                pytest.skip("pcscd ignores PCSCLITE_CSOCK_NAME and no mount namespace is allowed")
            raise RuntimeError(f"private pcscd did not show {READER!r}; its log:\n{tail}")
        card = VirtualTagCard(field, pcscd.port, logic=logic)
        field.card = card
        card.start()
        plugged = True
        sync()

    def stop() -> None:
        nonlocal plugged
        plugged = False
        if card is not None:
            card.stop()
        status.close()
        pcscd.stop()

    def sync() -> None:
        if not plugged or card is None:
            return
        wanted = card.wanted()
        if not card.wait_for(wanted, SYNC_TIMEOUT):
            log.warning("virtual card did not settle on %s", wanted.hex() if wanted else "no tag")
            return
        if not status.wait_present(wanted is not None, SYNC_TIMEOUT):
            log.warning("pcscd did not report the card %s", "present" if wanted else "absent")

    field.sync = sync
    try:
        start()
        reader = open_device(url)
        yield Rig(
            name=name,
            reader=reader,
            field=field,
            unplug=stop,
            replug=start,
            features=set(features),
        )
    finally:
        field.sync = None
        if reader is not None:
            reader.close()
        stop()
        with suppress(OSError):
            socket_path().parent.rmdir()
        if saved_env is None:
            os.environ.pop(SOCKET_ENV, None)
        else:
            os.environ[SOCKET_ENV] = saved_env
