"""Shared Elasticsearch helpers: client construction, index template, ILM policy, setup, archive."""
