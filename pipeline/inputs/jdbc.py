"""jdbc input: run an SQL statement (once or on a schedule) and turn each row into an event."""

from __future__ import annotations

import codecs
import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as daytime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipeline import fieldref
from pipeline.errors import ConfigError
from pipeline.event import Event
from pipeline.inputs import _jdbc_connect as dbapi
from pipeline.inputs._common import ecs_option
from pipeline.inputs._jdbc_lastrun import LastRun, as_datetime
from pipeline.inputs.base import Input, InputContext, InputOptions
from pipeline.inputs.http_poller import Schedule
from pipeline.plugin import Codec, Duration, Secret, option, register
from pipeline.timestamp import Timestamp

PUSH_BATCH = 500


@register
class Jdbc(Input):
    """Runs ``statement`` against a database named by a JDBC connection string and emits one event per row.

    Python drivers replace Java ones (PostgreSQL: psycopg; SQLite: sqlite3; MySQL/MariaDB: pymysql;
    SQL Server: pymssql), so ``jdbc_driver_library``/``jdbc_driver_class`` are accepted and not needed.
    ``:sql_last_value`` and the ``parameters`` are bound as query parameters (never pasted into the SQL).
    ``interval``/``period`` repeat the statement at a fixed spacing instead of a cron ``schedule``.
    After each successful run :sql_last_value becomes the run's start time, or with ``use_column_value``
    the ``tracking_column`` of the last row, and is saved to ``last_run_metadata_path`` in Logstash's YAML
    (default ``<path.data>/plugins/inputs/jdbc/logstash_jdbc_last_run``). Without ``schedule`` the
    statement runs once and the input ends. A failing connection or statement is logged and retried at the
    next scheduled run; :sql_last_value then stays where it was.
    """

    name = "jdbc"

    @dataclass(frozen=True, kw_only=True)
    class Options(InputOptions):
        jdbc_connection_string: str = option(doc="jdbc:postgresql://host:port/db, jdbc:sqlite:/path.db, "
                                                 "jdbc:mysql://host:port/db or jdbc:sqlserver://host:port;databaseName=db.")
        jdbc_driver_library: str | None = option(None, "Accepted for Logstash configs; Python drivers are used.")
        jdbc_driver_class: str | None = option(None, "Accepted for Logstash configs; Python drivers are used.")
        jdbc_user: str | None = option(None, "Database user.")
        jdbc_password: Secret | None = option(None, "Database password.")
        jdbc_password_filepath: Path | None = option(None, "File holding the password (instead of jdbc_password).")
        statement: str | None = option(None, "SQL to run; :sql_last_value and :name of `parameters` are bound.")
        statement_filepath: Path | None = option(None, "File holding the SQL (instead of statement).")
        parameters: dict[str, Any] = option({}, "Named query parameters: name => value, used as :name.")
        schedule: str | None = option(None, 'Cron schedule (rufus style, e.g. "*/5 * * * *" or with seconds and a '
                                            "time zone); none = run once.")
        interval: Duration | None = option(None, 'Run again this long after each run ends ("1m", "1h").')
        period: Duration | None = option(None, 'Run at this fixed rate ("1m", "1h"), whatever each run takes.')
        last_run_metadata_path: str | None = option(None, "File keeping :sql_last_value between runs.")
        use_column_value: bool = option(False, "Track tracking_column of the last row instead of the run time.")
        tracking_column: str | None = option(None, "Column whose value becomes :sql_last_value.")
        tracking_column_type: Literal["numeric", "timestamp"] = option("numeric", "Type of tracking_column.")
        clean_run: bool = option(False, "Forget the saved :sql_last_value at start.")
        record_last_run: bool = option(True, "Save :sql_last_value to last_run_metadata_path.")
        lowercase_column_names: bool = option(True, "Lowercase column names (field names).")
        charset: str | None = option(None, "Character set of binary columns (decoded to text).")
        columns_charset: dict[str, str] = option({}, "column => character set, overriding charset.")
        jdbc_paging_enabled: bool = option(False, "Read the result in pages (LIMIT/OFFSET).")
        jdbc_paging_mode: Literal["auto", "explicit"] = option(
            "auto", "auto wraps the statement; explicit binds :size and :offset in your own statement.")
        jdbc_page_size: int = option(100000, "Rows per page.")
        jdbc_fetch_size: int | None = option(None, "Rows fetched per round trip (a server-side cursor on PostgreSQL).")
        jdbc_default_timezone: str | None = option(None, "Zone of timestamps stored without one (default UTC).")
        plugin_timezone: Literal["utc", "local"] = option("utc", "Accepted; event timestamps are always UTC.")
        jdbc_pool_timeout: int = option(5, "Seconds to wait for a connection.")
        jdbc_validate_connection: bool = option(False, "Accepted; a connection is opened for every run.")
        jdbc_validation_timeout: int = option(3600, "Accepted; a connection is opened for every run.")
        connection_retry_attempts: int = option(1, "Attempts to connect per run.")
        connection_retry_attempts_wait_time: float = option(0.5, "Seconds between connection attempts.")
        statement_retry_attempts: int = option(1, "Attempts to run the statement per run.")
        statement_retry_attempts_wait_time: float = option(0.5, "Seconds between statement attempts.")
        use_prepared_statements: bool = option(False, "Bind prepared_statement_bind_values to ? placeholders.")
        prepared_statement_name: str = option("", "Name of the prepared statement (required with it).")
        prepared_statement_bind_values: list[Any] = option([], 'Values for the ? placeholders (":sql_last_value" '
                                                               "is replaced by it).")
        sequel_opts: dict[str, Any] = option({}, "Accepted for Logstash configs (Sequel options do not apply).")
        sql_log_level: Literal["fatal", "error", "warn", "info", "debug"] = option("info", "Level of the SQL log.")
        target: str | None = option(None, "Put the row's columns under this field instead of the root.")
        ecs_compatibility: Literal["disabled", "v1", "v8"] | None = ecs_option()
        codec: Codec = option("plain", "Unused (rows are events already).")

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        o = self.options
        if (o.statement is None) == (o.statement_filepath is None):
            raise ConfigError("Must set either :statement or :statement_filepath. Only one may be set at a time.")
        if o.use_column_value and not o.tracking_column:
            raise ConfigError("Must set :tracking_column if :use_column_value is true.")
        if o.jdbc_password is not None and o.jdbc_password_filepath is not None:
            raise ConfigError("Only one of :jdbc_password, :jdbc_password_filepath may be set at a time.")
        try:
            self._statement: str = o.statement if o.statement is not None else Path(o.statement_filepath).read_text("utf-8")
        except OSError as exc:
            raise ConfigError(f"statement_filepath {str(o.statement_filepath)!r} cannot be read: {exc.strerror}") from None
        if o.use_prepared_statements:
            self._check_prepared()
        try:
            self._zone: Any = ZoneInfo(o.jdbc_default_timezone) if o.jdbc_default_timezone else UTC
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"jdbc_default_timezone {o.jdbc_default_timezone!r} is not a known time zone "
                              "(use a name like Europe/Berlin)") from None
        for charset in [o.charset, *o.columns_charset.values()]:
            if charset:
                try:
                    codecs.lookup(charset)
                except LookupError:
                    raise ConfigError(f"unknown character set {charset!r}") from None
        dbapi.check_driver(dbapi.parse(o.jdbc_connection_string))  # a bad string or missing driver fails at load
        if sum(x is not None for x in (o.schedule, o.interval, o.period)) > 1:
            raise ConfigError("Use only one of :schedule, :interval and :period.")
        self._schedule = Schedule({"cron": o.schedule}) if o.schedule else None
        self._target = fieldref.parse(o.target) if o.target else None
        self.finite = self._schedule is None and o.interval is None and o.period is None
        self._log = logging.getLogger(f"pipeline.inputs.jdbc.{self.context.plugin_id or 'jdbc'}")
        self.last_run: LastRun | None = None

    def _check_prepared(self) -> None:
        o = self.options
        errors = []
        if not o.prepared_statement_name:
            errors.append("must provide a name for the Prepared Statement, it must be unique for the db session")
        if self._statement.count("?") != len(o.prepared_statement_bind_values):
            errors.append("there is a mismatch between the number of statement `?` placeholders and "
                          ":prepared_statement_bind_values array setting elements")
        if o.jdbc_paging_enabled:
            errors.append("JDBC pagination cannot be used at this time")
        if errors:
            raise ConfigError("Prepared Statement Mode validation errors: " + ", ".join(errors))

    def register(self) -> None:
        o = self.options
        path: Path | None = None
        if o.record_last_run:
            if o.last_run_metadata_path:
                path = Path(o.last_run_metadata_path)
                if path.is_dir():
                    raise ConfigError('The "last_run_metadata_path" argument must point to a file, received a '
                                      f'directory: "{path}"')
            else:
                path = Path(self.context.path_data) / "plugins" / "inputs" / "jdbc" / "logstash_jdbc_last_run"
        numeric = o.use_column_value and o.tracking_column_type == "numeric"
        self.last_run = LastRun(path, numeric, o.clean_run)
        password = o.jdbc_password.reveal() if o.jdbc_password else None
        if o.jdbc_password_filepath is not None:
            password = Path(o.jdbc_password_filepath).read_text("utf-8").strip()
        self._db = dbapi.parse(o.jdbc_connection_string, o.jdbc_user, password)

    async def run(self, ctx: InputContext) -> None:
        o = self.options
        if self.finite:
            await ctx.run_blocking(self.execute_query, ctx)
            return
        every = float(o.interval if o.interval is not None else o.period or 0)
        delay = self._schedule.next_delay() if self._schedule else every  # rufus: the first run after one interval
        while not await ctx.wait_stopping(timeout=delay):
            started = time.monotonic()
            await ctx.run_blocking(self.execute_query, ctx)
            if self._schedule is not None:
                delay = self._schedule.next_delay()
            else:  # period keeps the rate (a long run eats into the wait); interval waits fully
                delay = max(0.0, every - (time.monotonic() - started)) if o.period is not None else every

    # -- one run --------------------------------------------------------------------------------------
    def execute_query(self, ctx: InputContext) -> bool:
        """Runs the statement once, pushes every row, then saves :sql_last_value; False if it failed."""
        assert self.last_run is not None
        o = self.options
        started = datetime.now(UTC)
        for attempt in range(1, max(1, o.statement_retry_attempts) + 1):
            connection = self._connect()
            if connection is None:
                return False
            try:
                tracked = self._emit_rows(connection, ctx, started)
            except Exception as exc:  # noqa: BLE001 - any driver error: log, keep the last value, retry later
                self._log.warning("Exception when executing JDBC query: %s: %s", type(exc).__name__, exc)
                if attempt >= o.statement_retry_attempts:
                    self._log.error("Unable to execute statement. Tried %d times.", attempt)
                    return False
                self._log.error("Unable to execute statement. Trying again.")
                time.sleep(o.statement_retry_attempts_wait_time)
                continue
            finally:
                _close(connection)
            if tracked is None:  # stopped while pushing: the rows were not all accepted
                return False
            self.last_run.set(tracked)
            self.last_run.write()
            return True
        return False

    def _connect(self) -> Any:
        o = self.options
        zone_name = o.jdbc_default_timezone or "UTC"
        for attempt in range(1, max(1, o.connection_retry_attempts) + 1):
            try:
                return dbapi.connect(self._db, zone_name, o.jdbc_pool_timeout)
            except dbapi.DriverMissing:
                raise
            except Exception as exc:  # noqa: BLE001 - drivers raise their own error trees
                self._log.error("Unable to connect to database %s (attempt %d of %d): %s: %s",
                                self._describe(), attempt, o.connection_retry_attempts, type(exc).__name__, exc)
                if attempt < o.connection_retry_attempts:
                    time.sleep(o.connection_retry_attempts_wait_time)
        return None

    def _describe(self) -> str:
        db = self._db
        return f"{db.dialect}://{db.host}{':' + str(db.port) if db.port else ''}/{db.database}"

    def _emit_rows(self, connection: Any, ctx: InputContext, started: datetime) -> Any:
        """Pushes the rows in batches; returns the new :sql_last_value, or None when stopped mid-way."""
        o = self.options
        tracked: Any = self.last_run.value if o.use_column_value else started  # type: ignore[union-attr]
        warned = False
        batch: list[Event] = []
        limit = min(PUSH_BATCH, ctx.queue.push_limit())
        for row in self._rows(connection):
            if o.use_column_value:
                if o.tracking_column in row:
                    tracked = row[o.tracking_column]
                elif not warned:
                    self._log.warning("tracking_column not found in dataset. tracking_column=%s dataset_columns=%s",
                                      o.tracking_column, list(row))
                    warned = True
            batch.append(self._event(row))
            if len(batch) >= limit:
                if not ctx.push_blocking(batch):
                    return None
                batch = []
        if batch and not ctx.push_blocking(batch):
            return None
        return tracked

    def _rows(self, connection: Any) -> Iterator[dict[str, Any]]:
        o = self.options
        values = self._bind_values()
        if o.use_prepared_statements:
            sql = dbapi.bind_positional(self._statement, self._db.paramstyle)
            yield from self._fetch(connection, sql, values)
            return
        if not o.jdbc_paging_enabled:
            yield from self._fetch(connection, self._sql(self._statement, values), values)
            return
        offset = 0
        while True:
            if o.jdbc_paging_mode == "explicit":
                page_values = {**values, "size": o.jdbc_page_size, "offset": offset}
                sql = self._sql(self._statement, page_values)
            else:
                page_values = values
                sql = self._sql(self._paged(o.jdbc_page_size, offset), values)
            count = 0
            for row in self._fetch(connection, sql, page_values):
                count += 1
                yield row
            if count < o.jdbc_page_size:
                return
            offset += o.jdbc_page_size

    def _paged(self, size: int, offset: int) -> str:
        inner = self._statement.strip().rstrip(";")
        if self._db.dialect == "sqlserver":
            return f"SELECT * FROM ({inner}) AS t1 ORDER BY (SELECT NULL) OFFSET {offset} ROWS FETCH NEXT {size} ROWS ONLY"
        return f"SELECT * FROM ({inner}) AS t1 LIMIT {size} OFFSET {offset}"

    def _sql(self, statement: str, values: Any) -> str:
        return dbapi.bind(statement, set(values), self._db.paramstyle)

    def _bind_values(self) -> Any:
        assert self.last_run is not None
        last = self._db_value(self.last_run.value)
        o = self.options
        if o.use_prepared_statements:
            return [last if v == ":sql_last_value" else self._db_value(v) for v in o.prepared_statement_bind_values]
        values = {k: self._db_value(v) for k, v in o.parameters.items()}
        values["sql_last_value"] = last
        return values

    def _db_value(self, value: Any) -> Any:
        """Times go to the database as text (SQLite) or naive times in jdbc_default_timezone."""
        if isinstance(value, Timestamp):
            value = value.to_datetime()
        if isinstance(value, datetime):
            local = value.astimezone(self._zone).replace(tzinfo=None)
            if self._db.dialect == "sqlite":
                return local.isoformat(sep=" ", timespec="microseconds" if local.microsecond else "seconds")
            return local
        return value

    def _fetch(self, connection: Any, sql: str, values: Any) -> Iterator[dict[str, Any]]:
        o = self.options
        self._log.log(_LEVELS[o.sql_log_level], "Executing JDBC query: %s", sql)
        cursor = self._cursor(connection)
        try:
            cursor.execute(sql, values) if values else cursor.execute(sql)
            if cursor.description is None:
                return
            names = [str(d[0]) for d in cursor.description]
            if o.lowercase_column_names:
                names = [n.lower() for n in names]
            while rows := cursor.fetchmany(o.jdbc_fetch_size or 1000):
                for row in rows:
                    yield {name: self._decorate(name, value) for name, value in zip(names, row, strict=False)}
        finally:
            cursor.close()

    def _cursor(self, connection: Any) -> Any:
        o = self.options
        if o.jdbc_fetch_size and self._db.dialect == "postgresql":
            # A named (server-side) cursor streams the result instead of loading it whole.
            cursor = connection.cursor(name=f"pipeline_jdbc_{uuid.uuid4().hex[:12]}")
            cursor.itersize = o.jdbc_fetch_size
            return cursor
        cursor = connection.cursor()
        if o.jdbc_fetch_size:
            cursor.arraysize = o.jdbc_fetch_size
        return cursor

    def _decorate(self, column: str, value: Any) -> Any:
        """Database values as event values: times become Timestamps, decimals numbers, bytes text."""
        if isinstance(value, (datetime, date)):
            parsed = as_datetime(value, self._zone)
            return Timestamp.from_datetime(parsed) if parsed else value
        if isinstance(value, Decimal):
            exponent = value.as_tuple().exponent  # numeric(10,2) stays a float, as Logstash's BigDecimal
            return int(value) if isinstance(exponent, int) and exponent >= 0 else float(value)
        if isinstance(value, (bytes, bytearray, memoryview)):
            charset = self.options.columns_charset.get(column) or self.options.charset or "utf-8"
            return bytes(value).decode(charset, errors="replace")
        if isinstance(value, (daytime, timedelta, uuid.UUID)):
            return str(value)
        return value

    def _event(self, row: dict[str, Any]) -> Event:
        if self._target is None:
            return Event(row)
        event = Event()
        event.set(self._target, row)
        return event


_LEVELS = {"fatal": logging.CRITICAL, "error": logging.ERROR, "warn": logging.WARNING, "info": logging.INFO,
           "debug": logging.DEBUG}


def _close(connection: Any) -> None:
    try:
        connection.rollback()  # a read-only run; ends the transaction the driver opened
        connection.close()
    except Exception:  # noqa: BLE001 - closing a broken connection may fail; nothing to do about it
        pass
