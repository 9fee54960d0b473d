"""What operators read: the health report, Prometheus metrics, thread stacks (served by runtime/api.py)."""
