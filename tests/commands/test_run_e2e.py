"""End-to-end: the real `pipeline` command as a subprocess, on real files and stdin."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time

import pytest
from support.polling import wait_accepted


def run(cmd, *args, input_text=None, timeout=60, cwd=None):
    return subprocess.run([*cmd, *args], input=input_text, capture_output=True, text=True, timeout=timeout,
                          cwd=cwd)


def test_stdin_to_file_output_with_filters_and_conditionals(pipeline_cmd, tmp_path):
    out = tmp_path / "out.ndjson"
    config = tmp_path / "p.conf"
    config.write_text(f"""
input {{ stdin {{ }} }}
filter {{
  mutate {{ add_field => {{ "[meta][len]" => "%{{message}}" }} }}
  if [message] =~ /^ERR/ {{
    mutate {{ add_tag => ["error"] replace => {{ "level" => "error" }} }}
  }} else if [message] in ["skip me"] {{
    drop {{ }}
  }} else {{
    mutate {{ add_field => {{ "level" => "info" }} }}
  }}
}}
output {{ file {{ path => "{out}" }} }}
""")
    result = run(pipeline_cmd, "run", "-f", str(config), "--path.data", str(tmp_path / "data"),
                 input_text="ok line\nERR bad\nskip me\nlast\n")
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in out.read_text().splitlines()]
    assert [e["message"] for e in events] == ["ok line", "ERR bad", "last"]
    assert events[1]["tags"] == ["error"] and events[1]["level"] == "error"
    assert events[0]["level"] == "info" and events[0]["meta"]["len"] == "ok line"
    assert all("@timestamp" in e and "@metadata" not in e for e in events)


def test_config_string_defaults_to_stdin_and_rubydebug(pipeline_cmd):
    result = run(pipeline_cmd, "run", "-e", "", "--log.level", "warn", input_text="hello\n")
    assert result.returncode == 0, result.stderr
    assert '"message" => "hello"' in result.stdout
    assert '"type" => "stdin"' in result.stdout


def test_invalid_utf8_is_replaced_not_fatal(pipeline_cmd, tmp_path):
    out = tmp_path / "out.ndjson"
    proc = subprocess.run([*pipeline_cmd, "run", "-e", f'output {{ file {{ path => "{out}" }} }}'],
                          input=b"caf\xc3\xa9\nbad \xff\xfe bytes\n", capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    messages = [json.loads(line)["message"] for line in out.read_text().splitlines()]
    assert messages == ["café", "bad \ufffd\ufffd bytes"]


def test_no_output_section_writes_the_embedded_daily_index(pipeline_cmd, tmp_path):
    config = tmp_path / "p.conf"
    config.write_text('input { generator { count => 4 message => "m" } }')
    data = tmp_path / "data"
    result = run(pipeline_cmd, "run", "-f", str(config), "--path.data", str(data))
    assert result.returncode == 0, result.stderr
    index_dir = data / "index"
    files = list(index_dir.iterdir())
    assert files and all(re.match(r"logs-\d{4}\.\d{2}\.\d{2}", f.name) for f in files)


def test_directory_of_configs_is_concatenated_in_alphabetical_order(pipeline_cmd, tmp_path):
    conf_dir = tmp_path / "conf.d"
    conf_dir.mkdir()
    out = tmp_path / "out.ndjson"
    (conf_dir / "10-input.conf").write_text('input { generator { count => 1 message => "x" } }')
    (conf_dir / "20-filter.conf").write_text('filter { mutate { add_field => { "step" => "a" } } }')
    (conf_dir / "30-filter.conf").write_text('filter { mutate { replace => { "step" => "%{step}b" } } }')
    (conf_dir / "90-output.conf").write_text(f'output {{ file {{ path => "{out}" }} }}')
    result = run(pipeline_cmd, "run", "-f", str(conf_dir), "--path.data", str(tmp_path / "d"))
    assert result.returncode == 0, result.stderr
    assert json.loads(out.read_text())["step"] == "ab"


def test_check_reports_every_error_with_location_and_exit_78(pipeline_cmd, tmp_path):
    config = tmp_path / "bad.conf"
    config.write_text("""input {
  generator { count => "many" }
}
filter {
  mutate { renmae => { "a" => "b" } id => "fix_host" }
  nosuchfilter { }
}
output { stdout { codec => jsn } }
""")
    result = run(pipeline_cmd, "check", "-f", str(config))
    assert result.returncode == 78
    err = result.stderr
    assert f"{config}:2:15: input generator" in err and 'option "count": expected an integer' in err
    assert f'{config}:5:12: filter mutate (id=fix_host): unknown option "renmae" (did you mean "rename"?)' in err
    assert f"{config}:6:3: filter nosuchfilter" in err
    assert 'unknown codec plugin "jsn" (did you mean "json"?)' in err
    assert "4 configuration error(s)" in err


def test_check_reports_syntax_and_plugin_errors_together(pipeline_cmd, tmp_path):
    config = tmp_path / "mixed.conf"
    config.write_text("""input { generator { count => "x" } }
