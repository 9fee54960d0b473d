"""The command line: fast start-up (only the subcommand in use is imported), exit codes."""

from __future__ import annotations

import subprocess
import sys

from pipeline import __version__


def test_running_a_pipeline_does_not_load_heavy_clients():
    code = ("import sys; from pipeline.cli import main; "
            "main(['check', '-e', 'input { generator { count => 1 } } output { null {} }']); "
            "print(sorted(m for m in ('elasticsearch', 'aiohttp', 'jinja2', 'pipeline.alerts') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_unknown_command_lists_every_command():
    result = subprocess.run([sys.executable, "-m", "pipeline", "frobnicate"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    for name in ("run", "check", "list", "alerts", "search", "setup", "dashboards"):
        assert name in result.stderr


# What a file → grok → date → file run has no use for (issue 15: every start pays for what it imports): yaml (no
# settings file), regex (re compiles the pattern), the persisted queue, condition nodes (no "if"), did-you-mean
# hints, the monitoring API and HTTP (api.enabled false), SQLite and the local index (a file output), process
# workers, the status line, the clients and the alert engine.
NOT_FOR_A_FILE_RUN = ("yaml", "regex", "pipeline.queue.persisted", "pipeline.config.conditions", "difflib",
                      "pipeline.runtime.api", "http.server", "http.client", "urllib.request", "sqlite3",
                      "pipeline.localindex", "pipeline.runtime.procworkers", "multiprocessing", "pickle",
                      "pipeline.runtime.status_line", "elasticsearch", "aiohttp", "requests", "jinja2",
                      "pipeline.alerts", "pipeline.ui")


def test_the_file_json_path_starts_without_modules_it_does_not_use(tmp_path):
    """The modules of NOT_FOR_A_FILE_RUN stay unloaded while the pipeline runs to its end."""
    source = tmp_path / "access.log"
    source.write_text('1.2.3.4 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 12 "-" "curl"\n')
    output = tmp_path / "out.json"
    config = (f'input {{ file {{ path => ["{source}"] mode => "read" exit_after_read => true '
              f'sincedb_path => "/dev/null" file_completed_action => "log" '
              f'file_completed_log_path => "{tmp_path / "done.log"}" }} }} '
              'filter { grok { match => { "message" => "%{COMBINEDAPACHELOG}" } } '
              'date { match => ["timestamp", "dd/MMM/yyyy:HH:mm:ss Z"] } } '
              f'output {{ file {{ path => "{output}" codec => json_lines }} }}')
    code = ("import sys; from pipeline.cli import main; "
            f"code = main(['run', '-e', {config!r}, '--no-status', '--api.enabled', 'false', "
            f"'--path.data', {str(tmp_path / 'data')!r}]); "
            f"print(code, sorted(m for m in {NOT_FOR_A_FILE_RUN!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "0 []"
    assert '"status_code":200' in output.read_text()


def test_version_answers_without_importing_any_subcommand():
    code = ("import sys\nfrom pipeline.cli import main\ntry:\n    main(['--version'])\nexcept SystemExit as exc:\n"
            "    print(exc.code, sorted(m for m in sys.modules if m.startswith('pipeline.commands.')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0] == f"pipeline {__version__}"
    assert lines[-1] == "0 []"


def test_help_still_lists_every_command():
    result = subprocess.run([sys.executable, "-m", "pipeline", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for name in ("run", "check", "list", "alerts", "search", "setup", "dashboards"):
        assert name in result.stdout


def test_help_builds_every_command_without_the_http_clients():
    """The Elasticsearch client (~0.3 s of CPU) and requests (Kibana, ~0.09 s) are imported by the commands that
    talk to a cluster when they run, not to declare their options: `pipeline --help` builds every parser."""
    code = ("import sys; from pipeline.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('elasticsearch', 'elastic_transport', 'aiohttp', 'requests') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
