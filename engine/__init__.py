"""The engine core every device role shares: config, store and journal, outbox, ILS and MQTT
links, local API framing, service runner, and the journaled circulation steps."""
