"""Filters: one module per filter (``mutate``, ``grok``, ``date`` ...)."""
