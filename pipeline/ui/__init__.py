"""``pipeline ui``: a local web page over the embedded index (or a cluster) — Discover, the dashboards of
``dashboards/specs`` rendered natively, the alert state, and the pipeline's health.

Read-only: every route is a GET. Bound to 127.0.0.1 unless ``--host`` says otherwise, which then needs
``--auth``. Charts are Apache ECharts, vendored under ``static/vendor`` (no CDN: the page works offline).
"""
