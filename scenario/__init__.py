"""Scenarios: a TOML file of simulated devices, timed steps and expectations, run end to end."""
