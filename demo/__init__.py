"""`muontra demo`: every role and the ILS simulator together, for a person to watch.

Above the roles (it starts them) and below the `muontra` dispatcher; no role imports it."""
