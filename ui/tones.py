"""The cue tones, made at start with the standard library: no sound files to ship.

"ok" is one short high tone (an item went through), "attention" two lower
ones (an item needs the patron). Played through ALSA's ``aplay`` (Debian's
alsa-utils), which every Raspberry Pi OS image has, in a thread so a slow
sound card never holds up the screen.
"""

from __future__ import annotations

import logging
import math
import shutil
import struct
import subprocess
import tempfile
import threading
import wave
from pathlib import Path

log = logging.getLogger(__name__)

RATE = 22050
TONES: dict[str, list[tuple[float, float]]] = {
    "ok": [(1320.0, 0.12)],
    "attention": [(660.0, 0.15), (0.0, 0.08), (660.0, 0.15)],
}


def write_tone(path: Path, notes: list[tuple[float, float]], volume: float = 0.4) -> None:
    """A mono 16-bit WAV of (frequency, seconds) notes; frequency 0 is a pause."""
    frames = bytearray()
    for frequency, seconds in notes:
        count = int(RATE * seconds)
        fade = max(1, int(RATE * 0.01))  # 10 ms ramps: no clicks
        for n in range(count):
            envelope = min(1.0, n / fade, (count - n) / fade)
            value = (
                volume * envelope * math.sin(2 * math.pi * frequency * n / RATE)
                if frequency
                else 0.0
            )
            frames += struct.pack("<h", int(value * 32767))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(bytes(frames))


class TonePlayer:
    def __init__(self) -> None:
        self.player = shutil.which("aplay")
        self.folder = Path(tempfile.mkdtemp(prefix="muontra-tones-"))
        self.files: dict[str, Path] = {}
        if self.player is None:
            log.info("no aplay (alsa-utils): no sound cues")
            return
        for name, notes in TONES.items():
            path = self.folder / f"{name}.wav"
            write_tone(path, notes)
            self.files[name] = path

    @property
    def available(self) -> bool:
        return bool(self.files)

    def play(self, name: str) -> None:
        path = self.files.get(name)
        if path is None or self.player is None:
            return
        command = [self.player, "-q", str(path)]
        threading.Thread(
            target=subprocess.run,
            args=(command,),
            kwargs={"check": False, "timeout": 5},
            daemon=True,
        ).start()
