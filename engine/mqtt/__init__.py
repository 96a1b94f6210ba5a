"""The device's MQTT link to the fleet: a durable outbox, the paho-mqtt client, the bridge.

The schema itself (topics, payloads, what of an engine event may leave the
device) is sans-IO in :mod:`protocols.mqtt`; this package owns the socket,
the threads and the SQLite outbox.
"""
