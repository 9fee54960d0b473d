"""Retention tiers: daily indices move hot engine → near-line folder (NAS) → object storage → deleted.

``policy``: the policy file. ``stores``: where archived indices live (a directory, an S3 bucket),
each with its own manifest. ``engines``: the index they come from and go back to (Elasticsearch /
OpenSearch, or the embedded local index). ``tiers``: applying a policy, idempotently and resumably,
verifying every copy (count and sha256, re-read from the destination) before deleting its source.
"""
