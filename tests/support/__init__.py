"""Helpers shared by tests (fake servers, builders); import as ``support.<module>``."""
