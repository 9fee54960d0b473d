"""`pipeline search` and `pipeline indices`, run as the real command."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.event import Event
from pipeline.localindex import LocalIndex


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    idx = LocalIndex(tmp_path / "index")
    now = datetime.now(UTC).replace(microsecond=0)
    rows = [(5, "auth", "ERROR", "login failed for bob"), (20, "auth", "INFO", "login ok for alice"),
            (30, "web", "ERROR", "upstream timeout"), (60 * 26, "web", "ERROR", "old failure")]
    by_day: dict[str, list[Event]] = {}
    for minutes_ago, service, level, message in rows:
        moment = now - timedelta(minutes=minutes_ago)
        by_day.setdefault(f"logs-{moment:%Y.%m.%d}", []).append(Event({
            "@timestamp": moment.isoformat(), "service": {"name": service}, "log": {"level": level},
            "message": message}))
    for name, events in by_day.items():
        idx.write(name, events)
    idx.close()
    return tmp_path


def run(cmd: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    """The command in-process (fast); ``test_real_command`` checks the installed entry point once."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def test_real_command(pipeline_cmd: list[str], data_dir: Path) -> None:
    result = subprocess.run([*pipeline_cmd, "search", "log.level:ERROR", "--count", "--path.data", str(data_dir)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "3"


def test_search_count_terms_and_documents(pipeline_cmd: list[str], data_dir: Path) -> None:
    base = ["--path.data", str(data_dir)]
    counted = run(pipeline_cmd, "search", "log.level:ERROR", "--since", "1h", "--count", *base)
    assert counted.returncode == 0, counted.stderr
    assert counted.stdout.strip() == "2"
    assert run(pipeline_cmd, "search", "log.level:ERROR", "--count", *base).stdout.strip() == "3"
    terms = run(pipeline_cmd, "search", "*", "--since", "1h", "--terms", "service.name", "--json", *base)
    assert json.loads(terms.stdout) == [{"key": "auth", "doc_count": 2}, {"key": "web", "doc_count": 1}]
    docs = run(pipeline_cmd, "search", "login", "--since", "1h", "--json", *base)
    assert [json.loads(line)["message"] for line in docs.stdout.splitlines()] == [
        "login failed for bob", "login ok for alice"]
    plain = run(pipeline_cmd, "search", '"upstream timeout"', "--since", "2h", *base)
    assert "ERROR  web  upstream timeout" in plain.stdout
    dsl = run(pipeline_cmd, "search", '{"term": {"service.name": "web"}}', "--count", *base)
    assert dsl.stdout.strip() == "2"


def test_search_histogram(pipeline_cmd: list[str], data_dir: Path) -> None:
    result = run(pipeline_cmd, "search", "*", "--since", "1h", "--histogram", "10m", "--json",
                 "--path.data", str(data_dir))
    assert result.returncode == 0, result.stderr
    buckets = json.loads(result.stdout)
    assert sum(b["doc_count"] for b in buckets) == 3
    assert len(buckets) in (6, 7)  # the hour in 10-minute buckets, empty ones included


def test_search_reports_bad_queries(pipeline_cmd: list[str], data_dir: Path) -> None:
    result = run(pipeline_cmd, "search", "level:(ERROR", "--path.data", str(data_dir))
    assert result.returncode == 2
    # KQL errors read like Kibana's: what was expected, what was found, a caret under the column.
    assert 'Expected ")", AND, OR, whitespace but end of input found.' in result.stderr
    assert result.stderr.rstrip().endswith("level:(ERROR\n------------^")
    lucene = run(pipeline_cmd, "search", "level:(ERROR", "--lucene", "--path.data", str(data_dir))
    assert lucene.returncode == 2
    assert "missing closing parenthesis" in lucene.stderr


def test_search_reads_kql_by_default_and_lucene_on_request(pipeline_cmd: list[str], data_dir: Path) -> None:
    base = ["--path.data", str(data_dir), "--count"]
    # Lowercase operators are operators in KQL, as in Kibana's query bar ...
    assert run(pipeline_cmd, "search", "log.level:error or service.name:auth", *base).stdout.strip() == "2"
    assert run(pipeline_cmd, "search", "not log.level:ERROR", *base).stdout.strip() == "1"
    assert run(pipeline_cmd, "search", "log.level:(ERROR or INFO) and service.name:web", *base).stdout.strip() == "2"
    # ... and plain words in Lucene, where `or` joins three optional clauses (message:or among them).
    lucene = run(pipeline_cmd, "search", "log.level:ERROR or service.name:auth", "--lucene", *base)
    assert lucene.stdout.strip() == "4"


def test_search_without_an_index_says_where_it_looked(pipeline_cmd: list[str], tmp_path: Path) -> None:
    result = run(pipeline_cmd, "search", "*", "--path.data", str(tmp_path / "empty"))
    assert result.returncode == 1
    assert "no local index" in result.stderr


def test_indices_lists_and_deletes(pipeline_cmd: list[str], data_dir: Path) -> None:
    listed = run(pipeline_cmd, "indices", "--json", "--path.data", str(data_dir))
    infos = json.loads(listed.stdout)
    assert sum(i["docs"] for i in infos) == 4
    assert all(i["size_bytes"] > 0 for i in infos)
    table = run(pipeline_cmd, "indices", "--path.data", str(data_dir))
    assert table.stdout.splitlines()[0].split() == ["index", "docs", "size"]
    assert table.stdout.splitlines()[-1].split()[:2] == ["total", "4"]
    first = infos[0]["index"]
    deleted = run(pipeline_cmd, "indices", "--delete", first, "--path.data", str(data_dir))
    assert deleted.stdout.strip() == f"deleted {first}"
    assert first not in run(pipeline_cmd, "indices", "--path.data", str(data_dir)).stdout


def test_path_data_from_the_pipeline_settings(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    settings = tmp_path_factory.mktemp("settings")
    (settings / "logstash.yml").write_text(f"path.data: {data_dir}\n")
    result = run([], "search", "*", "--count", "--path.settings", str(settings))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "4"
    assert "total" in run([], "indices", "--path.settings", str(settings)).stdout
