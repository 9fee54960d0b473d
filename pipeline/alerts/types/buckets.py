"""The query window and buckets of ElastAlert2's aggregation rules (metric_aggregation, percentage_match).

Every run looks back ``buffer_time`` (``run_every`` with ``use_run_every_query_size``).
Without ``bucket_interval`` the whole window is one result, timed at its end; with it
the window is cut into buckets of that length (a date_histogram), each timed at its
start. Buckets start at the window start unless ``sync_bucket_interval`` moves the
start back to a multiple of the interval (since the epoch).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pipeline.alerts.options import RuleOptions
from pipeline.alerts.periods import Period
from pipeline.plugin import option


@dataclass(frozen=True, kw_only=True)
class BucketOptions(RuleOptions):
    bucket_interval: Period | None = option(None, "Cut the window into buckets of this length, each "
                                                  "checked (buffer_time must be a multiple of it).")
    sync_bucket_interval: bool = option(False, "Buckets start at multiples of bucket_interval since the "
                                               "epoch instead of at the window start.")
    use_run_every_query_size: bool = option(False, "The window is run_every instead of buffer_time.")
    allow_buffer_time_overlap: bool = option(
        False, "Accepted for ElastAlert2 rules: every run already looks back the whole buffer_time here.")

    def __post_init__(self) -> None:
        if self.bucket_interval:
            size = self.run_every if self.use_run_every_query_size else self.buffer_time
            name = "run_every" if self.use_run_every_query_size else "buffer_time"
            if float(size) % float(self.bucket_interval) > 1e-6:
                raise ValueError(f"{name} ({float(size):g}s) must be a multiple of bucket_interval "
                                 f"({float(self.bucket_interval):g}s)")


def latest_step_start(opts: BucketOptions, start: datetime, end_limit: datetime) -> datetime:
    """A run behind by less than its window evaluates only the last step: the window covers the rest."""
    size = opts.run_every if opts.use_run_every_query_size else opts.buffer_time
    if end_limit - start > size.delta:
        return start
    due = (end_limit - start) // opts.run_every.delta
    return start + opts.run_every.delta * max(due - 1, 0)


def buckets(opts: BucketOptions, end: datetime) -> list[tuple[datetime, datetime, datetime]]:
    """``(start, end, match time)`` of each result of the run ending at ``end``."""
    size = opts.run_every if opts.use_run_every_query_size else opts.buffer_time
    start = end - size.delta
    if not opts.bucket_interval:
        return [(start, end, end)]
    interval = float(opts.bucket_interval)
    if opts.sync_bucket_interval:
        offset = start.timestamp() % interval
        start -= timedelta(seconds=offset)
    out = []
    moment = start
    while moment < end:
        upper = min(moment + opts.bucket_interval.delta, end)
        out.append((moment, upper, moment))
        moment = upper
    return out
