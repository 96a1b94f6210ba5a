"""The cue tones: real WAV files of the right length, played through a stand-in for aplay."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest

from ui import tones


def test_tones_are_mono_16_bit_wavs_of_the_planned_length(tmp_path: Path) -> None:
    for name, notes in tones.TONES.items():
        path = tmp_path / f"{name}.wav"
        tones.write_tone(path, notes)
        with wave.open(str(path)) as sound:
            assert (sound.getnchannels(), sound.getsampwidth(), sound.getframerate()) == (
                1,
                2,
                tones.RATE,
            )
            seconds = sum(length for _, length in notes)
            assert sound.getnframes() == sum(int(tones.RATE * s) for _, s in notes)
            assert abs(sound.getnframes() / tones.RATE - seconds) < 0.01


def test_player_runs_aplay_with_the_tone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "played"
    fake = tmp_path / "aplay"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    fake.chmod(0o755)
    monkeypatch.setattr(tones.shutil, "which", lambda name: str(fake))
    player = tones.TonePlayer()
    assert player.available and set(player.files) == {"ok", "attention"}
    player.play("attention")
    import time

    deadline = time.monotonic() + 5
    while not log.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert log.read_text().split() == ["-q", str(player.files["attention"])]
