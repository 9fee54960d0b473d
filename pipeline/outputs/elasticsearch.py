"""elasticsearch output: bulk-indexes events into (daily) indices, with retries and a dead letter queue.

Delivery, in order of what can go wrong:

* the whole bulk request fails (connection refused/reset, timeout, 429, 5xx,
  401/403): retried forever with exponential backoff and jitter; ``receive``
  blocks, so backpressure reaches the inputs and nothing is dropped;
* 413 (request too large): the batch is split in halves and each half sent;
  a single event that is still too large goes to the dead letter queue;
* some items fail: only those are retried (429, 5xx ...); 409 on ``create``
  means the document is already there (done); 400/404 (mapping errors, bad
  index names) and ``dlq_custom_codes`` go to the dead letter queue with the
  reason; events whose index name still has an unresolved ``%{...}`` go there
  before being sent; error types in ``drop_error_types`` (and version
  conflicts under external versioning, an older version of the document) are
  logged and dropped, as Logstash.
"""

from __future__ import annotations

import gzip
import json
import random
import re
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from elasticsearch import ApiError, ConnectionError, ConnectionTimeout, TransportError

from pipeline.elasticsearch import bulk, template_manager
from pipeline.elasticsearch.bulk import BulkAction, Outcome
from pipeline.elasticsearch.client import ConnectionSettings, build_client
from pipeline.elasticsearch.connection_options import EsConnectionOptions
from pipeline.errors import ConfigError
from pipeline.event import Event
from pipeline.eventid import document_ids
from pipeline.outputs.base import Output, OutputOptions
from pipeline.plugin import ByteSize, Duration, option, register, variant
from pipeline.queue import dead_letter
from pipeline.template import Template, load_timezone

_UNRESOLVED = re.compile(r"%\{[^}]*\}")
# As Logstash's resolve_filter_path: only what the item handling reads comes back.
_FILTER_PATH = "errors,items.*.error,items.*.status"
_EXTERNAL_VERSIONS = ("external", "external_gt", "external_gte")
DEFAULT_GZIP_LEVEL = 1  # Logstash's DEFAULT_ZIP_LEVEL


def _check_codes(codes: list[int]) -> str | None:
    bad = [c for c in codes if c in (200, 201, 409, 429) or not 400 <= c < 600]
    return f"codes {bad} cannot be dead-lettered (use 4xx/5xx other than 409 and 429)" if bad else None


