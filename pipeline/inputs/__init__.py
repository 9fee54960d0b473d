"""Inputs: one module per input (``stdin``, ``generator``, ``beats``, ``file`` ...)."""
