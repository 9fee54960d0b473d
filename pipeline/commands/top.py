"""``pipeline top``: per-plugin rates and health of a running pipeline, read from its monitoring API.

Like ``vector top``: a table refreshed every ``--interval`` seconds (Ctrl-C to quit), or printed once
with ``--once`` (two samples ``--interval`` apart, so rates are real). Works against any process
serving the API, including one running as a service.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from typing import Any

Sample = tuple[float, dict[str, Any]]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("top", help="live per-plugin rates and health of a running pipeline",
                            description="Show events/s per pipeline and plugin, queue and health, "
                                        "read from the monitoring API of a running `pipeline run`.")
    parser.add_argument("--url", default="http://127.0.0.1:9600", help="monitoring API (default %(default)s)")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between refreshes (default 2)")
    parser.add_argument("--once", action="store_true", help="print one table and exit (for scripts)")
    parser.set_defaults(func=run)


def fetch(url: str, path: str) -> dict[str, Any]:
    with urllib.request.urlopen(url.rstrip("/") + path, timeout=5) as response:
        return json.load(response)  # type: ignore[no-any-return]


def sample(url: str) -> Sample:
    return time.monotonic(), {"stats": fetch(url, "/_node/stats"), "health": fetch(url, "/_health_report")}


def _rate(now: dict[str, Any], before: dict[str, Any] | None, key: str, seconds: float) -> float:
    if before is None or seconds <= 0:
        return 0.0
    return max(0.0, (now["events"].get(key, 0) - before["events"].get(key, 0)) / seconds)


def render(previous: Sample | None, current: Sample) -> str:
    seconds = current[0] - previous[0] if previous else 0.0
    stats, health = current[1]["stats"], current[1]["health"]
    old = previous[1]["stats"]["pipelines"] if previous else {}
    per_health = health.get("indicators", {}).get("pipelines", {}).get("indicators", {})
    lines = [f"pipeline {stats.get('version', '?')} on {stats.get('host', '?')} — status {health.get('status')}"
             f" — {health.get('symptom', '')}", ""]
    header = f"{'PIPELINE / PLUGIN':<34} {'KIND':<7} {'IN/s':>10} {'OUT/s':>10} {'IN':>12} {'OUT':>12} {'FAIL':>7}"
    for pipeline_id, pipe in sorted(stats.get("pipelines", {}).items()):
        before = old.get(pipeline_id)
        queue = pipe.get("queue", {})
        state = per_health.get(pipeline_id, {})
        lines.append(f"[{pipeline_id}] {state.get('status', '?')}: {state.get('symptom', '')}")
        lines.append(f"  queue {queue.get('type', '?')}: {queue.get('events_count', 0)} events"
                     f", in flight {queue.get('inflight', {}).get('events', 0)}"
                     f"; reloads {pipe.get('reloads', {}).get('successes', 0)} ok"
                     f" / {pipe.get('reloads', {}).get('failures', 0)} failed")
        lines.append(header)
        lines.append(f"{pipeline_id:<34} {'':<7} {_rate(pipe, before, 'in', seconds):>10,.0f} "
                     f"{_rate(pipe, before, 'out', seconds):>10,.0f} {pipe['events']['in']:>12,} "
                     f"{pipe['events']['out']:>12,} {pipe.get('output_rejected', 0):>7,}")
        old_plugins = {p["id"]: p for kind in (before or {}).get("plugins", {}).values() for p in kind}
        for kind, plugins in pipe.get("plugins", {}).items():
            for plugin in plugins:
                prior = old_plugins.get(plugin["id"])
                name = f"  {plugin['name']} ({plugin['id']})"
                lines.append(f"{name[:34]:<34} {kind.rstrip('s'):<7} {_rate(plugin, prior, 'in', seconds):>10,.0f} "
                             f"{_rate(plugin, prior, 'out', seconds):>10,.0f} {plugin['events']['in']:>12,} "
                             f"{plugin['events']['out']:>12,} {plugin.get('failures', 0):>7,}")
        lines.append("")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    try:
        previous = sample(args.url)
        if args.once:
            time.sleep(args.interval)
            print(render(previous, sample(args.url)))
            return 0
        while True:
            time.sleep(args.interval)
            current = sample(args.url)
            if sys.stdout.isatty():
                sys.stdout.write("\x1b[H\x1b[2J")
            print(render(previous, current), flush=True)
            previous = current
    except (urllib.error.URLError, OSError) as exc:
        print(f"pipeline top: cannot read the monitoring API at {args.url}: {exc} "
              f"(is `pipeline run` running with the API enabled?)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
