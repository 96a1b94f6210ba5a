"""`muontra console`: the staff console, a desktop client of central's HTTP API and live stream."""