@dataclass(frozen=True, kw_only=True)
class ElasticsearchOptions(OutputOptions, EsConnectionOptions):
    ssl_certificate_authorities: list[str] = variant(EsConnectionOptions, "ssl_certificate_authorities",
                                                     aliases=("cacert",))
    ssl_certificate_verification: bool | None = option(
        None, "false = ssl_verification_mode => none.", deprecated="use ssl_verification_mode (full, none)")
    path: str | None = option(None, "HTTP path under which Elasticsearch answers (behind a proxy that remaps "
                              "it); prefixes every request. Not together with a path in hosts.")
    bulk_path: str | None = option(None, "Path of bulk requests (under path), default /_bulk; as Logstash, "
                                   "filter_path=errors,items.*.error,items.*.status is added unless given.")
    healthcheck_path: str | None = option(None, "Path (under path) asked with HEAD before bulk requests are "
                                          "sent again after a connection failure, default /; any 2xx means "
                                          "Elasticsearch is back.")
    index: str = option("logs-%{+YYYY.MM.dd}", "Index to write to (sprintf); daily by default.")
    index_timezone: str | None = option(None, "Timezone of the dates in index (e.g. Asia/Shanghai) so daily "
                                        "indices roll over at local midnight; UTC by default.")
    document_id: Template | None = option(None, "Document id (sprintf); with the fingerprint filter, "
                                          "retries and replays never duplicate.")
    use_event_id: bool = option(True, "Without document_id: use the input's stable event id ([@metadata][_id], "
                                "set by the file and beats inputs) as the document id, so an event "
                                "delivered again after a crash replaces itself. false: ids chosen by "
                                "Elasticsearch.")
    action: Template = option("index", "index, create, update or delete (sprintf-able).")
    doc_as_upsert: bool = option(False, "With action update: create the document when missing.")
    retry_on_conflict: int = option(1, "With action update: Elasticsearch-side retries on version conflicts.")
    pipeline: Template | None = option(None, "Ingest pipeline to run on each document (sprintf).")
    routing: Template | None = option(None, "Shard routing value (sprintf).")
    http_compression: bool | None = option(
        None, "true = compression_level 1, false = 0 (when compression_level is not set).",
        deprecated="Set 'compression_level' instead.")
    compression_level: int | None = option(
        None, "Gzip level of bulk bodies: 1 (fastest, the default, as Logstash 8) to 9 (smallest), 0 = not "
              "compressed. Level 1 costs about 3 ms of CPU per MB and sends ~8 % of the bytes "
              "(bench/RESULTS.md).", check=lambda v: None if 0 <= v <= 9 else "must be between 0 and 9")
    timeout: Duration = option(60, "Timeout of one request; a timed-out bulk is retried.")
    bulk_max_events: int = option(1000, "At most this many events per bulk request.", aliases=("flush_size",),
                                  check=lambda v: None if v > 0 else "must be positive")
    bulk_max_bytes: ByteSize = option("20mb", "About this many bytes per bulk request.",
                                      check=lambda v: None if v >= 1024 else "must be at least 1kb")
    concurrent_requests: int = option(1, "Bulk requests sent in parallel from one batch.",
                                      check=lambda v: None if 1 <= v <= 64 else "must be between 1 and 64")
    retry_initial_interval: Duration = option(2, "First wait before retrying a failed bulk (doubles each time).")
    retry_max_interval: Duration = option(64, "Longest wait between retries.")
    dlq_custom_codes: list[int] = option([], "Item status codes (besides 400 and 404) sent to the dead "
                                         "letter queue instead of retried.", check=_check_codes)
    dlq_on_failed_indexname_interpolation: bool = option(
        True, "Dead-letter events whose index name still contains %{...} after interpolation.")
    drop_error_types: list[str] = option(
        [], "Error types (e.g. index_closed_exception) whose rejected events are dropped (logged, counted as "
            "dropped) instead of retried or dead-lettered.")
    version: Template | None = option(None, "External document version (sprintf), sent in the bulk action as "
                                      "Logstash does; needs version_type external* to mean anything.")
    version_type: Literal["internal", "external", "external_gt", "external_gte", "force"] | None = option(
        None, "Version type sent with version (external: Elasticsearch refuses a version not above the "
              "stored one, 409, dead-lettered).")
    parent: Template | None = option(
        None, "Parent document id (sprintf), sent as the bulk action's parent, as Logstash does without "
              "join_field; Elasticsearch 7+ and OpenSearch refuse it (use routing with a join field).")
    # Templates, ILM, data streams (pipeline/elasticsearch/template_manager.py), as Logstash's output.
    ecs_compatibility: Literal["disabled", "v1", "v8"] | None = option(
        None, "Default template and alias names (logstash / ecs-logstash); data streams need ECS "
              "(default: the pipeline.ecs_compatibility setting, else v8).")
    manage_template: bool | None = option(
        None, "Install a template at start: true = template (or our default mappings, pattern logstash-*); "
              "unset = only when template is given or ILM is in use.")
    template: str | None = option(None, "Path of a JSON template file to install (see manage_template).")
    template_name: str | None = option(None, "Name of the installed template (default: the rollover alias with "
                                       "ILM, else logstash / ecs-logstash).")
    template_overwrite: bool = option(False, "Replace a template of that name that already exists.")
    template_api: Literal["auto", "legacy", "composable"] = option(
        "auto", "_index_template (composable) or _template (legacy); auto = composable from Elasticsearch 8.")
    ilm_enabled: bool | Literal["auto"] = option(
        "auto", "Write through a rollover alias managed by ILM; auto = when ilm_rollover_alias is set.")
    ilm_rollover_alias: str | None = option(None, "Rollover alias written to (ILM); replaces index.")
    ilm_pattern: str = option("{now/d}-000001", "Suffix of the first index behind the alias (date math).")
    ilm_policy: str = option("logstash-policy", "ILM policy of the indices; Logstash's default one (rollover "
                             "at 50gb or 30d) is created if missing, any other must exist.")
    data_stream: bool | Literal["auto"] | None = option(
        None, "Write to the data stream <type>-<dataset>-<namespace> with create actions; auto = when ECS is "
              "on and no option contradicts it (unset = false).")
    data_stream_type: Literal["logs", "metrics", "synthetics", "traces"] = option("logs", "Data stream type.")
    data_stream_dataset: str = option("generic", "Data stream dataset.")
    data_stream_namespace: str = option("default", "Data stream namespace.")
    data_stream_auto_routing: bool = option(
        True, "Take type/dataset/namespace from the event's [data_stream] fields when present.")
    data_stream_sync_fields: bool = option(True, "Set the event's [data_stream] fields to the stream written to.")
    document_type: str | None = option(None, "Mapping type: removed in Elasticsearch 8, never sent.",
                                       deprecated="mapping types are gone from Elasticsearch 8: ignored")
    upsert: str = option("", "With action update: JSON document (sprintf) created when the document is missing.")
    script: str = option("", "With action update: script (sprintf) run on the document; the event is its "
                         "params.<script_var_name>.")
    script_type: Literal["inline", "indexed"] = option("inline", "inline: script is the source; indexed: a "
                                                       "stored script id.")
    script_lang: str = option("painless", "Script language ('' = Elasticsearch's default).")
    script_var_name: str = option("event", "Name of the event in the script's params.")
    scripted_upsert: bool = option(False, "Run the script also when the document is missing.")
    parameters: dict[str, str] = option({}, "Extra URL parameters of every bulk request.")
    custom_headers: dict[str, str] = option({}, "Extra HTTP headers of every request.")
    silence_errors_in_log: list[str] = option(
        [], "Error types (e.g. version_conflict_engine_exception) whose rejected events are not logged one by "
            "one (they are still dead-lettered and counted).", aliases=("failure_type_logging_whitelist",))
    proxy: str | None = option(None, "HTTP proxy: accepted for Logstash configs, not supported (warned).")
    pool_max: int = option(1000, "Accepted for Logstash configs; connections are pooled per host (warned if set).")
    pool_max_per_route: int = option(100, "Accepted for Logstash configs (warned if set).")
    resurrect_delay: Duration = option(5, "Accepted for Logstash configs: a failed host is retried on the "
                                       "next request (warned if set).")
    validate_after_inactivity: int = option(10000, "Accepted for Logstash configs (warned if set).")
    sniffing: bool = option(False, "Accepted for Logstash configs: node discovery is not supported (warned).")
    sniffing_delay: Duration = option(5, "Accepted with sniffing (no effect).")
    sniffing_path: str | None = option(None, "Accepted with sniffing (no effect).")

    def __post_init__(self) -> None:
        if self.retry_max_interval < self.retry_initial_interval:
            raise ValueError("retry_max_interval must be >= retry_initial_interval")
        if self.doc_as_upsert and self.action.is_constant and self.action.text != "update":
            raise ValueError("doc_as_upsert only applies to action => update")
        if self.action.is_constant and self.action.text not in bulk.ACTIONS:
            raise ValueError(f"action must be one of {', '.join(bulk.ACTIONS)}; got {self.action.text!r}")
        if self.action.is_constant and self.action.text in ("update", "delete") and self.document_id is None:
            raise ValueError(f"action => {self.action.text} needs document_id")
        if self.script_type == "indexed" and not self.script:
            raise ValueError("script_type => indexed needs script (the stored script id)")
        external = self.version_type in ("external", "external_gt", "external_gte")
        if external and self.version is None:
            raise ValueError("External versioning requires the presence of a version number.")
        if external and self.action.is_constant and self.action.text == "create":
            raise ValueError("External versioning is not supported by the create action.")
        if external and self.action.is_constant and self.action.text == "update":
            raise ValueError("External versioning is not supported by the update action.")
        if self.doc_as_upsert and self.scripted_upsert:
            raise ValueError("doc_as_upsert and scripted_upsert are mutually exclusive.")
        load_timezone(self.index_timezone)
        self.connection_settings().check()  # EsClientConfigError is a ValueError: a config error
        template_manager.resolve(self, template_manager.declared_defaults(type(self)), self.ecs_compatibility or "v8")

    def connection_settings(self, timeout: float | None = None, **extra: Any) -> ConnectionSettings:
        settings = super().connection_settings(float(self.timeout) if timeout is None else timeout,
                                               path_prefix=self.path, **extra)
        if self.ssl_certificate_verification is False:
            settings = replace(settings, tls=replace(settings.tls, verification_mode="none"))
        return settings

    @property
    def gzip_level(self) -> int:
        """The gzip level of bulk bodies (0: not compressed), as Logstash's setup_compression_level!."""
        if self.compression_level is not None:
            return self.compression_level
        if self.http_compression is not None:
            return 1 if self.http_compression else 0
        return DEFAULT_GZIP_LEVEL