filter {
  if [a]b == 1 { mutate {} }
  mutate { add_tag => "x" "y" }
  mutate { renmae => { "a" => "b" } }
}
""")
    result = run(pipeline_cmd, "check", "-f", str(config))
    assert result.returncode == 78
    lines = [line for line in result.stderr.splitlines() if line.startswith(str(config))]
    assert [line.split(":")[1] for line in lines] == ["1", "3", "4", "5"]  # sorted, all of them
    assert "invalid field reference '[a]b'" in lines[1]
    assert "expected '=>' after option name 'y'" in lines[2]
    assert 'unknown option "renmae"' in lines[3]


def test_run_with_config_errors_starts_nothing(pipeline_cmd, tmp_path):
    result = run(pipeline_cmd, "run", "-e", "filter { mutate { bogus => 1 } }")
    assert result.returncode == 78
    assert "nothing started" in result.stderr


def test_check_accepts_a_valid_config(pipeline_cmd, tmp_path):
    config = tmp_path / "ok.conf"
    config.write_text('input { stdin {} } output { stdout { codec => json_lines } }')
    result = run(pipeline_cmd, "check", "-f", str(config))
    assert result.returncode == 0 and "Configuration OK" in result.stdout


def test_several_pipelines_from_pipelines_yml(pipeline_cmd, tmp_path):
    out_a, out_b = tmp_path / "a.ndjson", tmp_path / "b.ndjson"
    (tmp_path / "pipelines.yml").write_text(
        "- pipeline.id: a\n"
        f"  config.string: 'input {{ generator {{ count => 2 message => \"A\" }} }} output {{ file {{ path => \"{out_a}\" }} }}'\n"
        "- pipeline.id: b\n"
        "  pipeline.workers: 1\n"
        f"  config.string: 'input {{ generator {{ count => 3 message => \"B\" }} }} output {{ file {{ path => \"{out_b}\" }} }}'\n")
    result = run(pipeline_cmd, "run", "--path.settings", str(tmp_path), "--path.data", str(tmp_path / "d"))
    assert result.returncode == 0, result.stderr
    assert len(out_a.read_text().splitlines()) == 2 and len(out_b.read_text().splitlines()) == 3


def test_sigterm_loses_no_event_already_accepted(pipeline_cmd, tmp_path):
    out = tmp_path / "out.ndjson"
    config = tmp_path / "p.conf"
    config.write_text(f"""
