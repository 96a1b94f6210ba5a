"""The bins: counts, full flags, where an item really went, and emptying a bin."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sorter.flight import InFlight
from sorter.machine_base import SorterBase
from sorter.slips import emptied_bin, empty_bin_keep_manifest, print_slip_if_it_can

if TYPE_CHECKING:
    from engine.mqtt.commands import EmptiedBin
    from sorter.texts import Language


class BinCounting(SorterBase):
    """What is in each bin, as staff and the next decision see it."""

    def _placed(self, item: InFlight, bin_id: str) -> None:
        """The item is in ``bin_id`` (its own, or the exception bin when it missed its
        diverter): counted there now, not before."""
        decision = item.decision
        assert decision is not None
        if item.manifest is not None:
            self.bins.land(item.manifest, decision.bin, bin_id)
            self._tell_bins()
            self._apply()
        self.store.diverted(item.row_id, self.clock(), bin_id)

    def _unplaced(self, item: InFlight) -> None:
        """An item counted in its bin never reached it (a jam held it back): out of the
        count, bound for the end of the belt, where it will be counted."""
        decision = item.decision
        assert decision is not None
        if item.manifest is not None:
            self.bins.unland(item.manifest, decision.bin, decision.bin)
            self._tell_bins()

    def _bins_list(self) -> list[dict[str, Any]]:
        roles: dict[str, str] = {self.settings.exception_bin: "exception"}
        if self.settings.hold_bin:
            roles.setdefault(self.settings.hold_bin, "hold")
        if self.settings.ill_bin:
            roles.setdefault(self.settings.ill_bin, "ill")
        for bin_id in (
            self.settings.transit.default,
            *self.settings.transit.by_destination.values(),
        ):
            if bin_id:
                roles.setdefault(bin_id, "transit")
        for b in self.settings.bins:
            if b.overflow:
                roles.setdefault(b.overflow, "overflow")
        return [
            {
                "id": level.bin_id,
                "name": {"vi": b.name_vi, "en": b.name_en},
                "count": level.count,
                "capacity": level.capacity,
                "full": level.full,
                "role": roles.get(level.bin_id, "normal"),
            }
            for level, b in zip(self.bins.levels(), self.settings.bins, strict=True)
        ]

    def _tell_bins(self) -> None:
        bins = self._bins_list()
        self.bus.publish("bins", bins=bins)
        full = {b["id"] for b in bins if b["full"]}
        for b in bins:
            if b["id"] in full - self._full:
                sensor = self.bins.level(b["id"]).sensor_full
                self.bus.publish(
                    "bin_full", bin=b["id"], count=b["count"], capacity=b["capacity"], sensor=sensor
                )
        self._full = full

    def empty_bin(self, bin_id: str, staff: str | None = None) -> EmptiedBin:
        """Staff emptied ``bin_id``: count to 0, CSV manifest kept, slip printed if it can be.

        :class:`UnknownBin` for a bin this machine does not have. The caller (the local
        API, the MQTT command) announces it with ``announce_bin_emptied``, once.
        The slip is printed outside the machine's lock (a printer takes seconds, and the
        belt's decisions wait for that lock), under the printer's, as a receipt is.
        """
        language: Language = "en" if self.language == "en" else "vi"
        with self.lock:
            slip, manifest = empty_bin_keep_manifest(
                self.bins, bin_id, directory=self.manifest_dir, clock=self.clock
            )
            self._tell_bins()
            self._apply()
        printed = False
        if self.printer is not None:
            with self.printer_lock:
                printed = print_slip_if_it_can(
                    self.printer, slip, language, self.clock, staff=staff
                )
        return emptied_bin(slip, manifest, printed)
