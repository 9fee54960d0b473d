"""What indexing one Apache event costs: our embedded local index against a real OpenSearch node.

Issue 15 goal 1 asks the local index to cost <= 25 % of the default path's CPU while keeping search on hot
fields and full text on ``message``. This puts that budget next to the real thing: the same documents
(made by ``pipeline run``: file -> grok COMBINEDAPACHELOG -> date) indexed by OpenSearch 2.19 (Lucene),
measured as CPU seconds of the node's JVM per event, in the same rounds as our index's cost measured
through the real command (CPU of ``pipeline run`` into the local index minus the same run into the null
output, pinned to one core).

OpenSearch variants, each into a fresh index after a warm-up of the JIT:
  * ``dynamic``: no mapping (what a user gets: every string a text field plus a keyword sub-field);
  * ``hot``: the local index's own offer: ``message`` as text, its hot fields as keyword/long, ``@timestamp``
    as a date, everything else only kept in ``_source`` (``dynamic: false``).
Each at bulks of 125 documents (``pipeline.batch.size``'s default, what our output commits) and 2,048.

    python bench/index_cost_vs_opensearch.py                       # starts OpenSearch on 9350 and stops it
    python bench/index_cost_vs_opensearch.py --events 100000 --rounds 2 --opensearch-port 9351

Needs the shared Apache corpus (PIPELINE_SHARED_DATA) and Java + Maven for scripts/services.sh.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from apache_input import CorpusMissing, write_input

REPO = Path(__file__).resolve().parents[1]
FILTERS = """filter {
  grok { match => { "message" => "%{COMBINEDAPACHELOG}" } }
  date { match => [ "timestamp", "dd/MMM/yyyy:HH:mm:ss Z" ] }
}
"""
INPUT = ('input {{ file {{ path => "{data}" mode => "read" exit_after_read => true sincedb_path => "/dev/null" '
         'file_completed_action => "log" file_completed_log_path => "/dev/null" }} }}\n')
OUTPUTS = {
    "null": "output { null {} }\n",
    "local_index": "",  # the embedded default
    "docs": 'output { file { path => "DOCS" codec => json_lines } }\n',
}
STOPPED = re.compile(r"pipeline main stopped: \d+ accepted, \d+ in, \d+ filtered, (\d+) out")


def _keyword() -> dict:
    return {"type": "keyword"}


# The local index's hot fields (pipeline/localindex/schema.py HOT_FIELDS) and its full-text field.
HOT_MAPPING = {"mappings": {"dynamic": False, "properties": {
    "@timestamp": {"type": "date"},
    "message": {"type": "text"},
    "log": {"properties": {"level": _keyword()}},
    "level": _keyword(),
    "service": {"properties": {"name": _keyword()}},
    "host": {"properties": {"name": _keyword()}},
    "http": {"properties": {"response": {"properties": {
        "status_code": {"type": "long"}, "body": {"properties": {"bytes": {"type": "long"}}}}}}},
    "url": {"properties": {"original": _keyword()}},
    "response": _keyword(),
}}}
MAPPINGS: dict[str, dict | None] = {"dynamic": None, "hot": HOT_MAPPING}


def run_pipeline(config: Path, data_dir: Path, cpu: str) -> tuple[float, int]:
    """CPU seconds of one ``pipeline run`` pinned to ``cpu`` and the events it sent out."""
    shutil.rmtree(data_dir, ignore_errors=True)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    command = ["taskset", "-c", cpu, sys.executable, "-m", "pipeline", "run", "-f", str(config),
               "--path.data", str(data_dir), "--api.enabled", "false", "--no-status"]
    child = subprocess.Popen(command, env=env, cwd=data_dir.parent, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    output = child.stdout.read() if child.stdout else ""
    _, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(command)} failed:\n{output[-3000:]}")
    found = STOPPED.findall(output)
    return usage.ru_utime + usage.ru_stime, int(found[-1]) if found else -1


class Node:
    """A real OpenSearch node from scripts/services.sh, and the CPU time of its JVM."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.env = dict(os.environ, OPENSEARCH_PORT=str(port), OPENSEARCH_HEAP="1g")
        self.session = requests.Session()
        self.pid = 0

    def start(self) -> None:
        subprocess.run(["bash", str(REPO / "scripts" / "services.sh"), "start", "opensearch"], env=self.env,
                       check=True, stdout=subprocess.DEVNULL)
        services = Path(os.environ.get("PIPELINE_SERVICES_DIR", REPO / ".services"))
        self.pid = int((services / "opensearch" / "opensearch.pid").read_text().split()[0])

    def stop(self) -> None:
        subprocess.run(["bash", str(REPO / "scripts" / "services.sh"), "stop", "opensearch"], env=self.env,
                       check=False, stdout=subprocess.DEVNULL)

    def cpu(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def index(self, name: str, mapping: dict | None, docs: list[bytes], batch: int) -> float:
        """JVM CPU seconds to bulk-index ``docs`` into a fresh index, through its refresh."""
        self.session.delete(f"{self.url}/{name}")
        if mapping is not None:
            self.session.put(f"{self.url}/{name}", json=mapping).raise_for_status()
        time.sleep(0.5)
        before = self.cpu()
        for start in range(0, len(docs), batch):
            body = b"".join(b'{"index":{}}\n' + doc + b"\n" for doc in docs[start:start + batch])
            answer = self.session.post(f"{self.url}/{name}/_bulk", data=body,
                                       headers={"Content-Type": "application/x-ndjson"})
            if answer.status_code != 200 or answer.json()["errors"]:
                sys.exit(f"bulk into {name} failed: {answer.text[:500]}")
        self.session.post(f"{self.url}/{name}/_refresh").raise_for_status()
        time.sleep(1.0)  # the refresh's and merges' tail, on the node's clock
        spent = self.cpu() - before
        count = self.session.get(f"{self.url}/{name}/_count").json()["count"]
        if count != len(docs):
            sys.exit(f"{name}: {count} documents of {len(docs)}")
        self.session.delete(f"{self.url}/{name}")
        return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--cpu", default="0", help="taskset CPU list for `pipeline run`")
    parser.add_argument("--opensearch-port", type=int, default=9350,
                        help="port for the node this script starts (not 9200: the test suite's)")
    parser.add_argument("--batches", type=int, nargs="+", default=[125, 2048])
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="index-cost-"))
    node = Node(args.opensearch_port)
    try:
        data = work / "access.log"
        try:
            write_input(data, args.events, "ordered", None)
        except CorpusMissing as exc:
            sys.exit(str(exc))
        docs_path = work / "docs.json"
        configs = {}
        for name, output in OUTPUTS.items():
            configs[name] = work / f"{name}.conf"
            configs[name].write_text(INPUT.format(data=data) + FILTERS + output.replace("DOCS", str(docs_path)))
        run_pipeline(configs["docs"], work / "data", args.cpu)
        docs = docs_path.read_bytes().splitlines()
        if len(docs) != args.events:
            sys.exit(f"the pipeline made {len(docs)} documents of {args.events}")
        node.start()
        node.index("warm-up", None, docs[: min(len(docs), 100_000)], 2048)
        print(f"{args.events} events, load average {os.getloadavg()[0]:.2f}, "
              f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", flush=True)
        results: dict[str, list[float]] = {}
        for round_no in range(1, args.rounds + 1):
            spent = {}
            for output in ("null", "local_index"):
                spent[output], out = run_pipeline(configs[output], work / "data", args.cpu)
                if out != args.events:
                    sys.exit(f"{output}: {out} events out of {args.events}")
            ours = (spent["local_index"] - spent["null"]) / args.events * 1e6
            results.setdefault("ours: local index (batch 125)", []).append(ours)
            print(f"round {round_no} ours: null {spent['null'] / args.events * 1e6:.1f} µs/event, local index "
                  f"{spent['local_index'] / args.events * 1e6:.1f}, index cost {ours:.1f}", flush=True)
            for mapping_name, mapping in MAPPINGS.items():
                for batch in args.batches:
                    cost = node.index(f"bench-{mapping_name}-{batch}", mapping, docs, batch) / args.events * 1e6
                    results.setdefault(f"OpenSearch {mapping_name} mapping, bulks of {batch}", []).append(cost)
                    print(f"round {round_no} OpenSearch {mapping_name:7} bulk {batch:5}: {cost:6.1f} µs/event "
                          f"(JVM CPU), load {os.getloadavg()[0]:.2f}", flush=True)
        print(f"\nmedians, µs of CPU per event indexed (load average now {os.getloadavg()[0]:.2f}):")
        ours_median = statistics.median(results["ours: local index (batch 125)"])
        for name, values in results.items():
            median = statistics.median(values)
            print(f"  {name:42} {median:6.1f}  ({median / ours_median:.1f}× ours)")
    finally:
        node.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
