"""The file input's events of plain lines (one line = one message), built a run of lines at a time.

One builder for every place a plain line becomes an event: the input itself (``File._decode_plain``)
and a worker process decoding the raw lines the input deferred (``PlainLineSource.decode`` /
``decode_many``). What an event holds:

* ``message``: the line decoded with the file's charset, undecodable bytes as U+FFFD (never raises);
* where it came from: ``log.file.path`` and ``host.name`` (ECS), or ``path`` and ``host`` (legacy);
* ``@timestamp``: one instant for the whole run (the clock is read once per run, not per line);
* ``[@metadata][path]`` and ``[@metadata][host]`` (as Logstash, in every ECS mode);
* ``[@metadata][_id]``: ``<file nonce>-<line end offset>`` when the file has a nonce (stable ids);
  with ``first``, the events are :class:`~pipeline.eventid.FirstDelivery` (a nonce minted by this run).

The loop for each shape (ECS or legacy, with or without ids) is generated once, on first use, from one
template, so the field layout is written in one place and each line costs no Python call of its own.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterable
from typing import Any

from pipeline.event import METADATA, TIMESTAMP, Event
from pipeline.eventid import ID_KEY, FirstDelivery
from pipeline.timestamp import Timestamp

#: (line bytes, end offset) pairs, charset, path, host, id prefix, @timestamp → events
_Builder = Callable[[Iterable[tuple[bytes, int]], str, str, str, str, Timestamp], list[Event]]

# The dict of one line, per shape. Key order is the order the JSON outputs write the fields in.
_WHERE = {True: '"log": {"file": {"path": path}}, "host": {"name": host}',
          False: '"path": path, "host": host'}
# Logstash's file input sets [@metadata][path] and [@metadata][host] on every event, whatever the ECS mode
# (logstash-input-file lib/logstash/inputs/file.rb, post_process_this); with the id in the same literal.
_SOURCE = f'{"path"!r}: path, {"host"!r}: host'
_META = f', {METADATA!r}: {{{_SOURCE}}}'
_ID = f', {METADATA!r}: {{{ID_KEY!r}: f"{{prefix}}{{end}}", {_SOURCE}}}'  # an f-string: no str() call per line
_FIRST_ID = f', {METADATA!r}: {{{ID_KEY!r}: key, {_SOURCE}}}'


def _generate(ecs: bool, ids: bool, first: bool) -> _Builder:
    """The loop of one shape: a new Event (no ``Event.__init__``: @timestamp is a Timestamp already);
    with ``first`` (ids made from a nonce minted by this run), a FirstDelivery that keeps its id."""
    kind, made, meta = ("FirstDelivery", ["        key = f\"{prefix}{end}\"", "        event.first_id = key"],
                        _FIRST_ID) if first else ("Event", [], _ID if ids else _META)
    source = "\n".join([
        "def build(pairs, charset, path, host, prefix, now):",
        "    events = []",
        "    append = events.append",
        "    for line, end in pairs:",
        f"        event = new({kind})",
        *made,
        f'        event.data = {{"message": line.decode(charset, "replace"), {_WHERE[ecs]}, '
        f'{TIMESTAMP!r}: now{meta}}}',
        "        event.cancelled = False",
        "        append(event)",
        "    return events",
    ])
    namespace: dict[str, Any] = {"new": Event.__new__, "Event": Event, "FirstDelivery": FirstDelivery}
    exec(compile(source, f"<plain line events ecs={ecs} ids={ids}>", "exec"), namespace)  # our own constants
    return namespace["build"]  # type: ignore[no-any-return]


_BUILDERS: dict[tuple[bool, bool, bool], _Builder] = {}  # made on first use: a run needs one or two shapes


def usable_charset(charset: str) -> str:
    """``charset`` if Python knows it, else UTF-8 (an unknown one is refused at config time already)."""
    try:
        codecs.lookup(charset)
    except LookupError:
        return "utf-8"
    return charset


def plain_line_events(pairs: Iterable[tuple[bytes, int]], *, path: str, host: str, ecs: bool, charset: str,
                      nonce: str | None, now: Timestamp | None = None, first: bool = False) -> list[Event]:
    """The events of ``(line bytes, end offset)`` pairs of one file, read together (see the module).
    ``first``: ``nonce`` was minted by this run and these lines are delivered once (FirstDelivery)."""
    shape = (ecs, nonce is not None, first and nonce is not None)
    build = _BUILDERS.get(shape)
    if build is None:
        build = _BUILDERS[shape] = _generate(*shape)
    return build(pairs, usable_charset(charset), path, host, f"{nonce}-", Timestamp.now() if now is None else now)
