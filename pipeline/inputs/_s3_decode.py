"""The s3 input's decoding of one object: line by line through the codec, flushed once at the object's end,
in slices the queue can take, with CloudFront's ``#Version:``/``#Fields:`` header lines turned into fields."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from typing import Any

from pipeline.codecs.base import Codec, line_decoder
from pipeline.event import Event

DECODE_FAILURE_TAG = "_s3_input_decode_failure"
_VERSION, _FIELDS = "#Version: ", "#Fields: "
_HEADER_VALUE = {_VERSION: re.compile(r"#Version: (.+)"), _FIELDS: re.compile(r"#Fields: (.+)")}


class CloudfrontHeaders:
    """CloudFront logs start with ``#Version: 1.0`` and ``#Fields: date time ...`` lines. As Logstash, such
    an event is dropped and its value set on the object's following events: ``cloudfront_version`` and
    ``cloudfront_fields`` (ECS disabled), else ``[@metadata][s3][cloudfront][version|fields]``."""

    def __init__(self, ecs: bool) -> None:
        self.ecs = ecs
        self.version: str | None = None
        self.fields: str | None = None

    def consume(self, event: Event) -> bool:
        """True if ``event`` is a header line (now remembered, not to be pushed)."""
        message = event.data.get("message")
        if not isinstance(message, str) or not message.startswith((_VERSION, _FIELDS)):
            return False
        line = message.strip()
        header = _VERSION if message.startswith(_VERSION) else _FIELDS
        match = _HEADER_VALUE[header].search(line)
        value = match.group(1) if match else line
        if header == _VERSION:
            self.version = value
        else:
            self.fields = value
        return True

    def annotate(self, event: Event, s3_metadata: dict[str, Any]) -> None:
        if self.version is None and self.fields is None:
            return
        if self.ecs:
            cloudfront = s3_metadata.setdefault("cloudfront", {})
            if self.version is not None:
                cloudfront["version"] = self.version
            if self.fields is not None:
                cloudfront["fields"] = self.fields
            return
        if self.version is not None:
            event.data["cloudfront_version"] = self.version
        if self.fields is not None:
            event.data["cloudfront_fields"] = self.fields


def decoded_slices(lines: Iterable[bytes], codec: Codec, size: int, metadata: dict[str, Any], ecs: bool,
                   logger: logging.Logger, where: str) -> Iterator[list[Event]]:
    """The events of an object's lines (without their line ends) in lists of at most ``size``, made as the
    lines are read, so an object of any size holds at most one slice in memory here. Each event gets
    ``[@metadata][s3]`` (a copy of ``metadata``) and the CloudFront header values seen before it. A line the
    codec fails on becomes an event with the line as message, tagged ``_s3_input_decode_failure``."""
    decode = line_decoder(codec)
    headers = CloudfrontHeaders(ecs)
    pending: list[Event] = []

    def keep(events: Iterable[Event]) -> None:
        for event in events:
            if headers.consume(event):
                continue
            s3 = dict(metadata)
            headers.annotate(event, s3)
            event.metadata["s3"] = s3
            pending.append(event)

    for number, line in enumerate(lines, 1):
        try:
            keep(decode(line))
        except Exception as exc:  # noqa: BLE001 - a codec bug or bad bytes must not stop the object
            logger.warning("s3 input: %s line %d: cannot decode (%s: %s); kept as message, tagged %s", where,
                           number, type(exc).__name__, exc, DECODE_FAILURE_TAG)
            failed = Event({"message": line.decode("utf-8", "replace")})
            failed.tag(DECODE_FAILURE_TAG)
            keep([failed])
        if len(pending) >= size:
            yield pending[:size]
            del pending[:size]
    keep(codec.flush())  # a multiline event still buffered ends with the object, as in Logstash
    while pending:
        yield pending[:size]
        del pending[:size]
