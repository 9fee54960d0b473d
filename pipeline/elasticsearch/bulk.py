"""The ``_bulk`` protocol: NDJSON encoding of actions, and what to do with each item of a response.

Encoding is done here with orjson (one action line + one source line per
event) instead of by the client, so one event is serialised once, batches can
be cut by size in bytes, and a retry resends exactly the failed items.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Any

import orjson

from pipeline.event import METADATA, Event
from pipeline.serde import compact_json

ACTIONS = ("index", "create", "update", "delete")
_OPTS = orjson.OPT_NON_STR_KEYS


@dataclass(slots=True)
class BulkAction:
    """One encoded bulk action (its NDJSON lines) and the event it came from."""

    event: Event
    action: str
    index: str
    payload: bytes  # action line + source line, each ending in \n

    @property
    def size(self) -> int:
        return len(self.payload)


class EncodeError(ValueError):
    """An event that cannot become a bulk action (the message says why; the event is dead-lettered)."""


@dataclass(frozen=True, slots=True)
class UpdateOptions:
    """The parts of an update action besides ``doc`` (logstash-output-elasticsearch update_action_builder)."""

    upsert: Any = None  # the document to create when missing
    script: str | None = None
    script_type: str = "inline"  # inline (source) or indexed (stored script id)
    script_lang: str = "painless"
    script_var_name: str = "event"
    scripted_upsert: bool = False


def update_source(data: dict[str, Any], doc_as_upsert: bool, update: UpdateOptions | None) -> dict[str, Any]:
    """The body line of an update action, as Logstash builds it."""
    if update is None or update.script is None:
        source: dict[str, Any] = {"doc": data}
        if doc_as_upsert:
            source["doc_as_upsert"] = True
        elif update is not None and update.upsert is not None:
            source["upsert"] = update.upsert
        return source
    script: dict[str, Any] = {"params": {update.script_var_name: data}}
    # Logstash sends "inline"; Elasticsearch 6+ names it "source" (and 8 only accepts that)
    script["id" if update.script_type == "indexed" else "source"] = update.script
    if update.script_lang:
        script["lang"] = update.script_lang
    source = {"script": script}
    if update.scripted_upsert:
        source.update(scripted_upsert=True, upsert={})
    elif doc_as_upsert:
        source["upsert"] = data
    elif update.upsert is not None:
        source["upsert"] = update.upsert
    return source


def encode_action(event: Event, action: str, index: str, *, doc_id: str | None = None,
                  routing: str | None = None, pipeline: str | None = None, doc_as_upsert: bool = False,
                  retry_on_conflict: int | None = None, update: UpdateOptions | None = None,
                  source: dict[str, Any] | None = None, extra: dict[str, Any] | None = None) -> BulkAction:
    """The NDJSON lines of one action; ``@metadata`` is never sent. ``source``: the document to send
    instead of the event's fields (data streams: with synced ``[data_stream]`` fields). ``extra``: more
    action metadata (``version``, ``version_type``, ``parent``)."""
    meta: dict[str, Any] = {"_index": index}
    if doc_id is not None:
        meta["_id"] = doc_id
    if routing:
        meta["routing"] = routing
    if pipeline and action != "delete" and action != "update":
        meta["pipeline"] = pipeline
    if action == "update" and retry_on_conflict:
        meta["retry_on_conflict"] = retry_on_conflict
    if extra:
        meta.update(extra)
    line = orjson.dumps({action: meta}, option=_OPTS) + b"\n"
    if action == "delete":
        return BulkAction(event, action, index, line)
    data = event.data if source is None else source
    if METADATA in data:
        data = {k: v for k, v in data.items() if k != METADATA}
    body = update_source(data, doc_as_upsert, update) if action == "update" else data
    return BulkAction(event, action, index, line + compact_json(body) + b"\n")


def chunks(actions: Iterable[BulkAction], max_events: int, max_bytes: int) -> Iterator[list[BulkAction]]:
    """Cut actions into bulk requests of at most ``max_events`` and about ``max_bytes``.

    A single action larger than ``max_bytes`` still goes alone (Elasticsearch may accept it; if
    it answers 413 the output dead-letters that one event).
    """
    batch: list[BulkAction] = []
    size = 0
    for action in actions:
        if batch and (len(batch) >= max_events or size + action.size > max_bytes):
            yield batch
            batch, size = [], 0
        batch.append(action)
        size += action.size
    if batch:
        yield batch


def body(actions: list[BulkAction]) -> bytes:
    return b"".join(a.payload for a in actions)


class Outcome(Enum):
    OK = "ok"
    DUPLICATE = "duplicate"      # 409 on create: the document is already there
    RETRY = "retry"              # 429, 5xx...: send the item again
    DEAD_LETTER = "dead_letter"  # 400, 404, custom codes: will never succeed as is
    DROP = "drop"                # an error type the config drops (drop_error_types): logged and counted


def classify(action: str, item: dict[str, Any], dlq_codes: frozenset[int],
             drop_types: frozenset[str] = frozenset()) -> tuple[Outcome, int, str]:
    """What to do with one response item: (outcome, status, reason)."""
    status = int(item.get("status", 0))
    error = item.get("error")
    if 200 <= status < 300:
        return Outcome.OK, status, ""
    reason = describe_error(error) if error else f"status {status}"
    if action == "delete" and status == 404 and not error:
        return Outcome.OK, status, "not_found"  # already gone: deleting is idempotent
    if status == 409 and action == "create":
        return Outcome.DUPLICATE, status, reason
    if drop_types and isinstance(error, dict) and error.get("type") in drop_types:
        return Outcome.DROP, status, reason
    if status in dlq_codes or status in (400, 404, 409):
        return Outcome.DEAD_LETTER, status, reason
    return Outcome.RETRY, status, reason


def describe_error(error: Any) -> str:
    """``type: reason (caused by: type: reason)`` from an Elasticsearch error object."""
    if not isinstance(error, dict):
        return str(error)
    text = f"{error.get('type', 'error')}: {error.get('reason', '')}"
    cause = error.get("caused_by")
    if isinstance(cause, dict):
        text += f" (caused by {cause.get('type', '')}: {cause.get('reason', '')})"
    return text
