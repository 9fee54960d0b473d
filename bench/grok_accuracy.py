"""Grok accuracy on loghub: our library patterns against the ground-truth header fields of the structured CSVs.

For each system with a syslog-like or Apache-error header, every record is
matched with a library pattern (both field-name modes) and each header field
is compared with loghub's parse. Prints per system: records matched, records
whose every header field equals the ground truth, and the first differences.

    python bench/grok_accuracy.py
"""

from __future__ import annotations

import csv
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.grok import Grok

LOGHUB = Path(__file__).resolve().parents[2] / "shared" / "data" / "loghub"


def _get(found: dict[str, Any], dotted: str) -> Any:
    node: Any = found
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


# system: (pattern, {csv column: (legacy field, ecs field)} or a function of the row)
Check = dict[str, tuple[str, str]]
SYSTEMS: dict[str, tuple[str, Check, Callable[[dict[str, str]], dict[str, str]]]] = {
    "OpenSSH": ("%{SYSLOGBASE} %{GREEDYDATA:message}",
                {"timestamp": ("timestamp", "timestamp"), "host": ("logsource", "host.hostname"),
                 "pid": ("pid", "process.pid"), "program": ("program", "process.name"),
                 "content": ("message", "message")},
                lambda r: {"timestamp": f"{r['Date']} {r['Day']} {r['Time']}", "host": r["Component"],
                           "pid": r["Pid"], "program": "sshd", "content": r["Content"]}),
    "Linux": ("%{SYSLOGBASE} ?%{GREEDYDATA:message}",
              {"timestamp": ("timestamp", "timestamp"), "host": ("logsource", "host.hostname"),
               "program": ("program", "process.name"), "pid": ("pid", "process.pid"),
               "content": ("message", "message")},
              lambda r: {"timestamp": f"{r['Month']} {r['Date']} {r['Time']}", "host": r["Level"],
                         "program": r["Component"], "pid": r["PID"], "content": r["Content"]}),
    "Apache": ("%{HTTPD_ERRORLOG}",
               {"timestamp": ("timestamp", "timestamp"), "level": ("loglevel", "log.level"),
                "content": ("message", "message")},
               lambda r: {"timestamp": r["Time"], "level": r["Level"], "content": _without_client(r["Content"])}),
    "Mac": ("%{SYSLOGBASE} %{GREEDYDATA:message}",
            {"host": ("logsource", "host.hostname"), "program": ("program", "process.name"),
             "pid": ("pid", "process.pid"), "content": ("message", "message")},
            lambda r: {"host": r["User"], "program": r["Component"], "pid": r["PID"], "content": r["Content"]}),
    "Zookeeper": (r"%{TIMESTAMP_ISO8601:timestamp} - %{LOGLEVEL:level} +\[%{DATA:thread}\] - %{GREEDYDATA:message}",
                  {"level": ("level", "level"), "content": ("message", "message")},
                  lambda r: {"level": r["Level"], "content": r["Content"]}),
    "Hadoop": (r"%{TIMESTAMP_ISO8601:timestamp} %{LOGLEVEL:level} \[%{DATA:thread}\] %{JAVACLASS:class}: "
               r"%{GREEDYDATA:message}",
               {"level": ("level", "level"), "class": ("class", "class"), "content": ("message", "message")},
               lambda r: {"level": r["Level"], "class": r["Component"], "content": r["Content"]}),
}


def _norm(value: Any) -> str:
    """loghub's CSVs collapse repeated spaces (``Jul  1`` → ``Jul 1``): compare that way."""
    return "" if value is None else " ".join(str(value).split())


def _without_client(content: str) -> str:
    """loghub keeps ``[client 1.2.3.4]`` in Content; HTTPD_ERRORLOG captures it as the client address."""
    if content.startswith("[client "):
        return content.split("] ", 1)[-1]
    return content


def evaluate(system: str, mode: str) -> tuple[int, int, int, list[str]]:
    pattern, fields, truth_of = SYSTEMS[system]
    base = LOGHUB / system
    raw = (base / f"{system}_2k.log").read_text(encoding="utf-8", errors="replace").replace("\r\n", "\n")
    lines = [line for line in raw.split("\n") if line]
    with (base / f"{system}_2k.log_structured.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    grok = Grok(pattern, ecs_compatibility=mode)
    matched = exact = 0
    diffs: list[str] = []
    for line, row in zip(lines, rows, strict=False):
        found = grok.match(line)
        if found is None:
            if len(diffs) < 3:
                diffs.append(f"no match: {line[:100]}")
            continue
        matched += 1
        truth = truth_of(row)
        wrong = [f"{col}: {_norm(_get(found, fields[col][0 if mode == 'disabled' else 1]))!r} != {want!r}"
                 for col, want in ((c, _norm(v)) for c, v in truth.items())
                 if _norm(_get(found, fields[col][0 if mode == "disabled" else 1])) != want]
        if not wrong:
            exact += 1
        elif len(diffs) < 3:
            diffs.append("; ".join(wrong)[:160])
    return len(rows), matched, exact, diffs


def main() -> int:
    if not LOGHUB.is_dir():
        sys.exit(f"loghub data not found at {LOGHUB}")
    print(f"{'system':10s} {'mode':9s} {'records':>7s} {'matched':>8s} {'all fields equal':>17s}  time")
    for system in SYSTEMS:
        for mode in ("disabled", "v8"):
            start = time.perf_counter()
            total, matched, exact, diffs = evaluate(system, mode)
            print(f"{system:10s} {mode:9s} {total:7d} {matched:8d} {exact:10d} ({exact / total:6.1%})  "
                  f"{time.perf_counter() - start:.2f}s")
            for diff in diffs if mode == "disabled" else []:
                print(f"    e.g. {diff}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
