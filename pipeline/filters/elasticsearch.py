"""elasticsearch filter: look up earlier documents and copy their fields into the event."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from elasticsearch import ApiError, Elasticsearch, TransportError

from pipeline import fieldref
from pipeline.elasticsearch.reader_options import ReaderConnectionOptions, reader_client
from pipeline.errors import ConfigError
from pipeline.event import Event
from pipeline.filters.base import Filter, FilterOptions
from pipeline.logs import RateLimitedLogger
from pipeline.plugin import Duration, option, register, unsupported
from pipeline.template import Template

FAILURE_TAG = "_elasticsearch_lookup_failure"


def _path(key: str) -> list[str]:
    """Logstash's extract_path: "[a][b]" is a nested path, anything else one key."""
    return key.strip("[]").split("][") if key.startswith("[") else [key]


def _extract(source: Any, path: list[str]) -> Any:
    for part in path:
        if not isinstance(source, dict):
            return None
        source = source.get(part)
    return source


@register
class ElasticsearchFilter(Filter):
    """Searches Elasticsearch with a Lucene ``query`` (or a ``query_template`` of query DSL), both sprintf'd
    from the event, and copies ``fields`` of the hits' ``_source``, ``docinfo_fields`` of the hits and
    ``aggregation_fields`` of the answer into the event (one hit: the value; several: an array).

    A search that fails (bad query, cluster down, bad template) tags the event ``tag_on_failure`` and the
    event goes on; nothing found leaves it untouched (add_field/add_tag only apply when something matched).
    """

    name = "elasticsearch"

    @dataclass(frozen=True, kw_only=True)
    class Options(FilterOptions, ReaderConnectionOptions):
        index: str = option("", "Index (or pattern) to search; empty = all.")
        query: str | None = option(None, "Lucene query (query_string syntax), sprintf'd, e.g. "
                                         '"type:start AND operation:%{[opid]}".')
        query_template: Path | None = option(None, "File of query DSL (JSON) sprintf'd per event (instead of query).")
        fields: dict[str, str] = option({}, "Hit _source field => event field.")
        docinfo_fields: dict[str, str] = option({}, "Hit metadata (_id, _index...) => event field.")
        aggregation_fields: dict[str, str] = option({}, "Aggregation name => event field.")
        sort: str = option("@timestamp:desc", "Sort of the hits (field:direction, comma separated).")
        enable_sort: bool = option(True, "Send sort with the query.")
        result_size: int = option(1, "Hits to fetch.")
        tag_on_failure: list[str] = option([FAILURE_TAG], "Tags added when the search fails.")
        retry_on_failure: int = option(0, "Retries of a failed request.")
        retry_on_status: list[int] = option([500, 502, 503, 504], "Accepted; transport errors and these are retried.")
        request_timeout_seconds: Duration = option(60, "Timeout of one request.", aliases=("timeout",))
        query_type: Any = unsupported("only Lucene query and query_template (DSL) are supported here, not ES|QL")
        query_params: Any = unsupported("ES|QL parameters: ES|QL is not supported here")
        target: Any = unsupported("ES|QL results target: ES|QL is not supported here")

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        o = self.options
        if (o.query is None) == (o.query_template is None):
            raise ConfigError("Both `query` and `query_template` are set, or neither is. Use exactly one.")
        self._query = Template.compile(o.query) if o.query is not None else None
        self._template: Template | None = None
        if o.query_template is not None:
            try:
                text = Path(o.query_template).read_text("utf-8")
            except OSError as exc:
                raise ConfigError(f"query_template {str(o.query_template)!r} cannot be read: {exc.strerror}") from None
            self._template = Template.compile(text)
        self._fields = [(_path(k), fieldref.parse(v)) for k, v in o.fields.items()]
        self._docinfo = [(_path(k), fieldref.parse(v)) for k, v in o.docinfo_fields.items()]
        self._aggs = [(k, fieldref.parse(v)) for k, v in o.aggregation_fields.items()]
        self._client: Elasticsearch | None = None
        self._errors = RateLimitedLogger(self.logger)

    def register(self) -> None:
        o = self.options
        self._client = reader_client(o, float(o.request_timeout_seconds), o.retry_on_failure)

    def filter(self, event: Event) -> None:
        try:
            answer = self._search(event)
        except (ApiError, TransportError, ValueError) as exc:
            event.tag(*self.options.tag_on_failure)
            self._errors.warning(f"es-lookup:{self.id}", "elasticsearch filter (id=%s): failed to query "
                                 "elasticsearch for previous event: %s: %s", self.id, type(exc).__name__, exc)
            return
        matched = False
        hits = answer.get("hits", {}).get("hits") or []
        if hits:
            matched = True
            for path, target in self._fields:
                values = [_extract(hit.get("_source"), path) for hit in hits]
                event.set(target, values if len(values) > 1 else values[0])
            for path, target in self._docinfo:
                values = [_extract(hit, path) for hit in hits]
                event.set(target, values if len(values) > 1 else values[0])
        aggregations = answer.get("aggregations")
        if aggregations:
            matched = True
            for name, target in self._aggs:
                event.set(target, aggregations.get(name))
        if matched:
            self.filter_matched(event)

    def _search(self, event: Event) -> dict[str, Any]:
        assert self._client is not None
        o = self.options
        index = o.index or None
        if self._template is not None:
            body = json.loads(self._template.render(event))  # JSONDecodeError is a ValueError: tagged
            if not isinstance(body, dict):
                raise ValueError("query_template must render to a JSON object")
            return self._client.search(index=index, body=body).body  # type: ignore[no-any-return]
        assert self._query is not None
        params: dict[str, Any] = {"q": self._query.render(event), "size": o.result_size}
        if o.enable_sort:
            params["sort"] = o.sort
        return self._client.search(index=index, **params).body  # type: ignore[no-any-return]

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
