"""Stopping paho's network thread without its shutdown race.

paho-mqtt 2.1's ``loop_stop`` checks ``self._thread`` and then joins it, while the
network thread clears that same attribute in its ``finally`` as it ends. When a
``disconnect()`` lets the thread finish between the two, ``loop_stop`` raises
``AttributeError: 'NoneType' object has no attribute 'join'`` — seen once in CI at
the end of a slow-consumer test. The thread has ended by then, which is all the
caller asked for, so that one error is taken as success.
"""

from __future__ import annotations

import contextlib

import paho.mqtt.client as mqtt


def stop_loop(client: mqtt.Client) -> None:
    """Stop the client's network thread and wait for it; a thread already gone is fine."""
    # The race above: the thread cleared its own handle between paho's check and its
    # join, so it has finished.
    with contextlib.suppress(AttributeError):
        client.loop_stop()
