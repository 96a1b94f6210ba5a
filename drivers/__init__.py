"""Device I/O behind small interfaces, each device opened by a URL."""
