"""Where rules read events: the embedded local index or Elasticsearch (same interface)."""

from pipeline.alerts.backends.base import Backend, expand_index

__all__ = ["Backend", "expand_index"]
