"""The fingerprint filter: a stable hash of fields (e.g. a document id for idempotent indexing)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import mmh3
import orjson

from pipeline import fieldref
from pipeline.event import METADATA, Event, json_default
from pipeline.filters import _ecs
from pipeline.filters._ratelimit import WarningLimiter
from pipeline.filters._ruby import ruby_to_s
from pipeline.filters.base import Filter, FilterOptions
from pipeline.plugin import Secret, option, register

Method = Literal["SHA1", "SHA256", "SHA384", "SHA512", "MD5", "MURMUR3", "MURMUR3_128", "IPV4_NETWORK",
                 "UUID", "PUNCTUATION"]
_DIGESTS = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA384": hashlib.sha384,
            "SHA512": hashlib.sha512, "MD5": hashlib.md5}
_PUNCTUATION_DROP = str.maketrans("", "", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 \t")


class FingerprintError(ValueError):
    """A value cannot be fingerprinted with the configured method."""


@register
class Fingerprint(Filter):
    """Hash one or more fields into a fingerprint, e.g. ``document_id`` for idempotent indexing.

    Methods: SHA1 (default), SHA256, SHA384, SHA512, MD5 (HMAC when ``key`` is set; hex,
    or base64 with ``base64encode``), MURMUR3 (32-bit integer), MURMUR3_128,
    IPV4_NETWORK (``key`` = prefix length), UUID (random), PUNCTUATION (the
    punctuation of the text). With several sources each one overwrites the
    target (an array source gives an array of fingerprints) unless
    ``concatenate_sources`` hashes them together as
    ``|name|value|name|value|``. The target defaults to ``fingerprint``
    (legacy) or ``[event][hash]`` (ECS).
    """

    name = "fingerprint"

    @dataclass(frozen=True, kw_only=True)
    class Options(FilterOptions):
        source: list[str] = option(["message"], "The field(s) to hash.")
        target: str | None = option(None, "Where the fingerprint goes; default fingerprint, or [event][hash] in ECS mode.")
        method: Method = option("SHA1", "The hash method.")
        key: Secret | None = option(None, "HMAC key for the SHA/MD5 methods; prefix length for IPV4_NETWORK.")
        base64encode: bool = option(False, "Encode SHA/MD5/MURMUR3_128 digests in base64 instead of hex.")
        concatenate_sources: bool = option(False, "Hash all sources together (sorted by name).")
        concatenate_all_fields: bool = option(False, "Hash every field of the event together (sorted by name).")
        ecs_compatibility: _ecs.EcsMode | None = option(
            None, "disabled: target fingerprint; v1/v8: target [event][hash]. Default: the pipeline's setting (v8).")

        def __post_init__(self) -> None:
            if self.method == "IPV4_NETWORK":
                if self.key is None or not self.key.reveal().isdigit() or not 0 <= int(self.key.reveal()) <= 32:
                    raise ValueError('method IPV4_NETWORK needs key => "<prefix length 0-32>"')

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        self._warnings = WarningLimiter(self.logger)
        legacy = _ecs.resolve(options.ecs_compatibility, self.context) == "disabled"
        self._target = fieldref.parse(options.target or ("fingerprint" if legacy else "[event][hash]"))
        self._sources = [fieldref.parse(s) for s in options.source]
        self._hash = self._hasher(options)

    @staticmethod
    def _hasher(o: Any) -> Callable[[Any], Any]:
        method = o.method
        encode = (lambda raw: base64.b64encode(raw).decode()) if o.base64encode else (lambda raw: raw.hex())
        if method in _DIGESTS:
            digest = _DIGESTS[method]
            if o.key is not None:
                key = o.key.reveal().encode()
                return lambda value: encode(hmac.new(key, _bytes(value), digest).digest())
            return lambda value: encode(digest(_bytes(value)).digest())
        if method == "MURMUR3":
            return lambda value: mmh3.hash(_bytes(value), 0, signed=False)
        if method == "MURMUR3_128":
            return lambda value: encode(mmh3.hash_bytes(_bytes(value), 0, x64arch=True))
        if method == "UUID":
            return lambda value: str(uuid.uuid4())
        if method == "PUNCTUATION":
            return lambda value: _text(value).translate(_PUNCTUATION_DROP)
        prefix = int(o.key.reveal())

        def network(value: Any) -> str:
            try:
                return str(ipaddress.IPv4Network(f"{ruby_to_s(value)}/{prefix}", strict=False).network_address)
            except ValueError as exc:
                raise FingerprintError(f"{value!r} is not an IPv4 address") from exc
        return network

    def filter(self, event: Event) -> None:
        data = event.data
        method = self.options.method
        concatenating = method not in ("UUID", "PUNCTUATION")  # Logstash ignores concatenation for these
        try:
            if method == "UUID":
                event.set(self._target, self._hash(None))
            elif concatenating and self.options.concatenate_all_fields:
                items = sorted((k, v) for k, v in event.to_dict().items() if k != METADATA)
                event.set(self._target, self._hash(_concatenate(items)))
            elif concatenating and self.options.concatenate_sources:
                items = sorted((ref.text, ref.get(data)) for ref in self._sources)
                event.set(self._target, self._hash(_concatenate(items)))
            else:
                for ref in self._sources:  # each source overwrites the target: the last one present wins
                    value = ref.get(data)
                    if isinstance(value, list):  # as Logstash: one fingerprint per element
                        event.set(self._target, [self._hash(v) for v in value])
                    elif value is not None:
                        event.set(self._target, self._hash(value))
        except FingerprintError as exc:
            self._warnings.warning("fingerprint: %s", exc)
            event.tag("_fingerprintfailure")
            return
        self.filter_matched(event)


def _text(value: Any) -> str:
    """Scalars as Ruby writes them; hashes and arrays as JSON with sorted keys, so that the same content
    always gives the same fingerprint whatever the key order."""
    if isinstance(value, (dict, list)):
        return orjson.dumps(value, default=json_default, option=orjson.OPT_SORT_KEYS).decode()
    return ruby_to_s(value)


def _bytes(value: Any) -> bytes:
    return _text(value).encode("utf-8")


def _concatenate(items: list[tuple[str, Any]]) -> str:
    return "".join(f"|{key}|{_text(value)}" for key, value in items) + "|"
