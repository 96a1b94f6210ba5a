"""The fleet's centre: `muontra central` gathers every device's MQTT stream into one store.

It imports ``protocols`` (payloads, topics) and its own modules, never a device role
or ``drivers`` (../shared/DESIGN.md, "Layers"): central is a client of the fleet,
not a device.
"""
