"""The ILM policy of our users' retention: hot 7 days, warm until 30 days, cold, then deleted.

Daily indices are named by date, so there is no rollover: ``min_age``
counts from the creation of each daily index.
"""

from __future__ import annotations

from typing import Any

from pipeline.plugin import Duration

DEFAULT_POLICY_NAME = "pipeline-logs"
WARM_AFTER_DAYS = 7
COLD_AFTER_DAYS = 30


def parse_days(value: str | int | float) -> int:
    """``90d``/``12w``/``90`` → whole days (at least 1)."""
    seconds = Duration.parse(value if not isinstance(value, (int, float)) else f"{value}d")
    days = int(seconds // 86400)
    if days < 1:
        raise ValueError(f"retention must be at least 1 day, got {value!r}")
    return days


def build_ilm_policy(delete_after_days: int = 90, *, warm_after_days: int = WARM_AFTER_DAYS,
                     cold_after_days: int = COLD_AFTER_DAYS) -> dict[str, Any]:
    """The body of ``PUT _ilm/policy/<name>``; phases past the delete age are left out."""
    phases: dict[str, Any] = {
        "hot": {"min_age": "0ms", "actions": {"set_priority": {"priority": 100}}},
    }
    if warm_after_days < delete_after_days:
        phases["warm"] = {"min_age": f"{warm_after_days}d", "actions": {
            "set_priority": {"priority": 50},
            "forcemerge": {"max_num_segments": 1},
        }}
    if cold_after_days < delete_after_days:
        phases["cold"] = {"min_age": f"{cold_after_days}d", "actions": {
            "set_priority": {"priority": 0},
            "readonly": {},
        }}
    phases["delete"] = {"min_age": f"{delete_after_days}d", "actions": {"delete": {}}}
    return {"policy": {"phases": phases, "_meta": {"managed_by": "pipeline",
                                                   "description": f"hot {warm_after_days}d, warm until "
                                                   f"{cold_after_days}d, deleted after {delete_after_days}d"}}}
