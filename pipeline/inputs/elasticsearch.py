"""elasticsearch input: read documents (or aggregations) of a query, once or on a schedule."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from elasticsearch import ApiError, Elasticsearch, TransportError

from pipeline import fieldref
from pipeline.elasticsearch.reader_options import ReaderConnectionOptions, reader_client
from pipeline.errors import ConfigError
from pipeline.event import Event
from pipeline.inputs._common import ecs_option
from pipeline.inputs.base import Input, InputContext, InputOptions
from pipeline.inputs.http_poller import Schedule
from pipeline.plugin import Codec, Duration, no_effect, option, register, unsupported

PUSH_BATCH = 500


@register
class ElasticsearchInput(Input):
    """Runs ``query`` against ``index`` and emits one event per hit (``_source``), or with
    ``response_type => aggregations`` one event holding the ``aggregations`` of the answer.

    ``search_api => auto`` pages with ``search_after`` over a point in time on Elasticsearch 8+ and with
    ``scroll`` otherwise (OpenSearch, Elasticsearch 7). ``docinfo`` copies ``docinfo_fields`` of each hit
    (``_index``, ``_id``...) under ``docinfo_target``. Without ``schedule`` the query runs once and the input
    ends. A failing search is logged; with a schedule the next run tries again.
    """

    name = "elasticsearch"

    @dataclass(frozen=True, kw_only=True)
    class Options(InputOptions, ReaderConnectionOptions):
        index: str = option("logstash-*", "Index, alias or pattern to read.")
        query: str = option('{ "sort": [ "_doc" ] }', "Search request body as JSON (query, sort, aggs...).")
        response_type: Literal["hits", "aggregations"] = option("hits", "One event per hit, or one event with "
                                                                         "the aggregations.")
        size: int = option(1000, "Hits per page.")
        scroll: str = option("1m", "How long a scroll (or point in time) stays open between pages.")
        search_api: Literal["auto", "search_after", "scroll"] = option("auto", "How to page through the hits.")
        slices: int | None = option(None, "Accepted; pages are read by one worker.")
        docinfo: bool = option(False, "Copy hit metadata (docinfo_fields) into the event.")
        docinfo_target: str | None = option(None, "Where docinfo goes (default [@metadata], or "
                                                   "[@metadata][input][elasticsearch] with ECS).")
        docinfo_fields: list[str] = option(["_index", "_type", "_id"], "Hit metadata copied with docinfo.")
        target: str | None = option(None, "Put each _source under this field instead of the root.")
        schedule: str | None = option(None, "Cron schedule (rufus style); none = run once.")
        retries: int = option(0, "Retries of a failing search before the run is given up.")
        request_timeout_seconds: Duration = option(60, "Timeout of one request.")
        connect_timeout_seconds: Duration = option(10, "Accepted; request_timeout_seconds bounds requests.")
        socket_timeout_seconds: Duration = option(60, "Accepted; request_timeout_seconds bounds requests.")
        ecs_compatibility: Literal["disabled", "v1", "v8"] | None = ecs_option()
        codec: Codec = option("json", "Unused (hits are events already).")
        query_type: Any = unsupported("only the query DSL (JSON) is supported here, not ES|QL")
        tracking_field: Any = unsupported("tracking a field between runs is not implemented yet")
        tracking_field_seed: Any = unsupported("tracking a field between runs is not implemented yet")
        last_run_metadata_path: Any = unsupported("tracking a field between runs is not implemented yet")
        schedule_overlap: Any = no_effect("a scheduled run never starts before the previous one ended")

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        o = self.options
        try:
            body = json.loads(o.query)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"query is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
        if not isinstance(body, dict):
            raise ConfigError("query must be a JSON object such as '{ \"query\": { \"match_all\": {} } }'")
        self._body: dict[str, Any] = body
        self._schedule = Schedule({"cron": o.schedule}) if o.schedule else None
        self.finite = self._schedule is None
        default_target = "[@metadata][input][elasticsearch]" if o.ecs_compatibility in ("v1", "v8") else "@metadata"
        self._docinfo_target = fieldref.parse(o.docinfo_target or default_target)
        self._target = fieldref.parse(o.target) if o.target else None
        self._log = logging.getLogger(f"pipeline.inputs.elasticsearch.{self.context.plugin_id or 'elasticsearch'}")
        self._client: Elasticsearch | None = None

    def register(self) -> None:
        self._client = reader_client(self.options, float(self.options.request_timeout_seconds), self.options.retries)

    async def run(self, ctx: InputContext) -> None:
        if self._schedule is None:
            await ctx.run_blocking(self.run_once, ctx)
            return
        while not await ctx.wait_stopping(timeout=self._schedule.next_delay()):
            await ctx.run_blocking(self.run_once, ctx)

    def run_once(self, ctx: InputContext) -> bool:
        """One query: pushes its events; False (logged) when the cluster refused or failed."""
        try:
            if self.options.response_type == "aggregations":
                answer = self._search({**self._body, "size": 0})
                return ctx.push_blocking([self._wrap(answer.get("aggregations") or {})])
            batch: list[Event] = []
            limit = min(PUSH_BATCH, ctx.queue.push_limit())
            for hit in self._hits():
                batch.append(self._hit_event(hit))
                if len(batch) >= limit:
                    if not ctx.push_blocking(batch):
                        return False
                    batch = []
            return ctx.push_blocking(batch)
        except (ApiError, TransportError) as exc:
            self._log.error("elasticsearch input: search of %r failed: %s", self.options.index, exc)
            return False

    def _search(self, body: dict[str, Any], **params: Any) -> dict[str, Any]:
        assert self._client is not None
        return self._client.search(index=self.options.index, body=body, **params).body  # type: ignore[no-any-return]

    def _hits(self) -> Iterator[dict[str, Any]]:
        api = self.options.search_api
        if api == "auto":
            api = "search_after" if self._supports_pit() else "scroll"
        yield from (self._search_after() if api == "search_after" else self._scroll())

    def _supports_pit(self) -> bool:
        assert self._client is not None
        version = self._client.info().body.get("version", {})
        if version.get("distribution") == "opensearch":
            return False
        return int(str(version.get("number", "0")).split(".")[0] or 0) >= 8

    def _scroll(self) -> Iterator[dict[str, Any]]:
        assert self._client is not None
        answer = self._search({**self._body, "size": self.options.size}, scroll=self.options.scroll)
        scroll_id = answer.get("_scroll_id")
        try:
            while hits := answer["hits"]["hits"]:
                yield from hits
                if not scroll_id:
                    return
                answer = self._client.scroll(scroll_id=scroll_id, scroll=self.options.scroll).body
                scroll_id = answer.get("_scroll_id", scroll_id)
        finally:
            if scroll_id:
                try:
                    self._client.clear_scroll(scroll_id=scroll_id)
                except (ApiError, TransportError) as exc:  # the scroll expires by itself
                    self._log.debug("clear_scroll failed: %s", exc)

    def _search_after(self) -> Iterator[dict[str, Any]]:
        """Pages over a point in time, sorted as the query asks plus _shard_doc as the tie-breaker."""
        assert self._client is not None
        pit = self._client.open_point_in_time(index=self.options.index, keep_alive=self.options.scroll).body["id"]
        body = {k: v for k, v in self._body.items() if k not in ("sort",)}
        sort = self._body.get("sort", [])
        sort = [*(sort if isinstance(sort, list) else [sort]), {"_shard_doc": "asc"}]
        after: list[Any] | None = None
        try:
            while True:
                request = {**body, "size": self.options.size, "sort": sort,
                           "pit": {"id": pit, "keep_alive": self.options.scroll}}
                if after is not None:
                    request["search_after"] = after
                answer = self._client.search(body=request).body
                pit = answer.get("pit_id", pit)
                hits = answer["hits"]["hits"]
                if not hits:
                    return
                yield from hits
                after = hits[-1].get("sort")
                if after is None or len(hits) < self.options.size:
                    return
        finally:
            try:
                self._client.close_point_in_time(id=pit)
            except (ApiError, TransportError) as exc:
                self._log.debug("close_point_in_time failed: %s", exc)

    def _hit_event(self, hit: dict[str, Any]) -> Event:
        event = self._wrap(hit.get("_source") or {})
        if self.options.docinfo:
            meta = {name: hit[name] for name in self.options.docinfo_fields if name in hit}
            current = event.get(self._docinfo_target)
            event.set(self._docinfo_target, {**current, **meta} if isinstance(current, dict) else meta)
        return event

    def _wrap(self, data: dict[str, Any]) -> Event:
        if self._target is None:
            return Event(data)
        event = Event()
        event.set(self._target, data)
        return event

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
