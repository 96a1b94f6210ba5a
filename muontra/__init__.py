"""muontra ("mượn trả": borrow and return): self-service library hardware.

This package holds only the `muontra` command dispatcher, the one module allowed
to import every layer (lazily, per subcommand).
"""

__version__ = "0.1.0"
