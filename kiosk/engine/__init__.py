"""The kiosk engine: one process that owns the devices, the journal and the ILS link."""
