"""Stable event identities, so an event delivered again after a crash is recognised.

Inputs that can tell where an event came from put a deterministic id in
``[@metadata][_id]`` (the field Filebeat's ``add_id`` processor fills, and the
one users already pass as ``document_id => "%{[@metadata][_id]}"``):

* the file input: a per-file random nonce kept in its registry plus the byte
  offset of the line, so replaying lines after ``kill -9`` gives the same ids,
  and a new file that reuses a deleted file's inode gets new ones;
* the beats input: ``@metadata._id`` when the shipper set one; otherwise the
  shipper's identity (``agent.id``) with where the event was read
  (``log.file`` + ``log.offset`` for Filebeat, ``winlog.channel`` +
  ``winlog.record_id`` for Winlogbeat). Events carrying neither get no id.

The local index and the elasticsearch output use the id as the document id
when the user sets none (``use_event_id => false`` turns that off), so a
replayed event replaces or is ignored instead of being stored twice.

A :class:`FirstDelivery` is an event whose id can have no other copy: the
local index's writers skip looking for one in each other's files for it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from pipeline.event import METADATA, Event

ID_KEY = "_id"  # under @metadata


def get_event_id(event: Event) -> str | None:
    meta = event.data.get(METADATA)
    if type(meta) is not dict:
        return None
    value = meta.get(ID_KEY)
    return value if type(value) is str and value else None


class FirstDelivery(Event):
    """An event of a line the file input read once, with an id made from a nonce this process minted.

    No earlier run delivered an event with that id (the nonce is new: read from no registry file), and
    this run delivers each line once (the file input's read position only moves forward for a nonce; a
    truncation gets a new nonce; a re-read after an input restart starts where the queue stopped
    accepting). The one exception, a worker process dying with the batch, resends it to the worker that
    replaces it, which writes the same local-index file (whose unique key catches a second copy). So a
    writer need not look for this id in the other writers' files (raced.py: the pre- and post-check).

    ``first_id`` is the id as made: an event whose id a filter changed is checked as any other. Made only
    in a worker process, from a raw batch (pipeline.inputs.file.deferred); a clone or a pickled copy is an
    ordinary Event, so the mark never reaches a queue on disk, a dead letter queue or another run.
    """

    __slots__ = ("first_id",)
    first_id: str

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return _plain_event, (self.data, self.cancelled)


def _plain_event(data: dict[str, Any], cancelled: bool) -> Event:
    event = Event.__new__(Event)
    event.data, event.cancelled = data, cancelled
    return event


def first_deliveries(events: Sequence[Event], ids: Sequence[str | None]) -> frozenset[str]:
    """Those of ``ids`` (the document ids of ``events``) that are their event's :class:`FirstDelivery` id."""
    return frozenset(key for event, key in zip(events, ids, strict=True)
                     if type(event) is FirstDelivery and key is not None and event.first_id == key)


def set_event_id(data: dict[str, Any], value: str) -> None:
    """Set the id on an event's data unless one is already there (the shipper's wins)."""
    meta = data.get(METADATA)
    if meta is None:
        data[METADATA] = {ID_KEY: value}
    elif type(meta) is dict:
        meta.setdefault(ID_KEY, value)


def file_line_id(nonce: str, offset: int, part: int | str = 0) -> str:
    """The id of the event produced by the line ending at ``offset`` of the file known by ``nonce``."""
    return f"{nonce}-{offset}" if not part else f"{nonce}-{offset}-{part}"


def beats_payload_id(payload: dict[str, Any]) -> str | None:
    """A deterministic id for a Beats payload from the shipper's identity and the event's origin."""
    agent = payload.get("agent")
    log = payload.get("log")
    if type(agent) is dict and type(log) is dict:
        # Filebeat's usual shape (agent.id, log.offset, log.file holding only the path): the same text
        # as the general path below without its per-key walk, which was most of this function's cost.
        shipper = agent.get("id") or agent.get("name")
        offset = log.get("offset")
        source = log.get("file")
        if (type(shipper) is str and shipper and type(offset) is int and type(source) is dict
                and len(source) == 1):
            path = source.get("path")
            if type(path) is str and path:
                text = f"{shipper}\x00file\x00{path}\x00{offset}"
                return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:32]
    shipper = _text(agent.get("id") or agent.get("name")) if type(agent) is dict else None
    if shipper is None:
        host = payload.get("host")
        shipper = _text(host.get("name")) if type(host) is dict else None
    if shipper is None:
        return None
    origin = _file_origin(payload) or _winlog_origin(payload)
    if origin is None:
        return None
    digest = hashlib.sha1(f"{shipper}\x00{origin}".encode(), usedforsecurity=False).hexdigest()
    return digest[:32]


_FILE_IDENTITY = ("device_id", "inode", "fingerprint", "path")


def _file_origin(payload: dict[str, Any]) -> str | None:
    log = payload.get("log")
    if type(log) is not dict:
        return None
    offset = log.get("offset")
    source = log.get("file")
    if type(offset) is not int or type(source) is not dict:
        return None
    # Newer Filebeats also send the file's identity; the path alone is what 8.1 sends.
    known = []
    for key in _FILE_IDENTITY:
        value = source.get(key)
        if value is not None and value != "":
            known.append(value if type(value) is str else str(value))
    return f"file\x00{chr(0).join(known)}\x00{offset}" if known else None


def _winlog_origin(payload: dict[str, Any]) -> str | None:
    winlog = payload.get("winlog")
    if type(winlog) is not dict or winlog.get("record_id") is None:
        return None
    return f"winlog\x00{winlog.get('computer_name')}\x00{winlog.get('channel')}\x00{winlog.get('record_id')}"


def document_ids(events: Sequence[Event]) -> list[str | None]:
    """The document id of each event; events sharing one id in a batch (a split or clone filter's
    children, all produced from one event and so always in the same batch) are told apart by order.
    An event equal to an earlier one with its id is the same delivery again (a shipper resending a
    window while the first copy is still queued): it keeps that one's id, so the copy is not stored twice."""
    ids: list[str | None] = []
    variants: dict[str, list[dict[str, Any]]] = {}  # id -> the distinct event contents seen with it
    for event in events:
        data = event.data
        meta = data.get(METADATA)  # get_event_id inlined: this runs for every event the outputs write
        value = meta.get(ID_KEY) if type(meta) is dict else None
        if type(value) is not str or not value:
            ids.append(None)
            continue
        seen = variants.get(value)
        if seen is None:  # the usual case: an id not seen yet in the batch
            variants[value] = [data]
        else:
            number = next((n for n, known in enumerate(seen) if known == data), len(seen))
            if number == len(seen):
                seen.append(data)
            if number:
                value = f"{value}.{number}"
        ids.append(value)
    return ids


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)
