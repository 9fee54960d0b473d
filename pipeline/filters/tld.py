"""The tld filter: split a domain name into public suffix, registered domain and subdomain."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import tldextract

from pipeline import fieldref
from pipeline.event import Event
from pipeline.filters.base import Filter, FilterOptions
from pipeline.plugin import option, register

_EXTRACTOR: tldextract.TLDExtract | None = None
_EXTRACTOR_LOCK = threading.Lock()


def extractor() -> tldextract.TLDExtract:
    """The Public Suffix List snapshot shipped with tldextract (ICANN and private suffixes), never fetched."""
    global _EXTRACTOR
    with _EXTRACTOR_LOCK:
        if _EXTRACTOR is None:
            _EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True,
                                               include_psl_private_domains=True)
        return _EXTRACTOR


def split_domain(name: Any) -> dict[str, str | None] | None:
    """As Ruby's PublicSuffix (``valid?`` without default rule, then ``parse``): None unless the name has a
    label in front of a listed suffix."""
    if not isinstance(name, str):
        return None
    text = name.strip().removesuffix(".").lower()
    if not text or text.startswith(".") or "://" in text:
        return None
    parts = extractor()(text)
    if not parts.suffix or not parts.domain:
        return None
    trd = parts.subdomain or None
    domain = f"{parts.domain}.{parts.suffix}"
    return {"tld": parts.suffix, "sld": parts.domain, "trd": trd, "domain": domain,
            "subdomain": f"{trd}.{domain}" if trd else None, "top_level_domain": parts.suffix}


@register
class Tld(Filter):
    """Parse a host name with the Public Suffix List into ``tld`` (the public suffix, e.g. ``co.uk``),
    ``sld``, ``trd``, ``domain``, ``subdomain`` and ``top_level_domain`` under ``target``.

    Names whose suffix is not in the list (``localhost``, IP addresses) or
    that are only a suffix (``co.uk``) are left alone, as in Logstash. The list
    is the snapshot shipped with the ``tldextract`` package: nothing is downloaded.
    """

    name = "tld"

    @dataclass(frozen=True, kw_only=True)
    class Options(FilterOptions):
        source: str = option("message", "The field holding the domain name.")
        target: str = option("tld", "Where the parts go (merged into an existing hash).")

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        self._source = fieldref.parse(options.source)
        self._target = fieldref.parse(options.target)

    def register(self) -> None:
        extractor()  # load the list once, before events arrive

    def filter(self, event: Event) -> None:
        parts = split_domain(self._source.get(event.data))
        if parts is None:
            return
        current = self._target.get(event.data)
        event.set(self._target, {**current, **parts} if isinstance(current, dict) else parts)
        self.filter_matched(event)
