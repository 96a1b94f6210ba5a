"""What the screens show and what a touch does, as plain Python (no Qt), tested without a window."""
