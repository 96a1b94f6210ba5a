"""Simulated devices: the tag field, the ``sim://`` reader and far-end reader simulators."""
