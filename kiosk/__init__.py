"""The engine core shared by every device role, and the kiosk and return roles."""
