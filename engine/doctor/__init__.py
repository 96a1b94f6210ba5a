"""`muontra doctor`: on the device, check everything a daemon needs before it runs.

The installer's one question after ``scripts/install-device.sh``: will this
kiosk, gate or return machine work here? Each check (config, devices, ILS,
broker, clock, disk, memory, permissions) gives one line, ok / warn / fail, and for
anything not ok what to do about it in Vietnamese and English.
"""
