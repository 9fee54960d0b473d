"""ElastAlert2's real run loop, minute by minute with a simulated clock, against an OpenSearch node.

Not a test (it needs ElastAlert2 and a node): with ``scripts/services.sh start opensearch`` running,

    /tmp/ea2/bin/python -m elastalert.create_index --host 127.0.0.1 --port 9200 --no-auth --no-ssl \\
        --url-prefix '' --index elastalert_status --old-index '' --no-verify-certs
    /tmp/ea2/bin/python tests/alerts/side_by_side/elastalert2_run_loop.py http://127.0.0.1:9200

Each scenario of test_alert_elastalert_semantics.py gets its own index; ElastAlert2's
``handle_rule_execution`` and ``send_pending_alerts`` run once per simulated minute with
``ts_now`` patched, and the alerts it sends (``send_alert``) are printed with their minute.
"""

from __future__ import annotations

import json
import sys
import tempfile
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import elastalert.elastalert as ea
import elastalert.ruletypes as ruletypes
import elastalert.util as util

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
NOW = [T0]


def at(minutes: float, seconds: float = 0) -> datetime:
    return T0 + timedelta(minutes=minutes, seconds=seconds)


def bulk(url: str, index: str, rows: list[tuple[datetime, dict]]) -> None:
    lines = []
    for when, fields in rows:
        lines.append(json.dumps({"index": {"_index": index}}))
        lines.append(json.dumps({"@timestamp": when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z", **fields}))
    request = urllib.request.Request(f"{url}/_bulk?refresh=true", ("\n".join(lines) + "\n").encode(),
                                     {"Content-Type": "application/x-ndjson"})
    urllib.request.urlopen(request).read()


def burst(minute: float, n: int, service: str = "api") -> list:
    return [(at(minute, 2 * i), {"log": {"level": "ERROR"}, "service": {"name": service}}) for i in range(n)]


ERROR = {"log": {"level": "ERROR"}, "service": {"name": "api"}}
FREQ = "type: frequency\nnum_events: 3\ntimeframe: {minutes: 5}\nrealert: {minutes: 10}\n"
METRIC = "type: metric_aggregation\nmetric_agg_key: latency\nmetric_agg_type: max\nmax_threshold: 500\n" \
         "realert: {minutes: 0}\n"
SCENARIOS = {
    "realert-no-qk": (burst(1, 3) + burst(3, 3, "db") + burst(13, 3, "db"), FREQ, 1, 20),
    "realert-qk": (burst(1, 3) + burst(3, 3, "db") + burst(8, 3, "db") + burst(13, 3),
                   FREQ + "query_key: service.name\n", 1, 20),
    "new-term-no-qk": ([(at(1), {"user": "alice"}), (at(2), {"user": "bob"}), (at(15), {"user": "carol"})],
                       "type: new_term\nfields: [user]\nrealert: {minutes: 10}\n", 1, 20),
    "aggregation": ([(at(1, 10 * i), dict(ERROR)) for i in range(5)],
                    "type: any\naggregation: {minutes: 5}\n", 1, 10),
    "aggregation-realert": ([(at(1, 10 * i), dict(ERROR)) for i in range(5)],
                            "type: any\naggregation: {minutes: 5}\nrealert: {minutes: 1}\n", 1, 10),
    "frequency-slide": ([(at(0, 30), dict(ERROR)), (at(1, 30), dict(ERROR)), (at(5, 20), dict(ERROR))],
                        FREQ, 1, 10),
    "frequency-count-query": ([(at(0, 30), dict(ERROR)), (at(1, 30), dict(ERROR)), (at(5, 20), dict(ERROR))],
                              FREQ + "use_count_query: true\ndoc_type: _doc\n", 1, 10),
    "metric-buffer": ([(at(1), {"latency": 900}), (at(1, 30), {"latency": 100})],
                      METRIC + "buffer_time: {minutes: 10}\n", 1, 15),
}


def run(url: str, name: str, rows: list, body: str, first: int, last: int) -> list[tuple[float, int]]:
    index = f"sbs-{name}-2026.11.20"
    bulk(url, index, rows)
    host, port = url.split("//")[1].split(":")
    folder = Path(tempfile.mkdtemp())
    (folder / "rules").mkdir()
    (folder / "rules" / "r.yaml").write_text(f"name: {name}\nindex: sbs-{name}-*\nalert: [debug]\n{body}")
    (folder / "config.yaml").write_text(
        f"rules_folder: {folder / 'rules'}\nrun_every: {{minutes: 1}}\nbuffer_time: {{minutes: 45}}\n"
        f"es_host: {host}\nes_port: {port}\nwriteback_index: elastalert_status\n"
        "alert_time_limit: {days: 2}\nold_query_limit: {days: 1}\n")
    NOW[0] = at(first - 1)
    client = ea.ElastAlerter(["--config", str(folder / "config.yaml")])
    sent: list[tuple[float, int]] = []
    original = client.send_alert

    def record(matches, rule, alert_time=None, retried=False):
        sent.append((round((NOW[0] - T0).total_seconds() / 60, 2), len(matches)))
        return original(matches, rule, alert_time=alert_time, retried=retried)

    client.send_alert = record
    [rule] = client.rules
    for minute in range(first, last + 1):
        NOW[0] = at(minute)
        client.handle_rule_execution(rule)
        client.send_pending_alerts()
    return sent


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:9200"
    # ruletypes imported ts_now itself: new_term's look-back (get_all_terms) must see the simulated clock too.
    ea.ts_now = util.ts_now = ruletypes.ts_now = lambda: NOW[0]
    for name, (rows, body, first, last) in SCENARIOS.items():
        print(f"{name}: alerts sent at (minute, matches) {run(url, name, rows, body, first, last)}")


if __name__ == "__main__":
    main()
