"""``--user`` without a password (and the reverse) is a usage error on every command that takes credentials.

Each command runs through the real ``pipeline`` command against a closed port: before the check it
connected without credentials and failed to reach the server (exit 69 or 1), now it stops at exit 2
before any connection, naming what is missing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.polling import unused_port

from pipeline.commands._credentials import basic_auth
from pipeline.errors import UsageError

REPO = Path(__file__).resolve().parents[2]


def _pipeline(*argv: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("ES_PASSWORD", "ES_USER")}
    environ.update(env or {}, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "pipeline", *map(str, argv)], capture_output=True, text=True,
                          timeout=120, cwd=cwd, env=environ)


def _commands(tmp_path: Path) -> dict[str, list[str | Path]]:
    """Each command that takes --user/--password, with just enough arguments to reach its connection."""
    url = f"http://127.0.0.1:{unused_port()}"  # nothing listens there
    rules = tmp_path / "rules"
    rules.mkdir()
    rule = rules / "r.yaml"
    rule.write_text("name: r\ntype: any\nindex: logs-*\nfilter: []\nalert: [stdout]\n", encoding="utf-8")
    archived = tmp_path / "logs-2020.01.01.ndjson.gz"
    archived.write_bytes(b"")
    return {
        "setup": ["setup", "--es", url],
        "setup --kibana": ["setup", "--es", url, "--kibana", url],
        "search": ["search", "--es", url],
        "archive": ["archive", "--es", url, "--older-than", "30d", "--to", tmp_path / "out"],
        "restore": ["restore", archived, "--es", url],
        "alerts run": ["alerts", "run", "--once", "--rules", rules, "--es", url],
        "alerts test": ["alerts", "test", rule, "--es", url],
        "alerts status": ["alerts", "status", "--es", url],
        "dashboards import": ["dashboards", "import", "--kibana", url, "--timeout", "1"],
    }


@pytest.fixture(scope="module")
def commands(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list[str | Path]]]:
    tmp_path = tmp_path_factory.mktemp("credentials")
    return tmp_path, _commands(tmp_path)


NAMES = ["setup", "setup --kibana", "search", "archive", "restore", "alerts run", "alerts test", "alerts status",
         "dashboards import"]


@pytest.mark.parametrize("name", NAMES)
def test_user_without_password_is_a_usage_error(commands, name):
    cwd, argv = commands
    result = _pipeline(*argv[name], "--user", "elastic", cwd=cwd)
    assert result.returncode == 2, result.stderr
    assert "user 'elastic' (--user" in result.stderr and "given without a password" in result.stderr
    assert "give --password" in result.stderr and "ES_PASSWORD" in result.stderr


@pytest.mark.parametrize("name", NAMES)
def test_password_without_user_is_a_usage_error(commands, name):
    cwd, argv = commands
    result = _pipeline(*argv[name], "--password", "secret", cwd=cwd)
    assert result.returncode == 2, result.stderr
    assert "a password (--password" in result.stderr and "given without a user: add --user" in result.stderr
    assert "secret" not in result.stderr


@pytest.mark.parametrize("name", ["setup", "dashboards import"])
def test_the_password_may_come_from_es_password(commands, name):
    """With ES_PASSWORD set the pair is whole: the command goes on and fails only to reach the server."""
    cwd, argv = commands
    result = _pipeline(*argv[name], "--user", "elastic", cwd=cwd, env={"ES_PASSWORD": "secret"})
    assert result.returncode not in (0, 2), result.stderr
    assert "given without" not in result.stderr


def test_alerts_settings_user_without_any_password_is_a_usage_error(commands):
    cwd, argv = commands
    settings = cwd / "alerts-settings.yaml"
    settings.write_text("elasticsearch:\n  user: elastic\n", encoding="utf-8")
    result = _pipeline(*argv["alerts status"], "--settings", settings, cwd=cwd)
    assert result.returncode == 2, result.stderr
    assert "elasticsearch.user" in result.stderr and "elasticsearch.password" in result.stderr


def test_an_ambient_es_password_alone_asks_for_no_credentials(monkeypatch):
    monkeypatch.setenv("ES_PASSWORD", "secret")
    assert basic_auth(None, None) == (None, None)
    assert basic_auth("elastic", None) == ("elastic", "secret")
    assert basic_auth("elastic", "given") == ("elastic", "given")


def test_the_error_names_the_sources_it_was_given():
    with pytest.raises(UsageError, match=r"give --pw or set KIBANA_PW"):
        basic_auth("u", None, password_env="KIBANA_PW", password_sources="--pw")
    with pytest.raises(UsageError, match=r"add --who"):
        basic_auth(None, "p", user_sources="--who")


@pytest.mark.parametrize("argv", [
    ["search", "--user", "elastic", "--password", "pw", "*"],
    ["search", "--api-key", "id:key", "*"],
    ["search", "--insecure", "*"],
    ["archive", "--policy", "{policy}", "--user", "elastic", "--password", "pw"],
    ["restore", "--policy", "{policy}", "logs-2020.01.01", "--ca-cert", "ca.pem"],
], ids=["search user", "search api-key", "search insecure", "archive --policy user", "restore --policy ca-cert"])
def test_connection_flags_without_es_are_a_usage_error(tmp_path: Path, argv: list[str]) -> None:
    # Without --es these commands work on the local index: the flags used to be ignored without a word.
    data = tmp_path / "data"
    (data / "index").mkdir(parents=True)
    policy = tmp_path / "policy.yml"
    policy.write_text(f"hot: 7d\ntiers:\n  - {{name: nas, type: directory, path: {tmp_path / 'nas'}, until: 30d}}\n",
                      encoding="utf-8")
    args = [a.replace("{policy}", str(policy)) for a in argv]
    done = _pipeline(*args, "--path.data", data, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "only apply to a cluster: add --es URL" in done.stderr
    assert "Traceback" not in done.stderr


def test_local_search_without_connection_flags_still_runs(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "index").mkdir(parents=True)
    done = _pipeline("search", "*", "--path.data", data, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
