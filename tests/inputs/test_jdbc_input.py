"""jdbc input, built from config text: SQLite (stdlib) and a real PostgreSQL server (scripts/services.sh),
:sql_last_value across runs and across restarts of the real `pipeline run`, paging, parameters, failures."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from support.push_sizes import run_into_small_queue

from pipeline.errors import ConfigErrors
from pipeline.event import Event
from pipeline.inputs._jdbc_connect import parse as parse_jdbc_url
from pipeline.testing import build_plugin, run_pipeline
from pipeline.timestamp import Timestamp


@pytest.fixture()
def sqlite_db(tmp_path: Path) -> Path:
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE Logins (ID INTEGER PRIMARY KEY, UserName TEXT, Raw BLOB, Amount NUMERIC, "
                   "At TEXT)")
        db.executemany("INSERT INTO Logins VALUES (?, ?, ?, ?, ?)", [
            (1, "alice", "caf\xe9".encode("latin-1"), 1.5, "2024-05-01 10:00:00"),
            (2, "bob", b"plain", 2, "2024-05-01 11:00:00"),
            (3, "carol", None, None, "2024-05-02 09:30:00"),
        ])
    return path


def _jdbc(db: Path, options: str, data: Path | None = None) -> list[Event]:
    text = f'input {{ jdbc {{ jdbc_connection_string => "jdbc:sqlite:{db}" jdbc_user => "" {options} }} }}'
    return run_pipeline(text, path_data=data)


def test_each_row_becomes_an_event_with_lowercased_columns(sqlite_db: Path) -> None:
    events = _jdbc(sqlite_db, 'statement => "SELECT * FROM Logins ORDER BY ID" '
                              'columns_charset => { "raw" => "ISO-8859-1" } tags => ["db"]')
    assert [e.get("username") for e in events] == ["alice", "bob", "carol"]
    assert events[0].get("raw") == "café" and events[1].get("raw") == "plain" and events[2].get("raw") is None
    assert events[0].get("amount") == 1.5 and events[0].tags == ["db"]
    assert "UserName" not in events[0].data


def test_lowercase_column_names_false_keeps_the_case_and_target_nests(sqlite_db: Path) -> None:
    [event] = _jdbc(sqlite_db, 'statement => "SELECT ID, UserName FROM Logins WHERE ID = 2" '
                               'lowercase_column_names => false target => "[row]"')
    assert event.get("[row]") == {"ID": 2, "UserName": "bob"}


def test_parameters_are_bound_by_name_and_quoted_colons_are_left_alone(sqlite_db: Path) -> None:
    [event] = _jdbc(sqlite_db, """statement => "SELECT username, 'at :who' AS note FROM Logins WHERE username = :who"
                                  parameters => { "who" => "carol" }""")
    assert event.get("username") == "carol" and event.get("note") == "at :who"


def test_statement_filepath(sqlite_db: Path, tmp_path: Path) -> None:
    sql = tmp_path / "q.sql"
    sql.write_text("SELECT count(*) AS n FROM Logins\n")
    [event] = _jdbc(sqlite_db, f'statement_filepath => "{sql}"')
    assert event.get("n") == 3


def test_numeric_tracking_column_carries_sql_last_value_to_the_next_run(sqlite_db: Path, tmp_path: Path) -> None:
    last = tmp_path / "last_run"
    options = (f'statement => "SELECT id, username FROM Logins WHERE id > :sql_last_value ORDER BY id" '
               f'use_column_value => true tracking_column => "id" last_run_metadata_path => "{last}"')
    assert [e.get("id") for e in _jdbc(sqlite_db, options)] == [1, 2, 3]
    assert last.read_text() == "--- 3\n"  # Logstash's YAML
    with sqlite3.connect(sqlite_db) as db:
        db.execute("INSERT INTO Logins (ID, UserName) VALUES (4, 'dave')")
    assert [e.get("id") for e in _jdbc(sqlite_db, options)] == [4]
    assert _jdbc(sqlite_db, options) == [] and last.read_text() == "--- 4\n"
    assert [e.get("id") for e in _jdbc(sqlite_db, options + " clean_run => true")] == [1, 2, 3, 4]


def test_a_file_written_by_logstash_is_read(sqlite_db: Path, tmp_path: Path) -> None:
    last = tmp_path / "last_run"
    last.write_text("--- !ruby/object:DateTime 2024-05-01 10:30:00.000000000 Z\n")
    options = (f'statement => "SELECT id, at FROM Logins WHERE at > :sql_last_value ORDER BY id" use_column_value => true '
               f'tracking_column => "at" tracking_column_type => "timestamp" last_run_metadata_path => "{last}"')
    assert [e.get("id") for e in _jdbc(sqlite_db, options)] == [2, 3]
    assert last.read_text() == "--- 2024-05-02 09:30:00.000000000 Z\n"


def test_without_column_value_sql_last_value_is_the_last_run_time(sqlite_db: Path, tmp_path: Path) -> None:
    before = time.time()
    _jdbc(sqlite_db, 'statement => "SELECT 1 AS one"', data=tmp_path)
    saved = (tmp_path / "plugins" / "inputs" / "jdbc" / "logstash_jdbc_last_run").read_text()
    assert saved.startswith("--- ") and saved.endswith(" Z\n")
    assert Timestamp.parse(saved[4:-3].replace(" ", "T") + "Z").seconds >= int(before)
    # the first run saw 1970-01-01, the second sees the first run's time
    [event] = _jdbc(sqlite_db, 'statement => "SELECT :sql_last_value AS last"', data=tmp_path)
    assert event.get("last").startswith(saved[4:14])


def test_record_last_run_false_writes_nothing(sqlite_db: Path, tmp_path: Path) -> None:
    _jdbc(sqlite_db, 'statement => "SELECT 1 AS one" record_last_run => false', data=tmp_path)
    assert not (tmp_path / "plugins").exists()


@pytest.mark.parametrize("mode", ["auto", "explicit"])
def test_paging_reads_every_row_once(sqlite_db: Path, mode: str) -> None:
    statement = ("SELECT id FROM Logins ORDER BY id" if mode == "auto"
                 else "SELECT id FROM Logins ORDER BY id LIMIT :size OFFSET :offset")
    events = _jdbc(sqlite_db, f'statement => "{statement}" jdbc_paging_enabled => true jdbc_page_size => 2 '
                              f'jdbc_paging_mode => "{mode}" jdbc_fetch_size => 1')
    assert [e.get("id") for e in events] == [1, 2, 3]


def test_prepared_statement_binds_values_and_sql_last_value(sqlite_db: Path) -> None:
    events = _jdbc(sqlite_db, 'statement => "SELECT id FROM Logins WHERE id > ? AND username <> ? ORDER BY id" '
                              'use_prepared_statements => true prepared_statement_name => "q" use_column_value => true '
                              'tracking_column => "id" prepared_statement_bind_values => [":sql_last_value", "bob"]')
    assert [e.get("id") for e in events] == [1, 3]


def test_a_failing_statement_is_logged_and_keeps_sql_last_value(sqlite_db: Path, tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    last = tmp_path / "last_run"
    last.write_text("--- 2\n")
    events = _jdbc(sqlite_db, f'statement => "SELECT nope FROM missing" use_column_value => true '
                              f'tracking_column => "id" last_run_metadata_path => "{last}" statement_retry_attempts => 2 '
                              f'statement_retry_attempts_wait_time => 0')
    assert events == [] and last.read_text() == "--- 2\n"
    assert "no such table: missing" in caplog.text and "Tried 2 times" in caplog.text


def test_an_unreachable_database_is_logged_and_the_input_ends(caplog: pytest.LogCaptureFixture) -> None:
    events = run_pipeline('input { jdbc { jdbc_connection_string => "jdbc:postgresql://127.0.0.1:9/none" '
                          'jdbc_user => "x" jdbc_password => "secret-pw" statement => "SELECT 1" '
                          'connection_retry_attempts => 2 connection_retry_attempts_wait_time => 0 } }')
    assert events == []
    assert "Unable to connect to database postgresql://127.0.0.1:9/none (attempt 2 of 2)" in caplog.text
    assert "secret-pw" not in caplog.text


@pytest.mark.parametrize(("options", "message"), [
    ('statement => "SELECT 1" statement_filepath => "/tmp/q.sql"', "Must set either :statement or :statement_filepath"),
    ("", "Must set either :statement or :statement_filepath"),
    ('statement => "SELECT 1" use_column_value => true', "Must set :tracking_column"),
    ('statement => "SELECT ?" use_prepared_statements => true', "must provide a name for the Prepared Statement"),
    ('statement => "SELECT 1" jdbc_default_timezone => "Mars/Olympus"', "not a known time zone"),
    ('statement => "SELECT 1" columns_charset => { "a" => "klingon" }', "unknown character set"),
    ('statement => "SELECT 1" schedule => "every tuesday"', "schedule cron"),
    ('statement_filepath => "/nonexistent/q.sql"', "cannot be read"),
    ('statement => "SELECT 1" schedule => "* * * * *" interval => "1m"', "only one of :schedule, :interval"),
    ('statement_filepath => "/dev/null" password => "x"', "unknown option"),
])
def test_config_errors_name_the_problem(options: str, message: str) -> None:
    with pytest.raises(ConfigErrors, match=message):
        build_plugin("input", f'jdbc {{ jdbc_connection_string => "jdbc:sqlite::memory:" {options} }}')


@pytest.mark.parametrize(("url", "message"), [
    ("postgresql://h/db", "must start with 'jdbc:'"),
    ("jdbc:oracle:thin:@h:1521:db", "unsupported database 'oracle'"),
])
def test_connection_strings_we_cannot_serve_fail_at_load(url: str, message: str) -> None:
    with pytest.raises(ConfigErrors, match=message):
        build_plugin("input", f'jdbc {{ jdbc_connection_string => "{url}" statement => "SELECT 1" }}')


def test_a_missing_python_driver_is_a_config_error_naming_the_package() -> None:
    with pytest.raises(ConfigErrors, match=r"pip install pymssql"):
        build_plugin("input", 'jdbc { jdbc_connection_string => "jdbc:sqlserver://127.0.0.1:1433;databaseName=x" '
                              'statement => "SELECT 1" }')


@pytest.mark.parametrize("timing", ['schedule => "* * * * * *"', 'interval => "200ms"', 'period => "200ms"'])
def test_a_schedule_runs_the_statement_again_until_the_pipeline_stops(sqlite_db: Path, tmp_path: Path,
                                                                      timing: str) -> None:
    from pipeline.config import loader
    from pipeline.runtime.builder import build_pipeline
    from pipeline.runtime.runner import PipelineRunner, RunSettings

    text = (f'input {{ jdbc {{ jdbc_connection_string => "jdbc:sqlite:{sqlite_db}" {timing} '
            f'statement => "SELECT id FROM Logins WHERE id > :sql_last_value ORDER BY id" use_column_value => true '
            f'tracking_column => "id" }} }} output {{ null {{}} }}')
    built = build_pipeline(loader.parse_text(text, "<test>"), "jdbc", tmp_path)
    seen: list[int] = []
    route = built.route

    def tap(events: list[Event], sinks: list[list[Event]]) -> None:
        seen.extend(e.get("id") for e in events)
        route(events, sinks)

    built.route = tap  # type: ignore[method-assign]
    runner = PipelineRunner(built, RunSettings(batch_delay=0.01))

    async def main() -> None:
        task = asyncio.create_task(runner.run())
        try:
            await _wait(lambda: seen == [1, 2, 3], "the first scheduled run")
            with sqlite3.connect(sqlite_db) as db:
                db.execute("INSERT INTO Logins (ID, UserName) VALUES (7, 'gina')")
            await _wait(lambda: seen == [1, 2, 3, 7], "the next scheduled run")
        finally:
            runner.request_stop()
            await asyncio.wait_for(task, 30)

    asyncio.run(main())
    assert seen == [1, 2, 3, 7]  # nothing read twice: :sql_last_value moved on between runs


async def _wait(predicate: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


# -- a real PostgreSQL server -----------------------------------------------------------------------------
@pytest.fixture()
def pg_table(postgresql_url: str) -> Iterator[tuple[str, str]]:
    """A fresh table of orders; yields (jdbc connection string, table name)."""
    table = f"orders_{int(time.time() * 1000) % 10**9}"
    with psycopg.connect(postgresql_url, autocommit=True) as db:
        db.execute(f"CREATE TABLE {table} (id serial PRIMARY KEY, customer text, total numeric(10,2), "
                   "qty bigint, placed_at timestamp, placed_tz timestamptz, day date, tags text[], meta jsonb, "
                   "\"Upper\" text)")
        db.execute(f"INSERT INTO {table} (customer, total, qty, placed_at, placed_tz, day, tags, meta, \"Upper\") "
                   "VALUES ('acme', 12.50, 3, '2024-05-01 10:00:00.250', '2024-05-01 12:00:00+02', '2024-05-01', "
                   "'{a,b}', '{\"k\": 1}', 'U'), "
                   "('globex', 100, 1, '2024-05-02 08:00:00', NULL, NULL, NULL, NULL, NULL)")
        jdbc = postgresql_url.replace("postgresql://pipeline@", "jdbc:postgresql://")
        try:
            yield jdbc, table
        finally:
            db.execute(f"DROP TABLE {table}")


@pytest.mark.real_service
def test_postgresql_types_become_event_values(pg_table: tuple[str, str]) -> None:
    jdbc, table = pg_table
    events = run_pipeline(f'input {{ jdbc {{ jdbc_connection_string => "{jdbc}" jdbc_user => "pipeline" '
                          f'jdbc_driver_class => "org.postgresql.Driver" jdbc_driver_library => "/opt/pg.jar" '
                          f'statement => "SELECT * FROM {table} WHERE customer LIKE \'%c%\' ORDER BY id" '
                          f'jdbc_fetch_size => 1 }} }}')
    [acme] = events
    assert acme.get("customer") == "acme" and acme.get("total") == 12.5 and acme.get("qty") == 3
    assert acme.get("placed_at") == Timestamp.parse("2024-05-01T10:00:00.250Z")
    assert acme.get("placed_tz") == Timestamp.parse("2024-05-01T10:00:00Z")
    assert acme.get("day") == Timestamp.parse("2024-05-01T00:00:00Z")
    assert acme.get("tags") == ["a", "b"] and acme.get("meta") == {"k": 1} and acme.get("upper") == "U"


@pytest.mark.real_service
def test_forms_seen_in_real_logstash_configs(pg_table: tuple[str, str], tmp_path: Path) -> None:
    """String numbers, a bareword tracking type, a schedule with a leading space, pgjdbc URL properties."""
    jdbc, table = pg_table
    plugin = build_plugin("input", f'jdbc {{ jdbc_connection_string => "{jdbc}?ssl=false&ApplicationName=etl&loggerLevel=OFF" '
                                   f'jdbc_user => "pipeline" jdbc_page_size => "1" jdbc_paging_enabled => true '
                                   f'statement => "SELECT id, placed_at FROM {table} WHERE placed_at > :sql_last_value" '
                                   f'use_column_value => true tracking_column => "PLACED_AT" tracking_column_type => timestamp '
                                   f'schedule => " * * * * * *" last_run_metadata_path => "{tmp_path / "last"}" }}',
                          path_data=tmp_path)
    assert plugin.options.jdbc_page_size == 1 and plugin.options.tracking_column_type == "timestamp"
    events = run_pipeline(f'input {{ jdbc {{ jdbc_connection_string => "{jdbc}?ssl=false&ApplicationName=etl&loggerLevel=OFF" '
                          f'jdbc_user => "pipeline" jdbc_page_size => "1" jdbc_paging_enabled => true '
                          f'statement => "SELECT id, current_setting(\'application_name\') AS app FROM {table}" }} }}')
    assert sorted(e.get("id") for e in events) == [1, 2] and events[0].get("app") == "etl"


@pytest.mark.real_service
def test_postgresql_timestamp_tracking_with_a_default_timezone(pg_table: tuple[str, str], tmp_path: Path) -> None:
    jdbc, table = pg_table
    last = tmp_path / "last"
    text = (f'input {{ jdbc {{ jdbc_connection_string => "{jdbc}" jdbc_user => "pipeline" '
            f'statement => "SELECT id, placed_at FROM {table} WHERE placed_at > :sql_last_value ORDER BY placed_at" '
            f'use_column_value => true tracking_column => "placed_at" tracking_column_type => "timestamp" '
            f'jdbc_default_timezone => "Europe/Berlin" last_run_metadata_path => "{last}" }} }}')
    first = run_pipeline(text)
    assert [e.get("id") for e in first] == [1, 2]
    assert first[0].get("placed_at") == Timestamp.parse("2024-05-01T08:00:00.250Z")  # 10:00 in Berlin (CEST)
    assert last.read_text() == "--- 2024-05-02 06:00:00.000000000 Z\n"
    assert run_pipeline(text) == []


@pytest.mark.real_service
def test_real_pipeline_run_resumes_from_sql_last_value_after_a_restart(
        pg_table: tuple[str, str], postgresql_url: str, pipeline_cmd: list[str]) -> None:
    jdbc, table = pg_table
    work = Path(tempfile.mkdtemp(prefix="jdbc-e2e-"))
    out = work / "out.jsonl"
    (work / "pipeline.conf").write_text(
        f'input {{ jdbc {{ jdbc_connection_string => "{jdbc}" jdbc_user => "pipeline" jdbc_password => "unused" '
        f'statement => "SELECT id, customer FROM {table} WHERE id > :sql_last_value ORDER BY id" '
        f'use_column_value => true tracking_column => "id" }} }}\n'
        f'output {{ file {{ path => "{out}" codec => json_lines }} }}\n')

    def run() -> list[str]:
        before = out.read_text().splitlines() if out.exists() else []
        done = subprocess.run([*pipeline_cmd, "run", "-f", str(work / "pipeline.conf"), "--path.data",
                               str(work / "data")], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return [json.loads(line)["customer"] for line in out.read_text().splitlines()[len(before):]]

    assert run() == ["acme", "globex"]
    assert (work / "data" / "plugins" / "inputs" / "jdbc" / "logstash_jdbc_last_run").read_text() == "--- 2\n"
    with psycopg.connect(postgresql_url, autocommit=True) as db:
        db.execute(f"INSERT INTO {table} (customer) VALUES ('initech')")
    assert run() == ["initech"]
    assert run() == []


def test_a_real_mysql_jdbc_config_passes_pipeline_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """CleverCloud/logstash-example's pipeline (tests/config/corpus, Apache-2.0: see its MANIFEST.csv): a MySQL
    jdbc input with a Java driver jar and class, as Logstash users write it."""
    import argparse

    from pipeline.commands.run import build_all

    for name, value in {"MYSQL_ADDON_HOST": "db.example", "MYSQL_ADDON_PORT": "3306", "MYSQL_ADDON_DB": "music",
                        "MYSQL_ADDON_USER": "u", "MYSQL_ADDON_PASSWORD": "p", "ES_ADDON_HOST": "es.example",
                        "ES_ADDON_USER": "u", "ES_ADDON_PASSWORD": "p"}.items():
        monkeypatch.setenv(name, value)
    config = Path(__file__).parents[1] / "config" / "corpus" / "CleverCloud__logstash-example__pipeline__logstash.conf"
    args = argparse.Namespace(path_config=[str(config)], config_string=None, path_settings=None)
    [(_, pipeline)] = build_all(args, require_inputs=False)
    [jdbc] = pipeline.inputs
    assert jdbc.name == "jdbc" and jdbc.options.schedule == "* * * * *"
    target = parse_jdbc_url(jdbc.options.jdbc_connection_string)
    assert (target.dialect, target.host, target.port, target.database) == ("mysql", "db.example", 3306, "music")



@pytest.mark.real_service
def test_mysql_rows_and_a_timestamp_tracking_column_across_runs(mariadb_url: str, tmp_path: Path) -> None:
    """A real MariaDB server (MySQL protocol, pymysql): types, a latin1 binary column, :sql_last_value."""
    import pymysql

    url = urlsplit(mariadb_url)
    table = f"songs_{int(time.time() * 1000) % 10**9}"
    db = pymysql.connect(host=url.hostname, port=url.port, user="pipeline", database="pipeline", autocommit=True)
    with db.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {table} (id INT PRIMARY KEY, Title VARCHAR(50), price DECIMAL(6,2), "
                       "raw VARBINARY(20), updated_at DATETIME(3))")
        cursor.execute(f"INSERT INTO {table} VALUES (1, 'Intro', 0.99, %s, '2024-05-01 10:00:00.500'), "
                       "(2, 'Outro', 1.50, NULL, '2024-05-01 11:00:00')", ("caf\xe9".encode("latin-1"),))
    last = tmp_path / "last"
    text = (f'input {{ jdbc {{ jdbc_connection_string => "jdbc:mysql://{url.hostname}:{url.port}/pipeline?useSSL=false" '
            f'jdbc_user => "pipeline" jdbc_driver_class => "com.mysql.cj.jdbc.Driver" '
            f'statement => "SELECT * FROM {table} WHERE updated_at > :sql_last_value ORDER BY updated_at" '
            f'use_column_value => true tracking_column => "updated_at" tracking_column_type => "timestamp" '
            f'columns_charset => {{ "raw" => "ISO-8859-1" }} last_run_metadata_path => "{last}" }} }}')
    try:
        first = run_pipeline(text)
        assert [e.get("title") for e in first] == ["Intro", "Outro"]
        assert first[0].get("price") == 0.99 and first[0].get("raw") == "café"
        assert first[0].get("updated_at") == Timestamp.parse("2024-05-01T10:00:00.500Z")
        assert last.read_text() == "--- 2024-05-01 11:00:00.000000000 Z\n"
        with db.cursor() as cursor:
            cursor.execute(f"INSERT INTO {table} VALUES (3, 'Bonus', 2, NULL, '2024-05-02 09:00:00')")
        assert [e.get("id") for e in run_pipeline(text)] == [3]
    finally:
        with db.cursor() as cursor:
            cursor.execute(f"DROP TABLE {table}")
        db.close()


def test_rows_are_pushed_within_the_queues_push_limit(sqlite_db: Path) -> None:
    plugin = build_plugin("input", f'jdbc {{ jdbc_connection_string => "jdbc:sqlite:{sqlite_db}" jdbc_user => "" '
                                   'statement => "SELECT id FROM Logins ORDER BY id" }')
    sizes, events = run_into_small_queue(plugin, capacity=4)  # pushes of at most 2 (was up to 500)
    assert sizes == [2, 1]
    assert [e.get("id") for e in events] == [1, 2, 3]
