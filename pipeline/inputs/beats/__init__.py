"""beats input: receives events from Filebeat, Winlogbeat and other Beats (Lumberjack v1/v2).

The module is a package: ``connection`` speaks the protocol for one client,
``events`` turns payloads into events, ``tls`` builds the SSL context; the
wire format itself lives in :mod:`pipeline.lumberjack`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pipeline.errors import ConfigError, PluginError
from pipeline.event import Event
from pipeline.inputs._accept import Listener
from pipeline.inputs.base import Input, InputContext, InputOptions
from pipeline.inputs.beats.connection import BeatsConnection, BeatsStats, ConnectionSettings
from pipeline.inputs.beats.events import EventBuilder, FieldNames, RawJsonSource, codec_tag_last
from pipeline.inputs.beats.tls import peer_metadata
from pipeline.lumberjack.frames import DEFAULT_MAX_FRAME_SIZE
from pipeline.plugin import ByteSize, Duration, Secret, no_effect, option, register
from pipeline.runtime.rawevents import Decoration
from pipeline.tls import PROTOCOLS, server_context

log = logging.getLogger("pipeline.input.beats")

ENRICHMENTS = ("source_metadata", "codec_metadata", "ssl_peer_metadata")
DEFAULT_ENRICH = ("source_metadata", "codec_metadata")
VERIFY_MODE_TO_CLIENT_AUTH = {"none": "none", "peer": "optional", "force_peer": "required"}
TLS_VERSION_NAMES = {1.1: "TLSv1.1", 1.2: "TLSv1.2", 1.3: "TLSv1.3"}

EnrichName = Literal["source_metadata", "codec_metadata", "ssl_peer_metadata", "all", "none"]


def _port_check(value: int) -> str | None:
    return None if 0 <= value <= 65535 else "must be between 0 and 65535"


def _positive(value: float) -> str | None:
    return None if value > 0 else "must be greater than 0"


@dataclass(frozen=True, kw_only=True)
class BeatsOptions(InputOptions):
    event_loop_threads: Any = no_effect("one asyncio event loop serves every connection")
    host: str = option("0.0.0.0", "The IP address to listen on.")
    port: int = option(doc="The port to listen on (Beats send to 5044 by default).", check=_port_check)
    client_inactivity_timeout: Duration = option(
        Duration(60), "Close a client connection after this long without a complete frame (seconds or 1m, "
        "30s...), so a client trickling bytes cannot hold it; never while its window is still being "
        "accepted by the queue.", check=_positive)
    ssl_enabled: bool = option(False, "Accept TLS connections only (needs ssl_certificate and ssl_key).",
                               aliases=("ssl",))
    ssl_certificate: Path | None = option(None, "PEM certificate (chain) of this server.")
    ssl_key: Path | None = option(None, "PEM private key of ssl_certificate (PKCS#1 or PKCS#8).")
    ssl_key_passphrase: Secret | None = option(None, "Passphrase of an encrypted ssl_key.")
    ssl_certificate_authorities: list[Path] = option(
        [], "CA certificates (files or directories) that client certificates must chain to; "
        "needs ssl_client_authentication optional or required.")
    ssl_client_authentication: Literal["none", "optional", "required"] | None = option(
        None, "Ask clients for a certificate: none, optional (checked if sent) or required. Default none "
        "(required if only ssl_certificate_authorities is set, as Logstash does).")
    ssl_verify_mode: Literal["none", "peer", "force_peer"] | None = option(
        None, "Old name of ssl_client_authentication (peer = optional, force_peer = required).",
        deprecated="use ssl_client_authentication (none, optional, required)")
    ssl_supported_protocols: list[Literal["TLSv1.1", "TLSv1.2", "TLSv1.3"]] = option(
        ["TLSv1.2", "TLSv1.3"], "TLS versions accepted.")
    ssl_cipher_suites: list[str] = option(
        [], "TLS 1.2 cipher suites, by IANA/Java name (TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) or OpenSSL "
        "name; empty = OpenSSL's secure defaults. TLS 1.3 suites are always OpenSSL's defaults.",
        aliases=("cipher_suites",))
    tls_min_version: float | None = option(None, "Old way to set ssl_supported_protocols (1.1, 1.2, 1.3).",
                                           deprecated="use ssl_supported_protocols")
    tls_max_version: float | None = option(None, "Old way to set ssl_supported_protocols (1.1, 1.2, 1.3).",
                                           deprecated="use ssl_supported_protocols")
    ssl_handshake_timeout: int = option(10000, "Milliseconds a client has to complete the TLS handshake.",
                                        check=lambda v: None if v > 0 else "must be greater than 0")
    ecs_compatibility: Literal["disabled", "v1", "v8"] | None = option(
        None, "Where connection metadata goes: disabled ([@metadata][ip_address], [@metadata][tls_peer]) "
        "or v1/v8 ([@metadata][input][beats][host][ip] ...). Default: the pipeline's "
        "pipeline.ecs_compatibility, else v8.")
    enrich: list[EnrichName] | None = option(
        None, "Enrichments to apply: source_metadata (peer IP), codec_metadata (codec tag), "
        "ssl_peer_metadata (client certificate details), or all / none. Default: source_metadata "
        "and codec_metadata.")
    include_codec_tag: bool | None = option(None, "Tag events with beats_input_codec_<codec>_applied.",
                                            deprecated="use enrich (codec_metadata)")
    ssl_peer_metadata: bool | None = option(None, "Add the TLS client's details to [@metadata].",
                                            deprecated="use enrich (ssl_peer_metadata)")
    add_hostname: bool = option(False, "Copy [beat][hostname] into host (Logstash 5 behaviour).",
                                deprecated="Beats set [host][name] themselves")
    executor_threads: int | None = option(None, "Accepted for Logstash compatibility; no effect (asyncio).")
    stable_ids: bool = option(True, "Give events a stable id in [@metadata][_id] (the shipper's own _id, or "
                                    "agent.id + log.file + log.offset / winlog record): local_index and "
                                    "elasticsearch use it as the document id, so a window sent again after "
                                    "a crash is not stored twice.")
    max_frame_size: ByteSize = option(
        ByteSize(DEFAULT_MAX_FRAME_SIZE), "Largest frame (and inflated zlib block) accepted from a client; "
        "a bigger one closes that connection.", check=lambda v: None if v >= 1024 else "must be at least 1kb")
    max_window_bytes: ByteSize = option(
        ByteSize(8 * 1024 * 1024), "Event bytes of one window held before they are handed to the queue and "
        "acknowledged in part (Beats clients accept partial acks): bounds each connection's memory.",
        check=lambda v: None if v >= 1024 else "must be at least 1kb")
    max_pending_bytes: ByteSize = option(
        ByteSize(128 * 1024 * 1024), "Bytes (partial frames and events not yet in the queue) all connections "
        "together may hold; past it, connections holding more than 1mb stop being read until memory is "
        "freed. Memory use is a small multiple of this.", check=lambda v: None if v >= 1024 * 1024 else
        "must be at least 1mb")

    def __post_init__(self) -> None:
        if getattr(self.codec, "name", "") == "multiline":
            raise ValueError("the multiline codec is not supported on the beats input: configure multiline "
                             "in Filebeat (parsers: multiline) and ship whole events")
        if self.ssl_verify_mode is not None and self.ssl_client_authentication is not None:
            raise ValueError("set ssl_client_authentication or the deprecated ssl_verify_mode, not both")
        if self.enrich is not None:
            deprecated = [n for n in ("include_codec_tag", "ssl_peer_metadata") if getattr(self, n) is not None]
            if deprecated:
                raise ValueError(f"both enrich and (deprecated) {', '.join(deprecated)} were given; use only enrich")
            aliases = [n for n in self.enrich if n in ("all", "none")]
            if aliases and len(self.enrich) > 1:
                raise ValueError(f"enrich: the alias {aliases[0]} must be the only value; got {self.enrich}")
        for name in ("tls_min_version", "tls_max_version"):
            value = getattr(self, name)
            if value is not None and value not in TLS_VERSION_NAMES:
                raise ValueError(f"{name} must be one of 1.1, 1.2, 1.3; got {value}")
        if not self.ssl_enabled:
            return
        if self.ssl_certificate is None or self.ssl_key is None:
            raise ValueError("ssl_enabled => true needs both ssl_certificate and ssl_key")
        auth = self.client_authentication
        if auth != "none" and not self.ssl_certificate_authorities:
            given = (f"ssl_verify_mode => {self.ssl_verify_mode}" if self.ssl_verify_mode is not None
                     else f"ssl_client_authentication => {auth}")
            raise ValueError(f"{given} needs ssl_certificate_authorities (the CAs client certificates must chain to)")
        if (self.ssl_client_authentication == "none" and self.ssl_certificate_authorities):
            raise ValueError("ssl_certificate_authorities needs ssl_client_authentication => optional or required")

    # -- resolved settings -----------------------------------------------------
    @property
    def client_authentication(self) -> str:
        if self.ssl_client_authentication is not None:
            return self.ssl_client_authentication
        if self.ssl_verify_mode is not None:
            return VERIFY_MODE_TO_CLIENT_AUTH[self.ssl_verify_mode]
        return "required" if self.ssl_certificate_authorities else "none"

    @property
    def protocols(self) -> list[str]:
        if self.tls_min_version is None and self.tls_max_version is None:
            return list(self.ssl_supported_protocols)
        low = self.tls_min_version or 1.1
        high = self.tls_max_version or 1.3
        return [name for version, name in TLS_VERSION_NAMES.items() if low <= version <= high]

    @property
    def enrichments(self) -> set[str]:
        if self.enrich is None:
            active = set(DEFAULT_ENRICH)
        elif "all" in self.enrich:
            active = set(ENRICHMENTS)
        elif "none" in self.enrich:
            active = set()
        else:
            active = set(self.enrich)
        if self.include_codec_tag is not None:
            active = (active | {"codec_metadata"}) if self.include_codec_tag else active - {"codec_metadata"}
        if self.ssl_peer_metadata is not None:
            active = (active | {"ssl_peer_metadata"}) if self.ssl_peer_metadata else active - {
                "ssl_peer_metadata"}
        return active


@register
class Beats(Input):
    """Receives events from Elastic Beats (Filebeat, Winlogbeat...) over the Lumberjack protocol.

    Acks every window only once all its events are in the queue, keeps clients
    alive while the queue is full, and closes (with one log line) just the
    connection of a client that breaks the protocol.
    """

    name = "beats"
    Options = BeatsOptions

    #: Seconds between ``ACK 0`` keepalives while a window waits on a full queue.
    keepalive_interval: float = 5.0

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        self.stats = BeatsStats()
        self.bound_port: int | None = None
        self._server: Listener | None = None
        self._settings: ConnectionSettings | None = None
        self._ssl_context: Any = None
        opts = self.options
        ecs = opts.ecs_compatibility or str(self.context.settings.get("pipeline.ecs_compatibility", "v8"))
        self.ecs_compatibility = ecs
        self.fields = FieldNames.for_mode(ecs)
        self.enrichments = opts.enrichments
        codec_name = getattr(opts.codec, "name", opts.codec)  # a codec, or the default codec's name
        self._codec_tag = f"beats_input_codec_{codec_name}_applied" if "codec_metadata" in self.enrichments else None

    def register(self) -> None:
        opts = self.options
        if opts.ssl_enabled:
            unknown = [p for p in opts.protocols if p not in PROTOCOLS]
            if unknown or not opts.protocols:
                raise ConfigError(f"ssl_supported_protocols: unsupported {unknown or 'empty list'}")
            self._ssl_context = server_context(
                certificate=opts.ssl_certificate, key=opts.ssl_key,
                passphrase=opts.ssl_key_passphrase.reveal() if opts.ssl_key_passphrase else None,
                authorities=opts.ssl_certificate_authorities,
                client_authentication=opts.client_authentication, protocols=opts.protocols,
                cipher_suites=opts.ssl_cipher_suites)
        else:
            ignored = [n for n in ("ssl_certificate", "ssl_key") if getattr(opts, n) is not None]
            if ignored:
                self.logger.warning("beats input: %s ignored because ssl_enabled is false", ", ".join(ignored))

    def decorate(self, event: Event) -> None:
        """type, add_field, tags, then the codec tag moved behind them, as Logstash (see codec_tag_last)."""
        super().decorate(event)
        if self._codec_tag is not None:
            codec_tag_last(event, self._codec_tag)

    # -- running ---------------------------------------------------------------
    def _make_builder(self, peer_ip: str | None, ssl_object: Any) -> EventBuilder:
        opts = self.options
        tls_meta = None
        if ("ssl_peer_metadata" in self.enrichments and ssl_object is not None
                and opts.client_authentication != "none"):
            tls_meta = peer_metadata(ssl_object, self.fields)
        codec = self.codec.clone()
        return EventBuilder(
            codec, fields=self.fields,
            codec_tag=f"beats_input_codec_{codec.name}_applied" if "codec_metadata" in self.enrichments else None,
            peer_ip=peer_ip if "source_metadata" in self.enrichments else None,
            tls_metadata=tls_meta, add_hostname=opts.add_hostname, stable_ids=opts.stable_ids)

    def _make_raw_source(self, peer_ip: str | None, ssl_object: Any) -> RawJsonSource | None:
        """For worker processes: what decodes this connection's JSON payloads there; None when the
        connection's events must be built here (another codec, TLS peer details to read)."""
        opts = self.options
        codec = self.codec
        charset = str(getattr(codec.options, "charset", "UTF-8")).upper()
        if codec.name != "plain" or charset not in ("UTF-8", "UTF8"):
            return None
        if ("ssl_peer_metadata" in self.enrichments and ssl_object is not None
                and opts.client_authentication != "none"):
            return None
        return RawJsonSource(
            self.fields, "beats_input_codec_plain_applied" if "codec_metadata" in self.enrichments else None,
            peer_ip if "source_metadata" in self.enrichments else None, opts.add_hostname, opts.stable_ids,
            Decoration.of(opts))

    def _count_failure(self) -> None:
        metrics = self.context.metrics
        if metrics is not None and hasattr(metrics, "add"):
            metrics.add(failures=1)

    async def run(self, ctx: InputContext) -> None:
        opts = self.options
        loop = asyncio.get_running_loop()
        settings = ConnectionSettings(
            ctx=ctx, stats=self.stats, make_builder=self._make_builder, max_frame_size=int(opts.max_frame_size),
            make_raw_source=self._make_raw_source if ctx.defer_decoding else None,
            keepalive_interval=self.keepalive_interval, ssl_context=self._ssl_context,
            ssl_handshake_timeout=opts.ssl_handshake_timeout / 1000, on_failure=self._count_failure,
            max_window_bytes=int(opts.max_window_bytes), max_pending_bytes=int(opts.max_pending_bytes))
        self._settings = settings
        try:
            # Our listener, not loop.create_server: it stays calm at the file descriptor limit.
            server = Listener(lambda: BeatsConnection(settings), "beats input", self.logger)
            await server.start(opts.host, opts.port, backlog=4096)
        except OSError as exc:
            raise PluginError(f"beats input cannot listen on {opts.host}:{opts.port}: {exc}") from exc
        self._server = server
        self.stats.listener = server
        self.bound_port = server.port
        self.logger.info("beats input listening on %s:%d%s", opts.host, self.bound_port,
                         " (TLS)" if self._ssl_context else "")
        sweeper = loop.create_task(self._close_idle(settings))
        try:
            await ctx.wait_stopping()
        finally:
            sweeper.cancel()
            server.close()
            for connection in list(settings.connections):
                connection.shutdown()
            await server.wait_closed()
            self.logger.info("beats input stopped: %s", self.stats.snapshot())

    async def _close_idle(self, settings: ConnectionSettings) -> None:
        timeout = float(self.options.client_inactivity_timeout)
        period = min(1.0, timeout / 4)
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(period)
            now = loop.time()
            for connection in list(settings.connections):
                if not connection.closed and not connection.busy and now - connection.last_active > timeout:
                    connection.close_idle(timeout)
