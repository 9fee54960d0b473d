"""Kibana saved objects generated from dashboard specs, and their import into Kibana.

``specs`` loads and validates ``dashboards/specs/*.yml``; ``builder`` turns them into saved
objects for a target (``targets``: Kibana 8.x or Kibana 7.10 / OpenSearch Dashboards);
``ndjson`` writes them as Kibana exports them; ``importer`` posts them to Kibana's import API.
"""
