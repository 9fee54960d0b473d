"""Persisted alert state: last query end per rule, silences, pending aggregations,
unsent alerts (the outbox) and the alert history.

Every record is ``(kind, rule, key) -> JSON document`` with an optional ``due``
time (epoch seconds) so that both stores stay small: a SQLite file beside the
local index (``<path.data>/alerts/state.sqlite``) or the Elasticsearch index
``pipeline-alerts-status`` (:mod:`pipeline.alerts.backends.elasticsearch`).
"""

from __future__ import annotations

import sqlite3
import threading
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from pipeline import serde

RULE = "rule"              # key "": last_end, failures, disabled reason, type-specific memory
SILENCE = "silence"        # key = query_key value: until, exponent
AGGREGATION = "aggregation"  # key = aggregation key: send_at, matches
OUTBOX = "outbox"          # key = delivery id: one alert for one alerter, due = next try
HISTORY = "history"        # key = delivery id: what was sent, failed or expired

Record = tuple[str, str, dict[str, Any]]


class StateStore(ABC):
    """A tiny document store keyed by (kind, rule, key)."""

    @abstractmethod
    def get(self, kind: str, rule: str, key: str) -> dict[str, Any] | None: ...

    @abstractmethod
    def put(self, kind: str, rule: str, key: str, doc: dict[str, Any], due: float | None = None) -> None: ...

    @abstractmethod
    def delete(self, kind: str, rule: str, key: str) -> None: ...

    @abstractmethod
    def list(self, kind: str, rule: str | None = None, due_before: float | None = None) -> list[Record]:
        """Records of a kind (of one rule), only those due before ``due_before`` when given."""

    def close(self) -> None:
        """Flush and release."""
        return None


class SQLiteStateStore(StateStore):
    """State in one SQLite file (``":memory:"`` for dry runs)."""

    def __init__(self, path: Path | str) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS state (kind TEXT NOT NULL, rule TEXT NOT NULL, key TEXT NOT NULL, "
            "doc TEXT NOT NULL, due REAL, PRIMARY KEY (kind, rule, key))")
        self._db.execute("CREATE INDEX IF NOT EXISTS state_due ON state (kind, due)")

    def get(self, kind: str, rule: str, key: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT doc FROM state WHERE kind=? AND rule=? AND key=?",
                                   (kind, rule, key)).fetchone()
        return serde.loads(row[0]) if row else None

    def put(self, kind: str, rule: str, key: str, doc: dict[str, Any], due: float | None = None) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO state (kind, rule, key, doc, due) VALUES (?, ?, ?, ?, ?)",
                             (kind, rule, key, serde.dumps_str(doc), due))

    def delete(self, kind: str, rule: str, key: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM state WHERE kind=? AND rule=? AND key=?", (kind, rule, key))

    def list(self, kind: str, rule: str | None = None, due_before: float | None = None) -> list[Record]:
        sql = "SELECT rule, key, doc FROM state WHERE kind=?"
        args: list[Any] = [kind]
        if rule is not None:
            sql += " AND rule=?"
            args.append(rule)
        if due_before is not None:
            sql += " AND due IS NOT NULL AND due <= ?"
            args.append(due_before)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY due, rowid", args).fetchall()
        return [(r, k, serde.loads(d)) for r, k, d in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def state_path(path_data: Path) -> Path:
    return Path(path_data) / "alerts" / "state.sqlite"
