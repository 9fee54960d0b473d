"""A light, Logstash-compatible log pipeline."""

__version__ = "0.1.0"
