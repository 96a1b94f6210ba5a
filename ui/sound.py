"""Optional sound cues: a tone when an item is read, another when one needs attention.

QSoundEffect lives in QtMultimedia, which PySide6-Essentials does not ship;
without it the generated tones of :mod:`ui.tones` play through ALSA's
``aplay``. With neither, the cues are skipped — the screen alone must always
be enough.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QUrl

log = logging.getLogger(__name__)

SOUNDS = Path(__file__).with_name("sounds")


class SoundCues:
    def __init__(self, enabled: bool, parent: QObject) -> None:
        self.effects: dict[str, Any] = {}
        if not enabled:
            return
        try:
            from PySide6.QtMultimedia import QSoundEffect
        except ImportError:
            from ui.tones import TonePlayer

            player = TonePlayer()
            if player.available:
                self.effects = {name: _Tone(player, name) for name in player.files}
            return
        for name in ("ok", "attention"):
            path = SOUNDS / f"{name}.wav"
            if path.exists():
                effect = QSoundEffect(parent)
                effect.setSource(QUrl.fromLocalFile(str(path)))
                self.effects[name] = effect

    def play(self, name: str) -> None:
        effect = self.effects.get(name)
        if effect is not None:
            effect.play()

    def follow(self, vm: Any) -> Callable[[], None]:
        """A viewmodel listener that plays a cue when a row turns ok or needs attention."""
        seen: dict[str, str] = {}

        def listener() -> None:
            if not self.effects:
                return
            for key, row in list(vm.rows.items()) + list(vm.returns.items()):
                if seen.get(key) != row.state:
                    seen[key] = row.state
                    if row.state == "ok":
                        self.play("ok")
                    elif row.state in ("attention", "failed"):
                        self.play("attention")

        return listener


class _Tone:
    """A generated tone with QSoundEffect's one method the cues use."""

    def __init__(self, player: Any, name: str) -> None:
        self.player = player
        self.name = name

    def play(self) -> None:
        self.player.play(self.name)
