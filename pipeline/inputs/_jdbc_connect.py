"""JDBC connection strings mapped to Python DB-API drivers, and Sequel-style ``:name`` parameters.

Logstash's jdbc input loads a Java driver and hands the connection string to Sequel. We read the same
strings and open the matching Python driver instead:

    jdbc:postgresql://host:port/db?sslmode=require   -> psycopg (installed with the pipeline)
    jdbc:sqlite:/path/to/file.db  (or jdbc:sqlite::memory:) -> sqlite3 (standard library)
    jdbc:mysql://host:port/db, jdbc:mariadb://...     -> pymysql (installed with the pipeline)
    jdbc:sqlserver://host:port;databaseName=db        -> pymssql (pip install pymssql)

``jdbc_driver_library``/``jdbc_driver_class`` are therefore accepted and not needed.
"""

from __future__ import annotations

import importlib
import re
import sqlite3
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from pipeline.errors import ConfigError

SUPPORTED = "jdbc:postgresql://, jdbc:sqlite:, jdbc:mysql://, jdbc:mariadb://, jdbc:sqlserver://"


class DriverMissing(ConfigError):
    """The Python driver for a JDBC connection string is not installed."""


@dataclass(frozen=True)
class Target:
    """Where to connect: which Python driver and with which arguments (no password inside)."""

    dialect: str  # postgresql, sqlite, mysql, sqlserver
    host: str = ""
    port: int | None = None
    database: str = ""
    user: str | None = None
    password: str | None = None
    params: tuple[tuple[str, str], ...] = ()

    @property
    def paramstyle(self) -> str:
        return "named" if self.dialect == "sqlite" else "pyformat"


def parse(connection_string: str, user: str | None = None, password: str | None = None) -> Target:
    """Reads a JDBC URL; user/password given in the URL are used unless jdbc_user/jdbc_password are set."""
    text = connection_string.strip()
    if not text.lower().startswith("jdbc:"):
        raise ConfigError(f"jdbc_connection_string {text!r} must start with 'jdbc:' (supported: {SUPPORTED})")
    rest = text[5:]
    scheme, _, tail = rest.partition(":")
    scheme = scheme.lower()
    if scheme == "sqlite":
        return Target("sqlite", database=tail or ":memory:")
    if scheme in ("postgresql", "postgres", "mysql", "mariadb"):
        dialect = "postgresql" if scheme.startswith("postgres") else "mysql"
        if not tail.startswith("//"):  # jdbc:postgresql:database means localhost
            tail = "//localhost/" + tail
        url = urlsplit("x:" + tail)
        query = dict(parse_qsl(url.query))
        return Target(dialect, url.hostname or "localhost", url.port, unquote(url.path.lstrip("/")),
                      user if user is not None else query.pop("user", url.username),
                      password if password is not None else query.pop("password", url.password),
                      tuple(sorted(query.items())))
    if scheme == "sqlserver":
        # jdbc:sqlserver://host[\instance][:port][;property=value[;...]]
        address, *props = tail.lstrip("/").split(";")
        settings = {k.strip().lower(): v.strip() for k, _, v in (p.partition("=") for p in props if p.strip())}
        host, _, port = address.partition(":")
        return Target("sqlserver", host or "localhost", int(port) if port else None,
                      settings.pop("databasename", settings.pop("database", "")),
                      user if user is not None else settings.pop("user", None),
                      password if password is not None else settings.pop("password", None))
    raise ConfigError(f"jdbc_connection_string {text!r}: unsupported database {scheme!r} (supported: {SUPPORTED})")


def _driver(module: str, package: str, target: Target) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise DriverMissing(f"jdbc input: {target.dialect} needs the Python driver {package!r} "
                            f"(pip install {package}); Java drivers (jdbc_driver_library) are not used") from None


_DRIVERS = {"postgresql": ("psycopg", "psycopg[binary]"), "mysql": ("pymysql", "pymysql"),
            "sqlserver": ("pymssql", "pymssql")}


def check_driver(target: Target) -> None:
    """Fails at load (DriverMissing) when the Python driver for the target is not installed."""
    if target.dialect in _DRIVERS:
        _driver(*_DRIVERS[target.dialect], target)


def connect(target: Target, timezone: str, timeout: float) -> Any:
    """Opens a DB-API connection; timestamps without zone are read and bound in ``timezone``."""
    if target.dialect == "sqlite":
        return sqlite3.connect(target.database, timeout=timeout, check_same_thread=False)
    if target.dialect == "postgresql":
        psycopg = _driver("psycopg", "psycopg[binary]", target)
        kwargs = _libpq_params(dict(target.params))
        return psycopg.connect(host=target.host, port=target.port or 5432, dbname=target.database,
                               user=target.user, password=target.password, connect_timeout=max(1, int(timeout)),
                               options=f"-c TimeZone={timezone}", autocommit=False, **kwargs)
    if target.dialect == "mysql":
        pymysql = _driver("pymysql", "pymysql", target)
        conn = pymysql.connect(host=target.host, port=target.port or 3306, database=target.database,
                               user=target.user, password=target.password or "", connect_timeout=timeout)
        with conn.cursor() as cursor:
            # Named zones need the server's zone tables (often not loaded); UTC does not.
            cursor.execute("SET time_zone = %s", ("+00:00" if timezone == "UTC" else timezone,))
        return conn
    pymssql = _driver("pymssql", "pymssql", target)
    return pymssql.connect(server=target.host, port=str(target.port or 1433), database=target.database,
                           user=target.user, password=target.password, login_timeout=int(timeout))


# pgjdbc URL properties with a libpq equivalent; the others (loggerLevel, prepareThreshold...) are Java-only.
_PGJDBC_TO_LIBPQ = {"sslmode": "sslmode", "sslcert": "sslcert", "sslkey": "sslkey", "sslrootcert": "sslrootcert",
                    "ApplicationName": "application_name", "applicationName": "application_name",
                    "options": "options", "targetServerType": "target_session_attrs"}


def _libpq_params(params: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if params.get("ssl", "").lower() == "true" and "sslmode" not in params:
        out["sslmode"] = "require"  # pgjdbc's ssl=true: encrypted (verify-full there; we keep libpq's checks)
    for name, value in params.items():
        if name in _PGJDBC_TO_LIBPQ and name != "options":
            out[_PGJDBC_TO_LIBPQ[name]] = value
    if out.get("target_session_attrs") == "primary":
        out["target_session_attrs"] = "read-write"
    return out


# A quoted string, a line comment, a Postgres cast (::), or a :name placeholder (Sequel's syntax).
_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|::|:(\w+)|%")


def bind(sql: str, names: set[str], paramstyle: str) -> str:
    """Rewrites Sequel's ``:name`` placeholders for the driver (named ``:name`` or pyformat ``%(name)s``).

    Only declared names are placeholders; quoted text, comments and ``::`` casts are left alone.
    """
    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        name = match.group(1)
        if name is not None:
            if name not in names:
                return token
            return f":{name}" if paramstyle == "named" else f"%({name})s"
        # With parameters, pyformat drivers read every % (quoted ones too) as a placeholder.
        return token.replace("%", "%%") if paramstyle == "pyformat" else token

    return _TOKENS.sub(replace, sql)


_POSITIONAL = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|\?|%")


def bind_positional(sql: str, paramstyle: str) -> str:
    """Rewrites ``?`` placeholders (prepared statements) for pyformat drivers (``%s``)."""
    if paramstyle == "named":
        return sql  # sqlite3 reads ? as well

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        return "%s" if token == "?" else token.replace("%", "%%")

    return _POSITIONAL.sub(replace, sql)
