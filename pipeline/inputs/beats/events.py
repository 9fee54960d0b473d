"""Turning Beats payloads into events, the way Logstash's beats input does.

* A payload with a ``message`` (Filebeat) or ``line`` (old forwarders) has the
  codec applied to that text; the rest of the payload is merged over the
  decoded event and its ``@timestamp`` wins. With the default ``plain`` codec
  that is the payload itself, so the fast path skips the codec entirely.
* A payload without one (Winlogbeat, Metricbeat) becomes the event as is.
* ``@metadata`` (beat, type, version) comes from the beat; the peer address and
  TLS peer details are added under ``@metadata`` per ``ecs_compatibility``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from pipeline.codecs.base import Codec
from pipeline.event import METADATA, TAGS, TIMESTAMP, Event
from pipeline.eventid import ID_KEY, beats_payload_id, set_event_id
from pipeline.fieldref import set_path
from pipeline.logs import RateLimitedLogger
from pipeline.timestamp import Timestamp

log = logging.getLogger("pipeline.input.beats")

MESSAGE = "message"
LINE = "line"  # logstash-forwarder / lumberjack v1 payloads


@dataclass(frozen=True)
class FieldNames:
    """Where enrichment goes, per ECS mode (Logstash's names)."""

    host_name: tuple[str, ...]
    host_ip: tuple[str, ...]
    tls_protocol: tuple[str, ...]
    tls_subject: tuple[str, ...]
    tls_cipher: tuple[str, ...]

    @classmethod
    def for_mode(cls, ecs: str) -> FieldNames:
        if ecs == "disabled":
            return cls(("host",), (METADATA, "ip_address"), (METADATA, "tls_peer", "protocol"),
                       (METADATA, "tls_peer", "subject"), (METADATA, "tls_peer", "cipher_suite"))
        beats = (METADATA, "input", "beats")
        return cls((*beats, "host", "name"), (*beats, "host", "ip"), (*beats, "tls", "version_protocol"),
                   (*beats, "tls", "client", "subject"), (*beats, "tls", "cipher"))



_SECONDS: dict[str, int] = {}


def fast_timestamp(value: Any) -> Timestamp | None:
    """Parse Beats' own ``2026-11-21T05:16:26.123Z`` quickly; None for any other form.

    Events of one window share few distinct seconds, so the epoch value of
    ``YYYY-MM-DDTHH:MM:SS`` is cached and only the milliseconds are parsed.
    """
    if type(value) is not str or len(value) != 24 or value[23] != "Z" or value[19] != ".":
        return None
    millis = value[20:23]
    if not millis.isdigit():
        return None
    prefix = value[:19]
    base = _SECONDS.get(prefix)
    if base is None:
        if value[4] != "-" or value[7] != "-" or value[10] != "T" or value[13] != ":" or value[16] != ":":
            return None
        parts = (value[0:4], value[5:7], value[8:10], value[11:13], value[14:16], value[17:19])
        if not all(p.isdigit() for p in parts):
            return None
        try:
            year, month, day, hour, minute, second = (int(p) for p in parts)
            moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        except (ValueError, OverflowError):
            return None
        base = Timestamp.from_datetime(moment).millis
        if len(_SECONDS) > 50_000:
            _SECONDS.clear()
        _SECONDS[prefix] = base
    return Timestamp(base + int(millis))


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    return str(value)


class EventBuilder:
    """Builds events for one connection (the codec instance is per connection)."""

    def __init__(self, codec: Codec, *, fields: FieldNames, codec_tag: str | None,
                 peer_ip: str | None, tls_metadata: Callable[[dict[str, Any]], None] | None,
                 add_hostname: bool = False, stable_ids: bool = False) -> None:
        self.codec = codec
        self.fields = fields
        self.codec_tag = codec_tag
        self.peer_ip = peer_ip
        self.tls_metadata = tls_metadata
        self.add_hostname = add_hostname
        self.stable_ids = stable_ids
        self._last_raw_stamp: Any = None
        self._last_stamp: Timestamp | None = None
        # The plain codec in UTF-8 turns the text into {"message": text}: skip it.
        self.fast = codec.name == "plain" and str(getattr(codec.options, "charset", "UTF-8")).upper() in (
            "UTF-8", "UTF8")

    def _enrich(self, payload: dict[str, Any]) -> None:
        """Stable id, peer address, TLS details and hostname copy, before any decoding."""
        meta = payload.get(METADATA)
        if self.stable_ids:
            # Before enrichment: the id depends only on what the shipper sent.
            stable = beats_payload_id(payload)
            if stable is not None:
                set_event_id(payload, stable)
                meta = payload.get(METADATA)
        if self.peer_ip is not None and type(meta) is dict:
            path = self.fields.host_ip
            if len(path) == 5 and "input" not in meta:  # the usual ECS case, without walking the path
                meta["input"] = {"beats": {"host": {"ip": self.peer_ip}}}
            else:
                set_path(payload, path, self.peer_ip)
        if self.tls_metadata is not None:
            self.tls_metadata(payload)
        if self.add_hostname:
            beat = payload.get("beat")
            host = beat.get("hostname") if isinstance(beat, dict) else None
            if host is not None and _get_path(payload, self.fields.host_name) is None:
                set_path(payload, self.fields.host_name, host)

    def build(self, payload: dict[str, Any], out: list[Event]) -> None:
        """Append the events of one decoded JSON payload (a dict) to ``out``."""
        if self.fast:
            out.append(self.build_one(payload))
            return
        self._enrich(payload)
        text = payload.get(MESSAGE)
        key = MESSAGE
        if text is None:
            text = payload.get(LINE)
            key = LINE
            if text is None:
                out.append(Event(payload))  # Winlogbeat & co: the event as the beat sent it
                return
        del payload[key]
        out.extend(self._decode(_as_text(text), payload))

    def build_one(self, payload: dict[str, Any]) -> Event:
        """The plain codec's fast path (``self.fast``): the payload itself becomes the one event."""
        self._enrich(payload)
        text = payload.get(MESSAGE)
        if text is None:
            text = payload.get(LINE)
            if text is None:
                return Event(payload)  # Winlogbeat & co: the event as the beat sent it
            del payload[LINE]
            payload[MESSAGE] = _as_text(text)
        elif type(text) is not str:
            payload[MESSAGE] = _as_text(text)
        raw = payload.get(TIMESTAMP)
        if raw == self._last_raw_stamp and raw is not None:
            # Beats stamp many events with the same millisecond: reuse the (immutable) Timestamp.
            payload[TIMESTAMP] = self._last_stamp
        else:
            stamp = fast_timestamp(raw)
            if stamp is not None:
                payload[TIMESTAMP] = self._last_stamp = stamp
                self._last_raw_stamp = raw
        event = Event(payload)
        if self.codec_tag is not None:
            _add_tag(payload, self.codec_tag)
        return event

    def _decode(self, text: str, payload: dict[str, Any]) -> list[Event]:
        events = list(self.codec.decode(text.encode("utf-8")))
        stamp = payload.pop(TIMESTAMP, None)
        meta = payload.get(METADATA)
        shared_id = meta.get(ID_KEY) if type(meta) is dict else None
        for index, event in enumerate(events):
            data = event.data
            extra = payload if index == 0 else orjson.loads(orjson.dumps(payload, default=str))
            if index and type(shared_id) is str:  # one payload, several events: each its own id
                extra[METADATA][ID_KEY] = f"{shared_id}-{index}"
            for key, value in extra.items():
                existing = data.get(key)
                if isinstance(existing, dict) and isinstance(value, dict):
                    data[key] = {**existing, **value}
                elif key == TAGS and isinstance(existing, list) and existing:
                    # Keep the codec's tags (_jsonparsefailure...) next to the beat's.
                    beat_tags = value if isinstance(value, list) else [value]
                    data[key] = beat_tags + [t for t in existing if t not in beat_tags]
                else:
                    data[key] = value
            if stamp is not None:
                _set_timestamp(event, stamp)
            if self.codec_tag is not None:
                event.tag(self.codec_tag)
        return events

    def flush(self) -> list[Event]:
        """What the codec still holds when the connection ends."""
        events = list(self.codec.flush())
        if self.codec_tag is not None:
            for event in events:
                event.tag(self.codec_tag)
        return events


def codec_tag_last(event: Event, codec_tag: str) -> None:
    """After the input's decoration: the codec tag moved behind the input's own tags. Logstash's beats input
    tags beats_input_codec_<codec>_applied after decorate(event) (logstash-input-beats
    lib/logstash/inputs/beats/decoded_event_transform.rb, transform: super(event), then event.tag), where we
    add it while building the event, before the pipeline decorates."""
    tags = event.data.get(TAGS)
    if type(tags) is list and tags and tags[-1] != codec_tag and codec_tag in tags:
        tags.remove(codec_tag)
        tags.append(codec_tag)


def _add_tag(data: dict[str, Any], tag: str) -> None:
    tags = data.get(TAGS)
    if tags is None:
        data[TAGS] = [tag]
    elif type(tags) is list:
        if tag not in tags:
            tags.append(tag)
    elif tags != tag:
        data[TAGS] = [tags, tag]


def _get_path(data: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = data
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _set_timestamp(event: Event, raw: Any) -> None:
    stamp = fast_timestamp(raw)
    if stamp is None:
        try:
            stamp = Timestamp.coerce(raw)
        except (TypeError, ValueError):
            # Keep the bad value visible rather than losing it (Event's convention).
            event.data["_@timestamp"] = raw
            event.tag("_timestampparsefailure")
            return
    event.timestamp = stamp


# -- decoding in worker processes (pipeline.worker_type: process) ----------------------------------------
JSON_FAILURE_TAG = "_beats_json_failure"
_failures = RateLimitedLogger(log)  # one line per client per 10 s, with the count held back


_BUILDERS: dict[tuple[Any, ...], EventBuilder] = {}


class RawJsonSource:
    """One connection's JSON payloads, decoded by a worker process with the plain codec's fast path.

    Picklable: it carries what :class:`EventBuilder` needs (field names, codec tag, peer address,
    hostname copy, stable ids) and the input's decoration, and makes its builder where it decodes.
    A payload that is not a JSON object becomes an event with the raw text as ``message``, tagged
    ``_beats_json_failure`` (on the threads path the connection is closed instead, see connection.py:
    here the window is already acknowledged, so dropping it would lose it).
    """

    def __init__(self, fields: FieldNames, codec_tag: str | None, peer_ip: str | None, add_hostname: bool,
                 stable_ids: bool, decoration: Any) -> None:
        self.fields = fields
        self.codec_tag = codec_tag
        self.peer_ip = peer_ip
        self.add_hostname = add_hostname
        self.stable_ids = stable_ids
        self.decoration = decoration
        self._decorates = not decoration.empty
        self._builder: EventBuilder | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_builder": None}  # the builder (and its codec) is made where it is used

    def _make_builder(self) -> EventBuilder:
        # One builder per distinct source per process: a batch arrives with a fresh copy of its source.
        key = (self.fields, self.codec_tag, self.peer_ip, self.add_hostname, self.stable_ids)
        builder = _BUILDERS.get(key)
        if builder is None:
            from pipeline.plugin import build_from_dict

            if len(_BUILDERS) > 1000:  # many short-lived clients
                _BUILDERS.clear()
            builder = _BUILDERS[key] = EventBuilder(
                build_from_dict("codec", "plain", {}), fields=self.fields, codec_tag=self.codec_tag,
                peer_ip=self.peer_ip, tls_metadata=None, add_hostname=self.add_hostname,
                stable_ids=self.stable_ids)
        self._builder = builder
        return builder

    def decode(self, raw: bytes) -> Event:
        builder = self._builder or self._make_builder()
        try:
            payload = orjson.loads(raw)
            if type(payload) is not dict:
                raise ValueError(f"the data frame holds JSON {type(payload).__name__}, not an object")
            event = builder.build_one(payload)
        except Exception as exc:  # noqa: BLE001 - bad bytes from a client: tagged and kept, never lost
            _failures.warning(f"json:{self.peer_ip}", "beats payload from %s is not a JSON object (%s); kept "
                              "as message, tagged %s", self.peer_ip or "?", exc, JSON_FAILURE_TAG)
            event = Event({"message": raw.decode("utf-8", "replace"), "tags": [JSON_FAILURE_TAG]})
        if self._decorates:
            self.decoration.apply(event)
            if self.codec_tag is not None:
                codec_tag_last(event, self.codec_tag)
        return event
