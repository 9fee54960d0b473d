"""Outputs: one module per output (``stdout``, ``file``, ``elasticsearch`` ...)."""