@dataclass
class ElasticsearchStats:
    """Everything counted; read by tests, logs and the stats API."""

    bulk_requests: int = 0
    bulk_request_failures: int = 0
    bulk_splits: int = 0
    indexed: int = 0
    duplicates: int = 0
    retried_items: int = 0
    dropped: int = 0
    dead_lettered: int = 0
    dlq_dropped: int = 0
    statuses: dict[int, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {**{k: v for k, v in self.__dict__.items() if k != "statuses"},
                "statuses": {str(k): v for k, v in sorted(self.statuses.items())}}


class _TooLarge(Exception):
    pass


class _LogBudget:
    """At most ``per_minute`` log lines a minute for per-event messages; the rest are counted."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self.window = 0.0
        self.used = 0
        self.skipped = 0
        self._lock = threading.Lock()

    def allow(self) -> bool:
        now = time.monotonic()
        with self._lock:
            if now - self.window >= 60:
                self.window, self.used = now, 0
            if self.used < self.per_minute:
                self.used += 1
                return True
            self.skipped += 1
            return False


@register
class Elasticsearch(Output):
    """Sends events to Elasticsearch with the bulk API, into daily indices by default.

    Failed requests are retried until Elasticsearch takes them (blocking the pipeline meanwhile);
    events Elasticsearch rejects for good go to the dead letter queue with the reason.
    """

    name = "elasticsearch"
    Options = ElasticsearchOptions

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        self.index_template = Template(options.index, tz=options.index_timezone)
        self.stats = ElasticsearchStats()
        self._stats_lock = threading.Lock()
        self._client: Any = None
        self._dlq: dead_letter.DeadLetterWriter | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._dlq_codes = frozenset(options.dlq_custom_codes) | {400, 404}
        self._log_budget = _LogBudget(per_minute=60)
        ecs = options.ecs_compatibility or str(self.context.settings.get("pipeline.ecs_compatibility", "v8"))
        try:
            self.plan = template_manager.resolve(options, template_manager.declared_defaults(type(options)), ecs,
                                                 self.logger)
        except ValueError as exc:
            raise ConfigError(f"elasticsearch output: {exc}") from exc
        self._setup_pending = True
        self._silenced = tuple(options.silence_errors_in_log)
        self._upsert = Template(options.upsert) if options.upsert else None
        self._script = Template(options.script) if options.script else None
        self._bulk_path, self._bulk_params = _bulk_target(options.bulk_path, options.parameters)
        self._healthcheck_path = "/" + (options.healthcheck_path or "").lstrip("/")
        self._gzip_level = options.gzip_level
        drops = set(options.drop_error_types)
        if options.version_type in _EXTERNAL_VERSIONS:  # an older version of a document: nothing to do
            drops.add("version_conflict_engine_exception")
        self._drop_types = frozenset(drops)

    # -- lifecycle ----------------------------------------------------------------
    def register(self) -> None:
        client = build_client(self.connection_settings(), max_retries=0)
        self._client = client.options(max_retries=0, retry_on_timeout=False)
        self._warn_unsupported()
        self._dlq = dead_letter.writer_for(self.context.path_data, self.context.pipeline_id,
                                           self.context.settings)
        opts = self.options
        if opts.concurrent_requests > 1:
            self._pool = ThreadPoolExecutor(opts.concurrent_requests, thread_name_prefix=f"es-{self.id}")
        if not (self.plan.data_stream or self.plan.ilm):  # those write to a stream / an alias on purpose
            self._warn_about_data_streams()
        self._setup(at_start=True)

    def connection_settings(self) -> ConnectionSettings:
        """The client settings of register (amazon_es adds its request signer here)."""
        return self.options.connection_settings()

    def _warn_unsupported(self) -> None:
        opts, defaults = self.options, template_manager.declared_defaults(type(self.options))
        ignored = [name for name in ("proxy", "pool_max", "pool_max_per_route", "resurrect_delay",
                                     "validate_after_inactivity", "sniffing", "sniffing_delay", "sniffing_path")
                   if getattr(opts, name) != defaults[name]]
        if ignored:
            self.logger.warning("elasticsearch output %s: %s accepted for Logstash compatibility but have no "
                                "effect here", self.id, ", ".join(ignored))

    def _setup(self, *, at_start: bool = False) -> None:
        """Install template / ILM policy / rollover alias (template_manager); retried until it works."""
        attempt = 0
        while self._setup_pending:
            try:
                template_manager.install(self._client, self.plan, self.logger)
                self._setup_pending = False
            except ValueError as exc:  # a missing custom ILM policy, a bad template file: the config is wrong
                raise ConfigError(f"elasticsearch output {self.id}: {exc}") from exc
            except ApiError as exc:
                if exc.meta.status in (401, 403, 408, 429) or exc.meta.status >= 500:
                    if at_start:
                        self.logger.warning("elasticsearch output %s: template/ILM setup failed (%s); retrying "
                                            "before the first bulk request", self.id, _describe(exc))
                        return
                    self._backoff(attempt, f"template/ILM setup failed: {_describe(exc)}")
                    attempt += 1
                    continue
                # Refused for good (a template Elasticsearch rejects): as Logstash, log it and send anyway
                self.logger.error("elasticsearch output %s: template/ILM setup refused: %s", self.id, _describe(exc))
                self._setup_pending = False
            except TransportError as exc:
                if at_start:  # Elasticsearch not there yet: try again when the first events come
                    self.logger.warning("elasticsearch output %s: template/ILM setup failed (%s); retrying before "
                                        "the first bulk request", self.id, _describe(exc))
                    return
                self._backoff(attempt, f"template/ILM setup failed: {_describe(exc)}")
                attempt += 1

    def close(self) -> None:
        skipped = self._log_budget.skipped
        if skipped:
            self.logger.warning("elasticsearch output %s: %d more dead-lettered events were not logged one by one",
                                self.id, skipped)
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        if self._dlq is not None:
            dead_letter.release_writer(self._dlq)
            self._dlq = None
        if self._client is not None:
            self._client.close()
        self.logger.info("elasticsearch output %s: %s", self.id, self.stats.as_dict())

    # -- sending ------------------------------------------------------------------
    def receive(self, events: list[Event]) -> None:
        if self._setup_pending:
            self._setup()
        stable = self.options.use_event_id and self.options.document_id is None
        ids = document_ids(events) if stable else [None] * len(events)
        actions = [a for a in (self._encode(e, i) for e, i in zip(events, ids, strict=True)) if a is not None]
        batches = list(bulk.chunks(actions, self.options.bulk_max_events, int(self.options.bulk_max_bytes)))
        if self._pool is None or len(batches) < 2:
            for batch in batches:
                self._deliver(batch)
            return
        for future in [self._pool.submit(self._deliver, batch) for batch in batches]:
            future.result()

    def _encode(self, event: Event, event_id: str | None = None) -> BulkAction | None:
        opts = self.options
        plan = self.plan
        if plan.data_stream:  # always create, into <type>-<dataset>-<namespace>
            data = event.data
            return bulk.encode_action(
                event, "create", plan.data_stream_name(data),
                routing=opts.routing.render(event) if opts.routing is not None else None,
                pipeline=opts.pipeline.render(event) if opts.pipeline is not None else None,
                source=plan.synced(data) if plan.ds_sync_fields else None)
        action = opts.action.render(event)
        if action not in bulk.ACTIONS:
            self._dead_letter(event, f"invalid action {action!r} (expected one of {', '.join(bulk.ACTIONS)})")
            return None
        index = plan.rollover_alias if plan.ilm else self.index_template.render(event)
        if opts.dlq_on_failed_indexname_interpolation and "%{" in index and _UNRESOLVED.search(index):
            self._dead_letter(event, f"Badly formatted index, after interpolation still contains placeholder: "
                                     f"[{index}]")
            return None
        if opts.document_id is not None:
            doc_id = opts.document_id.render(event)
        else:
            doc_id = event_id if action in ("index", "create") else None
        if doc_id is not None and _UNRESOLVED.search(doc_id):
            # Every such event would overwrite one document: refuse visibly instead.
            self._dead_letter(event, f"document_id still contains a placeholder after interpolation: [{doc_id}]")
            return None
        if action in ("update", "delete") and not doc_id:
            self._dead_letter(event, f"action {action} needs a document_id")
            return None
        try:
            update = self._update_options(event) if action == "update" else None
        except bulk.EncodeError as exc:
            self._dead_letter(event, str(exc))
            return None
        return bulk.encode_action(
            event, action, index, doc_id=doc_id,
            routing=opts.routing.render(event) if opts.routing is not None else None,
            pipeline=opts.pipeline.render(event) if opts.pipeline is not None else None,
            doc_as_upsert=opts.doc_as_upsert,
            retry_on_conflict=opts.retry_on_conflict if action == "update" else None,
            update=update, extra=self._extra_metadata(event),
        )

    def _extra_metadata(self, event: Event) -> dict[str, Any] | None:
        """``parent``, ``version`` and ``version_type`` of the bulk action, as Logstash's event_action_tuple."""
        opts = self.options
        if opts.parent is None and opts.version is None and opts.version_type is None:
            return None
        meta: dict[str, Any] = {}
        if opts.parent is not None:
            meta["parent"] = opts.parent.render(event)
        if opts.version is not None:
            text = opts.version.render(event)
            meta["version"] = int(text) if re.fullmatch(r"-?\d+", text) else text  # Elasticsearch explains others
        if opts.version_type is not None:
            meta["version_type"] = opts.version_type
        return meta

    def _update_options(self, event: Event) -> bulk.UpdateOptions | None:
        if self._upsert is None and self._script is None:
            return None
        upsert = None
        if self._upsert is not None:
            text = self._upsert.render(event)
            try:
                upsert = json.loads(text)
            except json.JSONDecodeError as exc:
                raise bulk.EncodeError(f"upsert is not valid JSON after interpolation ({exc}): {text[:200]}") from exc
        opts = self.options
        return bulk.UpdateOptions(
            upsert=upsert, script=self._script.render(event) if self._script is not None else None,
            script_type=opts.script_type, script_lang=opts.script_lang, script_var_name=opts.script_var_name,
            scripted_upsert=opts.scripted_upsert)

    def _deliver(self, batch: list[BulkAction]) -> None:
        """Send until every action is indexed, a duplicate, or dead-lettered."""
        pending = batch
        attempt = 0
        unreachable = False
        while pending:
            if unreachable:  # probe cheaply before sending the whole batch again
                if not self._healthy():
                    self._backoff(attempt, f"Elasticsearch still unreachable (HEAD {self._healthcheck_path})")
                    attempt += 1
                    continue
                unreachable = False
            try:
                response = self._send(pending)
            except _TooLarge:
                self._count(bulk_splits=1)
                if len(pending) == 1:
                    self._dead_letter(pending[0].event, "request entity too large (413): the event is bigger "
                                                        "than http.max_content_length of Elasticsearch")
                    return
                half = len(pending) // 2
                self._deliver(pending[:half])
                pending = pending[half:]
                continue
            except (TransportError, ApiError) as exc:
                self._count(bulk_request_failures=1)
                unreachable = isinstance(exc, (ConnectionError, ConnectionTimeout))
                self._backoff(attempt, f"bulk request of {len(pending)} events failed: {_describe(exc)}")
                attempt += 1
                continue
            retry = self._handle_items(pending, response)
            if retry:
                self._backoff(attempt, f"{len(retry)} of {len(pending)} events rejected temporarily, retrying them")
                attempt += 1
            else:
                attempt = 0
            pending = retry

    def _healthy(self) -> bool:
        """HEAD healthcheck_path answers 2xx (Logstash's pool does the same before reviving a host)."""
        try:
            response = self._client.options(request_timeout=min(float(self.options.timeout), 10.0)).perform_request(
                "HEAD", self._healthcheck_path, headers={"accept": "application/json"})
        except (TransportError, ApiError):
            return False
        return 200 <= response.meta.status < 300

    def _send(self, actions: list[BulkAction]) -> dict[str, Any]:
        self._count(bulk_requests=1)
        payload = bulk.body(actions)
        headers = {"accept": "application/json", "content-type": "application/x-ndjson"}
        if self._gzip_level:
            payload = gzip.compress(payload, compresslevel=self._gzip_level)
            headers["content-encoding"] = "gzip"
        try:
            response = self._client.perform_request("POST", self._bulk_path, params=self._bulk_params,
                                                    body=payload, headers=headers)
        except ApiError as exc:
            self._count_status(exc.meta.status)
            if exc.meta.status == 413:
                raise _TooLarge() from exc
            raise
        body = response.body
        if not isinstance(body, dict) or not isinstance(body.get("items"), list) or len(body["items"]) != len(actions):
            raise TransportError(f"bulk response does not have one item per action: {str(body)[:200]}")
        return body

    def _handle_items(self, actions: list[BulkAction], response: dict[str, Any]) -> list[BulkAction]:
        retry: list[BulkAction] = []
        indexed = duplicates = dropped = 0
        for action, item in zip(actions, response["items"], strict=True):
            result: dict[str, Any] = item.get(action.action) or next(iter(item.values()), {})
            outcome, status, reason = bulk.classify(action.action, result, self._dlq_codes, self._drop_types)
            self._count_status(status)
            if outcome is Outcome.OK:
                indexed += 1
            elif outcome is Outcome.DUPLICATE:
                duplicates += 1
            elif outcome is Outcome.DROP:
                dropped += 1
                if not (self._silenced and reason.startswith(self._silenced)) and self._log_budget.allow():
                    self.logger.warning("elasticsearch output %s: Failed action, event dropped (drop_error_types): "
                                        "status %s, action %s, index %s, %s", self.id, status, action.action,
                                        action.index, reason)
            elif outcome is Outcome.RETRY:
                retry.append(action)
            else:
                self._dead_letter(action.event, f"Could not index event to Elasticsearch. status: {status}, "
                                                f"action: {action.action}, index: {action.index}, {reason}",
                                  quiet=reason.startswith(self._silenced) if self._silenced else False)
        self._count(indexed=indexed, duplicates=duplicates, dropped=dropped, retried_items=len(retry))
        return retry

    def _backoff(self, attempt: int, message: str) -> None:
        ceiling = min(float(self.options.retry_max_interval),
                      float(self.options.retry_initial_interval) * (2 ** min(attempt, 30)))
        delay = ceiling * random.uniform(0.5, 1.0)  # jitter: many pipelines must not retry in step
        log = self.logger.warning if attempt < 3 else self.logger.error
        log("elasticsearch output %s: %s; retry #%d in %.1fs", self.id, message, attempt + 1, delay)

        time.sleep(delay)

    # -- dead letters and counters --------------------------------------------------
    def _dead_letter(self, event: Event, reason: str, *, quiet: bool = False) -> None:
        written = False
        if self._dlq is not None:
            written = self._dlq.write(event, reason, plugin_type=self.name, plugin_id=self.id)
        if written:
            self._count(dead_lettered=1)
            if not quiet and self._log_budget.allow():
                self.logger.warning("elasticsearch output %s: event sent to the dead letter queue: %s",
                                    self.id, reason)
        else:
            self._count(dlq_dropped=1)
            self.logger.error("elasticsearch output %s: event DROPPED (dead letter queue %s): %s; event: %s",
                              self.id, "full" if self._dlq is not None else "disabled", reason,
                              event.to_dict())
        if self.context.metrics is not None:
            self.context.metrics.add(failures=1)

    def _count(self, **counts: int) -> None:
        with self._stats_lock:
            for key, value in counts.items():
                setattr(self.stats, key, getattr(self.stats, key) + value)

    def _count_status(self, status: int) -> None:
        with self._stats_lock:
            self.stats.statuses[status] = self.stats.statuses.get(status, 0) + 1

    # -- data stream trap -------------------------------------------------------------
    def _warn_about_data_streams(self) -> None:
        from pipeline.elasticsearch.datastream import data_stream_conflict, fetch_templates

        try:
            templates = fetch_templates(self._client.options(request_timeout=5))
        except (TransportError, ApiError) as exc:
            self.logger.info("elasticsearch output %s: could not read index templates at start (%s); "
                             "will retry sending when events come", self.id, _describe(exc))
            return
        problem = data_stream_conflict(self.options.index, templates, self.options.action.text)
        if problem:
            self.logger.warning("elasticsearch output %s: %s", self.id, problem)


def _bulk_target(bulk_path: str | None, parameters: dict[str, str]) -> tuple[str, dict[str, str]]:
    """Path and query parameters of bulk requests, as Logstash's HttpClientBuilder: ``bulk_path`` (default
    /_bulk) with ``filter_path`` added unless the path or ``parameters`` set one."""
    path, _, query = ("/" + (bulk_path or "_bulk").lstrip("/")).partition("?")
    params = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
    params.update(parameters)
    params.setdefault("filter_path", _FILTER_PATH)
    return re.sub("/{2,}", "/", path), params


def _describe(exc: Exception) -> str:
    if isinstance(exc, ApiError):
        return f"HTTP {exc.meta.status} {bulk.describe_error((exc.body or {}).get('error')) if isinstance(exc.body, dict) else exc.message}"
    if isinstance(exc, (ConnectionError, ConnectionTimeout)):
        return f"{type(exc).__name__}: {exc.message}"
    return f"{type(exc).__name__}: {exc!r}"
