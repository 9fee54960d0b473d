"""udp input: one event per datagram (or per line, with a line codec)."""

from __future__ import annotations

import collections
from dataclasses import dataclass
from typing import Any, Literal

from pipeline.event import Event
from pipeline.inputs._common import count_problem, ecs_mode, ecs_option, stream_codec
from pipeline.inputs._udp import DatagramReceiver
from pipeline.inputs.base import Input, InputContext, InputOptions
from pipeline.plugin import ByteSize, FieldRef, option, register


def _positive(value: Any) -> str | None:
    return None if value > 0 else "must be greater than 0"


@dataclass(frozen=True, kw_only=True)
class UdpOptions(InputOptions):
    host: str = option("0.0.0.0", "Address to listen on.")
    port: int = option(doc="UDP port to listen on.",
                       check=lambda p: None if 0 <= p <= 65535 else "must be a port number (0-65535)")
    buffer_size: int = option(65536, "Largest datagram read; longer ones are cut by the kernel.",
                              check=_positive)
    workers: int = option(2, "Tasks decoding datagrams in parallel with receiving.", check=_positive)
    queue_size: int = option(2000, "Datagrams waiting for a worker; beyond it new ones are dropped and "
                                   "counted.", check=_positive)
    receive_buffer_bytes: ByteSize | None = option(None, "Socket receive buffer (SO_RCVBUF); the OS "
                                                         "default when unset.")
    source_ip_fieldname: FieldRef | None = option(
        None, "Field for the sender's address. Default: host (legacy) or [host][ip] (ECS).")
    ecs_compatibility: Literal["disabled", "v1", "v8"] | None = ecs_option()


@register
class Udp(Input):
    """Reads events from UDP datagrams; the sender's address goes to ``host`` or ``[host][ip]``."""

    name = "udp"
    Options = UdpOptions
    # Logstash's udp decorates first and then sets the source address only when the field is unset
    # (logstash-input-udp lib/logstash/inputs/udp.rb, push_decoded_event: decorate(event);
    # event.set(@field_source_ip, ip_address) if event.get(@field_source_ip).nil?), so an add_field of
    # that field wins instead of becoming an array.
    decorates_itself = True

    def register(self) -> None:
        self.counters: collections.Counter[str] = collections.Counter()
        self._ecs = ecs_mode(self) != "disabled"
        self._source_field = self.options.source_ip_fieldname
        self._codec = stream_codec(self)
        # Line-oriented codecs (multiline) join datagrams; others see each datagram as a whole.
        self._whole_datagrams = not hasattr(self._codec, "decode_line")
        self.bound_port: int | None = None
        self.receiver: DatagramReceiver | None = None

    async def run(self, ctx: InputContext) -> None:
        opts = self.options

        async def handle(data: bytes, addr: tuple[Any, ...]) -> None:
            await self._handle(ctx, data, addr)

        self.receiver = DatagramReceiver(
            handle, workers=opts.workers, queue_size=opts.queue_size, logger=self.logger,
            receive_buffer_bytes=opts.receive_buffer_bytes,
            on_drop=lambda: count_problem(self, "dropped_datagrams"))
        self.bound_port = await self.receiver.start(opts.host, opts.port)
        self.logger.info("udp input listening on %s:%d", opts.host, self.bound_port)
        try:
            await ctx.wait_stopping()
        finally:
            await self.receiver.close()

    async def _handle(self, ctx: InputContext, data: bytes, addr: tuple[Any, ...]) -> None:
        data = data[:self.options.buffer_size]
        try:
            events = list(self._codec.decode(data))
            if self._whole_datagrams:
                events.extend(self._codec.flush())
        except (ValueError, UnicodeError) as exc:
            count_problem(self, "decode_failures")
            self.logger.warning("udp datagram from %s: codec %s failed: %s", addr[0], self._codec.name, exc)
            events = [Event({"message": data.decode("utf-8", "replace"), "tags": ["_udp_decode_failure"]})]
        decorate = self.own_decorator
        for event in events:
            if decorate is not None:
                decorate(event)
            self._annotate(event, addr[0])
        if events:
            self.counters["datagrams"] += 1
            await ctx.push_within_limit(events)  # a datagram of many lines or a JSON array

    def _annotate(self, event: Event, ip: str) -> None:
        if self._source_field is not None:
            if not self._source_field.includes(event.data):
                self._source_field.set(event.data, ip)
        elif self._ecs:
            host = event.data.setdefault("host", {})
            if isinstance(host, dict) and host.get("ip") is None:
                host["ip"] = ip
        elif event.data.get("host") is None:
            event.data["host"] = ip
