"""Codecs: one module per codec (``plain``, ``line``, ``json``, ``json_lines`` ...)."""
