"""How long the air interface takes, so simulated stacks and gates feel like real ones.

Figures for ISO 15693 at the high data rate (26.48 kbit/s from the tag) with an
ICODE SLIX, as reader vendors and the standard's timing give them: a 16-slot
inventory round costs about 12 ms with nobody answering and roughly 2.4 ms more
per answering tag; collisions need extra rounds, about one more per 16 tags.
Reading a block costs ~4 ms, writing one ~9 ms (the EEPROM programming time
dominates), an AFI or EAS write ~10 ms. A one-slot inventory (ISO 15693's
Nb_slots flag) is the request and a single answer window, ~3 ms when nobody
answers: worth it where at most one tag is expected to answer (a gate's
AFI-filtered rounds); when two answer, the reader sees the collision and runs
the 16-slot round after it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AirTiming:
    inventory_round: float = 0.012
    per_tag: float = 0.0024
    collision_round: float = 0.010
    single_slot_round: float = 0.003
    command: float = 0.003
    """Request/answer overhead of any addressed command."""
    read_block: float = 0.0012
    write_block: float = 0.009
    afi_write: float = 0.010
    eas_write: float = 0.010
    scale: float = 1.0
    """1 is real time; 0 makes the simulator instant (unit tests); 0.1 is ten times faster."""

    def inventory(self, tags: int) -> float:
        extra_rounds = tags // 16
        base = self.inventory_round + tags * self.per_tag + extra_rounds * self.collision_round
        return base * self.scale

    def inventory_single(self, tags: int) -> float:
        """A one-slot round; a collision (two or more answers) adds the 16-slot round."""
        base = self.single_slot_round + min(tags, 1) * self.per_tag
        if tags > 1:
            return base * self.scale + self.inventory(tags)
        return base * self.scale

    def read(self, blocks: int) -> float:
        return (self.command + blocks * self.read_block) * self.scale

    def write(self, blocks: int) -> float:
        return (self.command + blocks * self.write_block) * self.scale

    def afi(self) -> float:
        return (self.command + self.afi_write) * self.scale

    def eas(self) -> float:
        return (self.command + self.eas_write) * self.scale

    def addressed(self) -> float:
        return self.command * self.scale


INSTANT = AirTiming(scale=0.0)


@dataclass(frozen=True, slots=True)
class SerialLine:
    """How long bytes take on a reader's UART: start bit, 8 data bits, parity, stop bit.

    A serial reader's commands spend as long on this line as on the air: a FEIG
    reader at 38400 baud 8E1 moves 3,490 bytes a second, a 3M 810 at 19200 8N1
    1,920: a 20-byte request and its 20-byte answer cost 11 or 21 ms there.
    """

    baud: int
    parity: bool = False

    def seconds(self, count: int) -> float:
        return count * (10 + int(self.parity)) / self.baud
