"""The command line: fast start-up (only the subcommand in use is imported), exit codes."""

from __future__ import annotations

import subprocess
import sys


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
