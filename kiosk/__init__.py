"""The kiosk role: self-checkout and return station (the session engine, its local API
handlers and `muontra kiosk`)."""