input {{ generator {{ message => "m" }} }}
filter {{ mutate {{ add_field => {{ "x" => "1" }} }} }}
output {{ file {{ path => "{out}" flush_interval => 0 }} }}
""")
    proc = subprocess.Popen([*pipeline_cmd, "run", "-f", str(config), "--path.data", str(tmp_path / "d"),
                             "-w", "2", "-b", "50"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not out.exists() or out.stat().st_size < 50_000):
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    match = re.search(r"stopped: (\d+) accepted, (\d+) in, (\d+) filtered, (\d+) out", stderr)
    assert match, stderr
    accepted, handled, _, written = map(int, match.groups())
    sequences = sorted(json.loads(line)["sequence"] for line in out.read_text().splitlines())
    assert accepted == handled == written == len(sequences) > 0
    assert sequences == list(range(len(sequences)))  # no gap, no duplicate


def _wait_for_line(stream, needle: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            break
        seen.append(line)
        if needle in line:
            return line
    raise AssertionError(f"{needle!r} not seen in: {''.join(seen)}")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_second_signal_forces_exit_when_graceful_stop_hangs(pipeline_cmd, tmp_path):
    fifo = tmp_path / "nobody-reads-this"
    os.mkfifo(fifo)  # opening it for writing blocks forever: the output never finishes its batch
    config = tmp_path / "p.conf"
    config.write_text(f'input {{ generator {{ message => "m" }} }} output {{ file {{ path => "{fifo}" }} }}')
    proc = subprocess.Popen([*pipeline_cmd, "run", "-f", str(config), "--path.data", str(tmp_path / "d")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_line(proc.stderr, "started")
        proc.send_signal(signal.SIGTERM)
        _wait_for_line(proc.stderr, "stopping gracefully")
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=2)  # the graceful stop is stuck behind the blocked output
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 1
        assert "forcing exit" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_stdin_with_multiline_auto_flush_emits_without_waiting_for_eof(pipeline_cmd, tmp_path):
    out = tmp_path / "out.ndjson"
    config = ('input { stdin { codec => multiline { pattern => "^\\s" what => "previous" '
              'auto_flush_interval => 1 } } } '
              f'output {{ file {{ path => "{out}" flush_interval => 0 }} }}')
    proc = subprocess.Popen([*pipeline_cmd, "run", "-e", config, "--path.data", str(tmp_path / "d")],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        proc.stdin.write("Exception in thread main\n\tat a.b(C.java:1)\n\tat d.e(F.java:2)\n")
        proc.stdin.flush()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (out.exists() and out.read_text()):
            time.sleep(0.1)
        assert out.exists() and out.read_text(), "the pending multiline event was not flushed before EOF"
        event = json.loads(out.read_text().splitlines()[0])
        assert event["message"] == "Exception in thread main\n\tat a.b(C.java:1)\n\tat d.e(F.java:2)"
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
    assert proc.returncode == 0


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_persisted_queue_keeps_accepted_events_across_kill_9(pipeline_cmd, tmp_path, free_port):
    data = tmp_path / "data"
    fifo = tmp_path / "blocked"
    os.mkfifo(fifo)  # the first run's output never completes: events stay in the queue
    lines = "".join(f"line {i}\n" for i in range(500))
    first = subprocess.Popen([*pipeline_cmd, "run", "-e", f'output {{ file {{ path => "{fifo}" }} }}',
                              "--queue.type", "persisted", "--path.data", str(data),
                              "--api.http.port", str(free_port)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first.stdin.write(lines)
        first.stdin.flush()
        stats = wait_accepted(free_port, 500)
        assert stats["pipelines"]["main"]["plugins"]["inputs"][0]["events"]["out"] == 500
        first.kill()  # SIGKILL: no graceful stop, no flush
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
    assert list((data / "queue" / "main").iterdir())

    settings = tmp_path / "settings"
    settings.mkdir()
    (settings / "logstash.yml").write_text("queue.type: persisted\nqueue.drain: true\n")
    out = tmp_path / "out.ndjson"
    second = subprocess.run([*pipeline_cmd, "run", "-e", f'output {{ file {{ path => "{out}" }} }}',
                             "--path.settings", str(settings), "--path.data", str(data)],
                            input="", capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    delivered = sorted({json.loads(line)["message"] for line in out.read_text().splitlines()})
    assert delivered == sorted(f"line {i}" for i in range(500))


def test_yaml_pipeline_with_env_vars_and_json_logs(pipeline_cmd, tmp_path):
    out = tmp_path / "out.ndjson"
    config = tmp_path / "pipeline.yml"
    config.write_text(f"""
input:
  - stdin: {{ codec: {{ json_lines: {{}} }} }}
filter:
  - if: '[status] >= 500'
    then:
      - mutate: {{ add_tag: [server_error], add_field: {{ env: "${{DEPLOY_ENV:dev}}" }} }}
    else:
      - mutate: {{ add_field: {{ env: "${{DEPLOY_ENV:dev}}" }} }}
output:
  - file: {{ path: "{out}" }}
""")
    env = {**os.environ, "DEPLOY_ENV": "prod"}
    result = subprocess.run([*pipeline_cmd, "run", "-f", str(config), "--path.data", str(tmp_path / "d"),
                             "--log.format", "json"], input='{"status": 503}\n{"status": 200}\n',
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in out.read_text().splitlines()]
    assert [e.get("tags") for e in events] == [["server_error"], None]
    assert all(e["env"] == "prod" for e in events)
    log_lines = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]  # every line is JSON
    assert log_lines and all({"@timestamp", "log.level", "message"} <= set(entry) for entry in log_lines)
    assert any("stopped: 2 accepted" in entry["message"] for entry in log_lines)
