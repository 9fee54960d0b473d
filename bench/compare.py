"""Us against syslog-ng and rsyslog on the same Apache job (issue 15), through the real commands.

Every variant reads the same generated file of Apache combined-format lines (the 10,000 lines of
$PIPELINE_SHARED_DATA/access/apache_logs repeated to --events, by default with their timestamps rewritten
into time order: --time-order, see bench/apache_input.py), parses each line into fields and
writes JSON, pinned to one core (``taskset -c 0``); this script itself stays on the other core.

  syslog-ng   syslog-ng 3.38, file() source → apache-accesslog-parser() (csv-parser + date-parser) →
              file() destination with $(format-json) of the message, @timestamp and the .apache.* fields
  rsyslog     rsyslog 8.2302, imfile → mmnormalize (a liblognorm v2 rulebase for the combined format) →
              omfile with a JSON template of the message and the parsed fields
  ours-file   (a) `pipeline run`: file input (read mode) → grok %{COMBINEDAPACHELOG} → date → file output
              with the json_lines codec
  ours-index  (b) the same filters without an output section → the embedded local index (the default)
  ours-null   (c) the same filters → null output
  ours-file-w2  (d, --two-cores) (a) with -w 2 --pipeline.worker_type process on both cores
  base-file   (--baseline DIR) (a) run with the code of another checkout, for before/after figures

The peers do not exit at the end of a file: the output is watched until it holds every line, then the
daemon is stopped. CPU time is the user+system time of the whole process tree (wait4), wall time runs
from the start to the last line written (ours: to exit, startup included, so the start of a Python
process counts against us). Each peer's output is checked: one JSON object per input line and the
parsed fields of a few lines compared with the input; a peer that failed silently stops the run.
Rounds interleave the variants, so a busy neighbour on this shared machine hits them all alike; the
best round of each (CPU and wall separately) is reported, with the load average.

    bash bench/compare.sh                        # 200,000 lines, 3 rounds, variants a-c and the peers
    bash bench/compare.sh --events 50000 --rounds 1 --only rsyslog,ours-file
    bash bench/compare.sh --two-cores            # adds (d)
    bash bench/compare.sh --time-order repeat ordered   # both input orders in the same rounds

syslog-ng is installed from Debian when missing (syslog-ng-core, syslog-ng-scl). rsyslog conflicts with
syslog-ng's package, so it is never installed: its .debs are downloaded (apt-get download) and unpacked
into bench/.peers/rsyslog (gitignored) and run from there with -M and LD_LIBRARY_PATH.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from apache_input import (
    CorpusMissing,
    add_line_rate_argument,
    add_time_order_argument,
    corpus_path,
    write_input,
)

REPO = Path(__file__).resolve().parents[1]
PEERS = REPO / "bench" / ".peers"
RSYSLOG_ROOT = PEERS / "rsyslog"
RSYSLOG_DEBS = ("rsyslog", "liblognorm5", "libestr0", "libfastjson4")
MULTIARCH = "x86_64-linux-gnu"
CORE, OTHER_CORE = 0, 1
STALL_SECONDS = 15.0  # a peer whose output does not grow for this long has stopped for good

# The combined format as liblognorm v2 rules: the full request first, then any other quoted request
# (as grok's %{DATA} alternative). Lines matching neither are kept, with "unparsed-data".
LOGNORM_RULES = r"""version=2
rule=:%clientip:word% %ident:word% %auth:word% [%timestamp:char-to{"extradata":"]"}%] "%verb:word% %request:word% HTTP/%httpversion:char-to{"extradata":"\""}%" %response:number{"format":"number"}% %bytes:word% "%referrer:char-sep{"extradata":"\""}%" "%agent:char-sep{"extradata":"\""}%"
rule=:%clientip:word% %ident:word% %auth:word% [%timestamp:char-to{"extradata":"]"}%] "%rawrequest:char-sep{"extradata":"\""}%" %response:number{"format":"number"}% %bytes:word% "%referrer:char-sep{"extradata":"\""}%" "%agent:char-sep{"extradata":"\""}%"
"""

RSYSLOG_CONF = """\
global(workDirectory="{work}")
module(load="imfile" mode="inotify")
module(load="mmnormalize")
template(name="json" type="list") {{
  constant(value="{{\\"message\\":\\"") property(name="rawmsg" format="json") constant(value="\\",")
  property(name="$!all-json" position.from="2") constant(value="\\n")
}}
input(type="imfile" file="{source}" tag="apache" ruleset="parse")
ruleset(name="parse") {{
  action(type="mmnormalize" rulebase="{rulebase}" useRawMsg="on")
  action(type="omfile" file="{output}" template="json")
}}
"""

SYSLOG_NG_CONF = """\
@version: 3.38
@include "scl.conf"
options {{ stats_freq(0); }};
source s_apache {{ file("{source}" flags(no-parse)); }};
destination d_json {{
  file("{output}" template("$(format-json message=$MESSAGE @timestamp=$ISODATE --key .apache.* --shift-levels 1)\\n"));
}};
log {{ source(s_apache); parser {{ apache-accesslog-parser(); }}; destination(d_json); }};
"""

FILTERS = """\
filter {
  grok { match => { "message" => "%{COMBINEDAPACHELOG}" } }
  date { match => ["timestamp", "dd/MMM/yyyy:HH:mm:ss Z"] }
}
"""

OUR_OUTPUTS = {
    "ours-file": 'output {{ file {{ path => "{output}" codec => json_lines }} }}\n',
    "ours-index": "",  # no output section: the embedded local index under path.data
    "ours-null": "output {{ null {{}} }}\n",
    "ours-file-w2": 'output {{ file {{ path => "{output}" codec => json_lines }} }}\n',
    "base-file": 'output {{ file {{ path => "{output}" codec => json_lines }} }}\n',
}


class BenchError(RuntimeError):
    """A variant could not run or its output is wrong: its figures would mean nothing."""


@dataclass
class Result:
    cpu: float
    wall: float
    lines: int


@dataclass
class Variant:
    name: str
    order: str
    results: list[Result] = field(default_factory=list)

    def best_cpu(self) -> float:
        return min(r.cpu for r in self.results)

    def best_wall(self) -> float:
        return min(r.wall for r in self.results)


# -- setup -------------------------------------------------------------------------------------------
_apt_lists_fresh = False


def apt_update_once() -> None:
    """A clean machine (CI) has no package lists yet."""
    global _apt_lists_fresh
    if not _apt_lists_fresh:
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        _apt_lists_fresh = True


def ensure_syslog_ng() -> str:
    if shutil.which("syslog-ng") is None or not Path("/usr/share/syslog-ng/include/scl/apache").is_dir():
        print("installing syslog-ng from Debian (syslog-ng-core syslog-ng-scl)", file=sys.stderr)
        apt_update_once()
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "syslog-ng-core",
                        "syslog-ng-scl"], check=True, env=env)
    found = shutil.which("syslog-ng")
    if found is None:
        raise BenchError("syslog-ng is still missing after apt-get install syslog-ng-core")
    return found


def ensure_rsyslog() -> Path:
    binary = RSYSLOG_ROOT / "usr" / "sbin" / "rsyslogd"
    if binary.is_file():
        return binary
    print(f"unpacking rsyslog into {RSYSLOG_ROOT} (apt-get download + dpkg -x; not installed)", file=sys.stderr)
    debs = PEERS / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    apt_update_once()
    subprocess.run(["apt-get", "download", *RSYSLOG_DEBS], cwd=debs, check=True)
    for deb in sorted(debs.glob("*.deb")):
        subprocess.run(["dpkg", "-x", str(deb), str(RSYSLOG_ROOT)], check=True)
    if not binary.is_file():
        raise BenchError(f"{binary} is missing after unpacking {', '.join(RSYSLOG_DEBS)}")
    return binary


# -- running -----------------------------------------------------------------------------------------
def count_lines(path: Path) -> int:
    if not path.exists():
        return 0
    with open(path, "rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))


def run_daemon(argv: list[str], env: dict[str, str], output: Path, expected: int, log: Path) -> Result:
    """Start a peer, wait until its output holds ``expected`` lines (or stalls), stop it, return its costs."""
    started = time.monotonic()
    with open(log, "wb") as log_handle:
        process = subprocess.Popen(["taskset", "-c", str(CORE), *argv], env=env, stdout=log_handle,
                                   stderr=subprocess.STDOUT)
    seen, offset, last_growth = 0, 0, started
    while seen < expected:
        time.sleep(0.02)
        if output.exists():
            with open(output, "rb") as handle:
                handle.seek(offset)
                chunk = handle.read()
            if chunk:
                offset += len(chunk)
                seen += chunk.count(b"\n")
                last_growth = time.monotonic()
        if process.poll() is not None:
            break
        if time.monotonic() - last_growth > STALL_SECONDS:
            break
    wall = last_growth - started
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    _, status, usage = os.wait4(process.pid, 0)
    if seen < expected:
        raise BenchError(f"{argv[0]} wrote {seen} of {expected} lines (exit status {status}); see {log}")
    return Result(usage.ru_utime + usage.ru_stime, wall, count_lines(output))


def run_ours(argv: list[str], env: dict[str, str], log: Path, pin: bool = True) -> Result:
    started = time.monotonic()
    with open(log, "wb") as log_handle:
        prefix = ["taskset", "-c", str(CORE)] if pin else []
        # Run outside any checkout: `python -m` puts the working directory first on sys.path, which
        # would shadow the PYTHONPATH that picks the code (--baseline).
        process = subprocess.Popen([*prefix, *argv], env=env, stdout=log_handle, stderr=subprocess.STDOUT,
                                   cwd=log.parent)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - started
    if status != 0:
        raise BenchError(f"{' '.join(argv)} exited with status {status}; see {log}")
    return Result(usage.ru_utime + usage.ru_stime, wall, 0)


class Bench:
    def __init__(self, work: Path, events: int, baseline: Path | None = None, order: str = "ordered",
                 lines_per_second: float | None = None) -> None:
        self.work = work
        self.events = events
        self.baseline = baseline
        self.order = order
        self.source = work / f"access-{order}.log"
        self.lines = write_input(self.source, events, order, lines_per_second)

    def fresh(self, name: str) -> Path:
        folder = self.work / self.order / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        return folder

    def syslog_ng(self) -> Result:
        binary = ensure_syslog_ng()
        folder = self.fresh("syslog-ng")
        output = folder / "out.json"
        conf = folder / "syslog-ng.conf"
        conf.write_text(SYSLOG_NG_CONF.format(source=self.source, output=output))
        argv = [binary, "-F", "--no-caps", "-f", str(conf), "--persist-file", str(folder / "persist"),
                "--pidfile", str(folder / "pid"), "--control", str(folder / "ctl")]
        result = run_daemon(argv, dict(os.environ), output, self.events, folder / "log.txt")
        self.check_peer("syslog-ng", output, lambda doc: doc.get("apache", {}), "clientip", "response")
        return result

    def rsyslog(self) -> Result:
        binary = ensure_rsyslog()
        folder = self.fresh("rsyslog")
        (folder / "work").mkdir()
        output = folder / "out.json"
        rulebase = folder / "apache.rb"
        rulebase.write_text(LOGNORM_RULES)
        conf = folder / "rsyslog.conf"
        conf.write_text(RSYSLOG_CONF.format(work=folder / "work", source=self.source, rulebase=rulebase,
                                            output=output))
        libs = RSYSLOG_ROOT / "usr" / "lib" / MULTIARCH
        env = dict(os.environ, LD_LIBRARY_PATH=str(libs))
        argv = [str(binary), "-n", "-f", str(conf), "-M", str(libs / "rsyslog"), "-i", str(folder / "pid")]
        result = run_daemon(argv, env, output, self.events, folder / "log.txt")
        self.check_peer("rsyslog", output, lambda doc: doc, "clientip", "response")
        return result

    def ours(self, name: str) -> Result:
        folder = self.fresh(name)
        output = folder / "out.json"
        conf = folder / "pipeline.conf"
        conf.write_text(
            f'input {{ file {{ path => ["{self.source}"] mode => "read" exit_after_read => true '
            f'sincedb_path => "/dev/null" file_completed_action => "log" '
            f'file_completed_log_path => "{folder / "completed.log"}" }} }}\n'
            + FILTERS + OUR_OUTPUTS[name].format(output=output))
        argv = [sys.executable, "-m", "pipeline", "run", "-f", str(conf), "--no-status", "--api.enabled", "false",
                "--path.data", str(folder / "data")]
        if name == "ours-file-w2":
            argv += ["-w", "2", "--pipeline.worker_type", "process"]
        code = self.baseline if name == "base-file" and self.baseline else REPO
        # Compiled modules as an installed package has them (this machine sets PYTHONDONTWRITEBYTECODE,
        # which would make every run compile what has no .pyc yet), kept under the scratch folder.
        env = dict(os.environ, PYTHONPATH=str(code), PYTHONPYCACHEPREFIX=str(self.work / "pycache"))
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        result = run_ours(argv, env, folder / "log.txt", pin=name != "ours-file-w2")
        ran = (folder / "log.txt").read_text(errors="replace")
        if "pipeline main stopped" not in ran:
            raise BenchError(f"{name}: the pipeline did not report its end; see {folder / 'log.txt'}")
        if name in ("ours-file", "ours-file-w2", "base-file"):
            result.lines = count_lines(output)
            if result.lines != self.events:
                raise BenchError(f"{name} wrote {result.lines} of {self.events} lines; see {folder}")
            self.check_ours(output)
        return result

    # -- checks ----------------------------------------------------------------------------------
    def check_peer(self, name: str, output: Path, fields_of, *keys: str) -> None:
        """Every line is a JSON object; the parsed lines' client and status equal the input's."""
        parsed = 0
        with open(output, "rb") as handle:
            for number, raw in enumerate(handle):
                try:
                    doc = json.loads(raw)
                except ValueError as exc:
                    raise BenchError(f"{name}: line {number + 1} of {output} is not JSON: {exc}") from exc
                fields = fields_of(doc)
                if all(fields.get(k) not in (None, "") for k in keys):
                    parsed += 1
                    if number % 997 == 0:
                        self.compare_fields(name, doc["message"], fields)
        # A combined-format line ends with the quoted user agent; the corpus has one cut-off line per 10,000.
        parsable = sum(1 for line in self.lines if line.rstrip().endswith(b'"'))
        if parsed < parsable:
            raise BenchError(f"{name} parsed {parsed} of {self.events} lines (expected at least {parsable}); "
                             f"see {output}")

    @staticmethod
    def compare_fields(name: str, message: str, fields: dict) -> None:
        client, _, rest = message.partition(" ")
        status = rest.split('" ', 1)[1].split(" ", 1)[0]
        if str(fields["clientip"]) != client or str(fields["response"]) != status:
            raise BenchError(f"{name} parsed {message!r} as clientip={fields['clientip']!r} "
                             f"response={fields['response']!r}")

    def check_ours(self, output: Path) -> None:
        with open(output, "rb") as handle:
            for number, raw in enumerate(handle):
                if number % 997:
                    continue
                doc = json.loads(raw)
                if "_grokparsefailure" in doc.get("tags", []):
                    continue
                fields = {"clientip": doc["source"]["address"], "response": doc["http"]["response"]["status_code"]}
                self.compare_fields("ours", doc["message"], fields)
                if not doc.get("@timestamp", "").startswith("20"):
                    raise BenchError(f"ours: no @timestamp from the date filter in line {number + 1}")


# -- report ------------------------------------------------------------------------------------------
def report(variants: list[Variant], events: int) -> None:
    print(f"\n{events:,} events, time order {variants[0].order}, best of {len(variants[0].results)} round(s), load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"{'variant':14} {'CPU s':>7} {'µs/event':>9} {'events/CPU-s':>13} {'wall s':>7} {'events/s':>9}")
    for v in variants:
        cpu, wall = v.best_cpu(), v.best_wall()
        print(f"{v.name:14} {cpu:7.2f} {cpu / events * 1e6:9.1f} {events / cpu:13,.0f} {wall:7.2f} {events / wall:9,.0f}")
    by_name = {v.name: v for v in variants}
    peers = [p for p in ("syslog-ng", "rsyslog") if p in by_name]
    ours = [o for o in by_name if o.startswith(("ours", "base"))]
    if peers and ours:
        print("\nratios (us / peer; > 1 means we are faster), CPU time · wall time")
        for o in ours:
            parts = [f"vs {p} {by_name[p].best_cpu() / by_name[o].best_cpu():.2f}× · "
                     f"{by_name[p].best_wall() / by_name[o].best_wall():.2f}×" for p in peers]
            print(f"  {o:14} " + "   ".join(parts))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000, help="lines in the generated file (200,000)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (3)")
    parser.add_argument("--two-cores", action="store_true", help="also (d): -w 2 process workers, both cores")
    parser.add_argument("--only", help="comma-separated variants: syslog-ng,rsyslog,ours-file,ours-index,"
                                       "ours-null,ours-file-w2")
    parser.add_argument("--baseline", type=Path, help="another checkout (e.g. /work/main): adds base-file, "
                                                        "path (a) run with that code, for before/after")
    parser.add_argument("--work", type=Path, default=REPO / "bench" / "results" / "compare",
                        help="scratch folder (bench/results/compare, gitignored)")
    add_time_order_argument(parser, several=True)
    add_line_rate_argument(parser)
    args = parser.parse_args()
    names = ["syslog-ng", "rsyslog", "ours-file", "ours-index", "ours-null"]
    if args.two_cores:
        names.append("ours-file-w2")
    if args.baseline:
        names.insert(names.index("ours-file"), "base-file")
    if args.only:
        names = [n.strip() for n in args.only.split(",")]
    if os.cpu_count() and os.cpu_count() > 1:
        os.sched_setaffinity(0, {OTHER_CORE})  # the watcher must not steal the measured core
    args.work.mkdir(parents=True, exist_ok=True)
    try:
        corpus_path()  # fails early with an actionable message
        # One scratch folder and input file per order; a variant's orders run back to back in each round.
        benches = {order: Bench(args.work, args.events, args.baseline, order, args.lines_per_second) for order in args.time_order}
        variants = [Variant(n, order) for n in names for order in args.time_order]
        for round_number in range(args.rounds):
            for variant in variants:
                bench = benches[variant.order]
                runner = getattr(bench, variant.name.replace("-", "_"), None)
                result = runner() if runner else bench.ours(variant.name)
                variant.results.append(result)
                print(f"round {round_number + 1} {variant.name:14} {variant.order:8} cpu {result.cpu:6.2f} s  wall {result.wall:6.2f} s"
                      f"  load {os.getloadavg()[0]:.2f}", flush=True)
    except (BenchError, CorpusMissing, subprocess.CalledProcessError) as exc:
        print(f"compare: {exc}", file=sys.stderr)
        return 1
    for order in args.time_order:
        report([v for v in variants if v.order == order], args.events)
    return 0


if __name__ == "__main__":
    sys.exit(main())
