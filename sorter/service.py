"""The sorter assembled from its configuration: devices opened by URL, ILS, journal, store.

Kept apart from :mod:`sorter.cli` so that tests and the scenario runner build
the very same sorter the daemon runs, without its signals and socket.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from drivers.conveyor import Conveyor
from drivers.interfaces import DeviceError, ReceiptPrinter, TagReader
from drivers.registry import open_device
from engine.clock import SiteClock, system_now
from engine.config import DeviceConfig
from engine.events import EventBus
from engine.ils.client import IlsClient
from engine.ils.embedded import EmbeddedIls
from engine.journal.store import Journal
from engine.security.reporter import SecurityReporter
from engine.tamper.afi import AfiWatch
from sorter.machine import Sorter
from sorter.receipts import Offered, Where
from sorter.settings import SorterSettings
from sorter.store import SorterStore

if TYPE_CHECKING:
    # The MQTT link (paho) is loaded only for a machine with [mqtt]: see sorter_commands.
    from engine.mqtt.commands import CommandRouter
    from engine.mqtt.link import CommandOutcome
    from engine.receipts.email import EmailSettings
    from protocols.mqtt.payloads import Command

log = logging.getLogger(__name__)


def settings_of(config: DeviceConfig) -> SorterSettings:
    """The validated ``[sorter]`` section (ValueError when the file has none)."""
    try:
        section = config.section("sorter")
    except KeyError:
        raise ValueError('the sorter needs a [sorter] section and role = "sorter"') from None
    if not isinstance(section, SorterSettings):
        raise TypeError(f"[sorter] was validated by {type(section).__name__}, not SorterSettings")
    return section


def build_sorter(
    config: DeviceConfig,
    stack: ExitStack,
    *,
    ils: IlsClient | None = None,
    clock: Callable[[], datetime] = system_now,
    bus: EventBus | None = None,
    maintenance_every: float = 5.0,
    reporter: SecurityReporter | None = None,
) -> Sorter:
    """A sorter on the devices, ILS and data directory of ``config``; ``stack`` closes them."""
    settings = settings_of(config)
    if config.devices.conveyor is None or config.devices.tunnel is None:
        raise ValueError("the sorter needs devices.conveyor and devices.tunnel")
    data_dir = config.device.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    site_clock = SiteClock(config.device.timezone, clock)
    if ils is None:
        ils_settings = config.ils.settings()
        if ils_settings.simulated:
            embedded = EmbeddedIls(data_dir)
            stack.callback(embedded.stop)
            ils_settings = embedded.settings(ils_settings)
        ils = IlsClient(ils_settings, clock=site_clock.local)
        stack.callback(ils.close)
    journal = Journal.open(data_dir / "journal.sqlite")
    stack.callback(journal.close)
    store = SorterStore.open(data_dir / "sorter.sqlite")
    stack.callback(store.close)
    reader: TagReader = open_device(config.devices.tunnel)
    reader.open()
    stack.callback(reader.close)
    conveyor: Conveyor = open_device(config.devices.conveyor)
    printer: ReceiptPrinter | None = None
    if config.devices.printer is not None:
        printer = open_device(config.devices.printer)
        try:
            printer.open()
        except DeviceError as error:
            # No paper slip is no reason not to sort: the CSV manifest still lists the bin.
            log.warning("the slip printer %s is not there: %s", printer.url, error)
        stack.callback(printer.close)
    sorter = Sorter(
        settings,
        conveyor=conveyor,
        reader=reader,
        ils=ils,
        journal=journal,
        store=store,
        policy=config.security.to_policy(),
        bus=bus,
        clock=site_clock.local,
        owners=tuple(config.tags.owner_libraries),
        offline_enabled=config.offline.enabled,
        security_attempts=config.tags.security_attempts,
        maintenance_every=maintenance_every,
        language=config.device.languages[0],
        printer=printer,
        manifest_dir=data_dir / "manifests",
        where=Where(
            device_id=config.device.id,
            site=config.device.site,
            library_name=config.device.site,
            footer_vi=config.receipts.footer_vi,
            footer_en=config.receipts.footer_en,
        ),
        email=email_settings(config),
        offered=Offered(
            paper=config.receipts.print, email=config.receipts.email, qr=config.receipts.qr
        ),
    )
    # A tag at intake whose AFI is neither of the site's two values (issue 15).
    afi = AfiWatch(config.security.to_policy(), reporter or SecurityReporter(sorter.bus))
    sorter.tag_seen = afi.seen
    return sorter


def email_settings(config: DeviceConfig) -> EmailSettings | None:
    """The mail server for drop receipts, when e-mailed receipts are offered."""
    smtp = config.receipts.smtp
    if not config.receipts.email or smtp is None:
        return None
    from engine.receipts.email import EmailSettings  # the mail client: only when configured

    return EmailSettings(
        host=smtp.host,
        port=smtp.port,
        sender=smtp.sender,
        username=smtp.username,
        password=smtp.password(),
        starttls=smtp.starttls,
        tls=smtp.tls,
    )


@dataclass(frozen=True, slots=True)
class PauseCommand:
    """``lock`` / ``unlock``: stop the machine (belt and intake) or start it again."""

    sorter: Sorter
    paused: bool

    def handle(self, command: Command) -> CommandOutcome:
        from engine.mqtt.link import CommandOutcome  # loaded with the link

        self.sorter.pause(self.paused)
        return CommandOutcome(True, "paused" if self.paused else "running")


def sorter_commands(
    sorter: Sorter, reload: Callable[[], str | None] | None = None
) -> CommandRouter:
    """What central monitoring may ask of a return machine (the link's ``on_command``):
    empty a bin for real, pause and resume, a message for staff, reload."""
    from engine.mqtt.commands import (  # only with [mqtt]
        CommandRouter,
        EmptyBinCommand,
        MessageCommand,
        ReloadCommand,
    )

    return (
        CommandRouter("return machine")
        .register("empty_bin", EmptyBinCommand(sorter, sorter.bus))
        .register("lock", PauseCommand(sorter, True))
        .register("unlock", PauseCommand(sorter, False))
        .register("message", MessageCommand(sorter.bus))
        .register("reload", ReloadCommand(reload))
    )
