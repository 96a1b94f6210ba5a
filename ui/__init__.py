"""PySide6 touchscreen and staff console: clients of the engine's local API."""
