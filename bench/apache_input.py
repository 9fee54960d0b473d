"""The Apache benchmarks' input: the 10,000 real lines of ``access/apache_logs`` repeated to N lines.

One generator for every bench script that feeds those lines to the real command (issue 15), so our
pipeline and the peers (syslog-ng, rsyslog) read the same bytes. Two time orders:

``ordered`` (the default)
    line i is corpus line ``i % 10,000`` as in ``repeat``, but its ``[dd/MMM/yyyy:HH:mm:ss +zzzz]``
    timestamp is rewritten to ``first + (last - first) * i // (N - 1)`` seconds, ``first``/``last``
    being the corpus's earliest and latest instants, shown in the line's own zone. Timestamps never go
    backwards over the whole file and span the corpus's days (17-20 May 2015). This is the default
    because real logs are written in time order: repeating the corpus sends every day's events to the
    embedded local index (one file per day) 20 times out of order, which inflates its time index's
    cost (WAL frames per commit) beyond what a user's logs would cost.
    With ``lines_per_second`` (``--lines-per-second N``) line i gets ``first + floor(i / N)`` seconds
    instead: N lines share each second (the default spread is ~0.7 lines/s at 200,000 lines, the worst
    case for the date filter's caches; real servers write tens to thousands a second).
``repeat``
    the corpus bytes repeated unchanged, as every figure recorded before 2026-12-03 used: keep it for
    comparisons with those figures.

Everything but the timestamp is unchanged, and the line count is N in both orders.
"""

from __future__ import annotations

import argparse
import calendar
import math
import os
import re
import time
from pathlib import Path

TIME_ORDERS = ("ordered", "repeat")
DEFAULT_TIME_ORDER = "ordered"

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_NUMBER = {name.encode(): number for number, name in enumerate(_MONTHS, start=1)}
# The combined format's time field; the first bracketed one in a line (a request may hold others).
_TIMESTAMP = re.compile(rb"\[(\d{2})/([A-Z][a-z]{2})/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})\]")


class CorpusMissing(FileNotFoundError):
    """The shared Apache corpus is not where PIPELINE_SHARED_DATA (or ../shared/data) points."""


def corpus_path() -> Path:
    """``access/apache_logs`` under $PIPELINE_SHARED_DATA, else under a ``shared/data`` next to the repo."""
    repo = Path(__file__).resolve().parents[1]
    shared = os.environ.get("PIPELINE_SHARED_DATA")
    candidates = [Path(shared)] if shared else [repo.parent / "shared" / "data", repo.parents[1] / "shared" / "data"]
    for folder in candidates:
        path = folder / "access" / "apache_logs"
        if path.is_file():
            return path
    raise CorpusMissing(f"the corpus {candidates[0] / 'access' / 'apache_logs'} is missing: "
                        "set PIPELINE_SHARED_DATA to the shared data folder")


def _instant_and_offset(match: re.Match[bytes]) -> tuple[int, int]:
    """Seconds since the epoch and the zone offset in seconds of one matched timestamp."""
    day, month, year, hour, minute, second, sign, zone_h, zone_m = match.groups()
    offset = (int(zone_h) * 3600 + int(zone_m) * 60) * (-1 if sign == b"-" else 1)
    local = calendar.timegm((int(year), _MONTH_NUMBER[month], int(day), int(hour), int(minute), int(second)))
    return local - offset, offset


def _format(instant: int, offset: int) -> bytes:
    local = time.gmtime(instant + offset)
    sign = "-" if offset < 0 else "+"
    zone = abs(offset) // 60
    return (f"[{local.tm_mday:02d}/{_MONTHS[local.tm_mon - 1]}/{local.tm_year}:{local.tm_hour:02d}:"
            f"{local.tm_min:02d}:{local.tm_sec:02d} {sign}{zone // 60:02d}{zone % 60:02d}]").encode()


def build_lines(corpus: list[bytes], events: int, order: str = DEFAULT_TIME_ORDER,
                lines_per_second: float | None = None) -> list[bytes]:
    """``events`` lines from ``corpus`` (lines with their newlines) in the given time order; for
    ``ordered``, ``lines_per_second`` sets the rate instead of spreading the lines over the corpus's span
    (``repeat`` keeps the corpus bytes: it has no rate to set)."""
    if order not in TIME_ORDERS:
        raise ValueError(f"unknown time order {order!r}; choose one of {', '.join(TIME_ORDERS)}")
    if lines_per_second is not None and not lines_per_second > 0:
        raise ValueError(f"lines per second must be above 0, not {lines_per_second}")
    if not corpus:
        raise ValueError("the corpus has no lines")
    lines = [corpus[i % len(corpus)] for i in range(events)]
    if order == "repeat":
        return lines
    matches = [_TIMESTAMP.search(line) for line in corpus]
    instants = [_instant_and_offset(m)[0] for m in matches if m]
    if not instants:
        raise ValueError("no line of the corpus has a [dd/MMM/yyyy:HH:mm:ss +zzzz] timestamp to order")
    first, span = min(instants), max(instants) - min(instants)
    out = []
    for i, line in enumerate(lines):
        match = matches[i % len(corpus)]
        if match is None:  # no timestamp to rewrite: the line is kept as it is
            out.append(line)
            continue
        if lines_per_second is None:
            instant = first + span * i // max(events - 1, 1)
        else:
            instant = first + math.floor(i / lines_per_second)
        out.append(line[:match.start()] + _format(instant, _instant_and_offset(match)[1]) + line[match.end():])
    return out


def write_input(target: Path, events: int, order: str = DEFAULT_TIME_ORDER,
                lines_per_second: float | None = None) -> list[bytes]:
    """Write the benchmark file to ``target`` and return its lines."""
    lines = build_lines(corpus_path().read_bytes().splitlines(keepends=True), events, order, lines_per_second)
    target.write_bytes(b"".join(lines))
    return lines


def add_time_order_argument(parser: argparse.ArgumentParser, several: bool = False) -> None:
    """The shared ``--time-order`` option; ``several`` lets a script interleave orders in its rounds."""
    help_text = (f"timestamps of the generated lines: ordered (rewritten to never go backwards, like real "
                 f"logs) or repeat (the corpus bytes repeated, as figures before 2026-12-03); "
                 f"default {DEFAULT_TIME_ORDER}")
    if several:
        parser.add_argument("--time-order", nargs="+", choices=TIME_ORDERS, default=[DEFAULT_TIME_ORDER],
                            help=help_text + "; several are run in the same interleaved rounds")
    else:
        parser.add_argument("--time-order", choices=TIME_ORDERS, default=DEFAULT_TIME_ORDER, help=help_text)


def add_line_rate_argument(parser: argparse.ArgumentParser) -> None:
    """The shared ``--lines-per-second`` option (ordered input only)."""
    parser.add_argument("--lines-per-second", type=float, default=None, metavar="N",
                        help="ordered input: N lines share each second (default: the lines spread over the "
                             "corpus's 3.5 days, ~0.7 lines/s at 200,000 lines)")
