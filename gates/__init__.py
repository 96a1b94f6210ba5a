"""The security-gate role on the engine core."""
