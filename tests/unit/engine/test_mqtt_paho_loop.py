"""stop_loop survives paho's shutdown race (seen once in CI in MqttLink.stop)."""

from __future__ import annotations

import threading

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from engine.mqtt.paho_loop import stop_loop


class _ThreadEndsBetweenCheckAndJoin(mqtt.Client):
    """A client whose network thread clears its handle right after paho looks at it.

    paho's loop_stop reads ``_thread`` twice (``is None``, then ``.join()``); the real
    thread sets it to None in its ``finally``. Returning the thread once and None after
    puts that interleaving on every run.
    """

    def __init__(self, finished: threading.Thread) -> None:
        super().__init__(CallbackAPIVersion.VERSION2)
        self._reads = 0
        self._finished = finished

    @property  # type: ignore[override]
    def _thread(self) -> threading.Thread | None:
        self._reads += 1
        return self._finished if self._reads == 1 else None

    @_thread.setter
    def _thread(self, value: threading.Thread | None) -> None:
        pass


def _ended_thread() -> threading.Thread:
    thread = threading.Thread(target=lambda: None)
    thread.start()
    thread.join()
    return thread


def test_the_race_is_real_in_paho() -> None:
    # If paho ever fixes it, this fails and stop_loop can go.
    with pytest.raises(AttributeError):
        _ThreadEndsBetweenCheckAndJoin(_ended_thread()).loop_stop()


def test_stop_loop_takes_the_race_as_stopped() -> None:
    client = _ThreadEndsBetweenCheckAndJoin(_ended_thread())
    stop_loop(client)
    assert client._reads >= 2  # paho got as far as the join


def test_stop_loop_stops_a_running_loop() -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.loop_start()
    stop_loop(client)
    assert client._thread is None
