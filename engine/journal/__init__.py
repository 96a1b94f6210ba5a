"""The engine's journal: every circulation step written before it is done."""
