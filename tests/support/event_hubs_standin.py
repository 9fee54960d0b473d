"""A small Event Hubs service speaking AMQP 1.0 (qpid-proton), for driving the real azure-eventhub SDK in tests.

The Event Hubs emulator is Docker-only; this serves what the SDK's consumer uses, as the real service does:

* SASL ANONYMOUS, then a CBS put-token request on ``$cbs`` (every token accepted, status-code 200);
* the ``$management`` node: READ of ``com.microsoft:eventhub`` (name, created_at, partition_ids) and of
  ``com.microsoft:partition`` (sequence numbers, last offset, emptiness);
* receive links on ``<hub>/ConsumerGroups/<group>/Partitions/<n>`` whose ``apache.org:selector-filter:string``
  (``amqp.annotation.x-opt-offset > '12'``, ``...x-opt-sequence-number >= '3'``, ``...x-opt-enqueued-time > 'ms'``,
  ``'-1'`` the start, ``'@latest'`` the end) says where to start; messages carry the message annotations
  x-opt-offset, x-opt-sequence-number, x-opt-enqueued-time and x-opt-partition-key, and are sent while the
  link has credit.

The SDK reaches it through a connection string with ``UseDevelopmentEmulator=true`` (plain AMQP on the
Endpoint's port, as with Microsoft's emulator). Nothing in the SDK is patched.

One wire detail: AMQP lets a peer leave out a performative's trailing empty fields, and proton does, but the
SDK's own AMQP stack reads Open/Begin/Attach/Flow/Transfer fields by position (it would fail with IndexError
on a proton Begin: proton cannot even set session properties). The real service sends every field, so a
small relay in front of proton re-adds the left-out fields as explicit nulls (the same AMQP meaning).
Proton's "amqp:not-allowed: no such channel: 1" errors at a client's close are the SDK's: it sends Detach
frames on a session after its End frame (seen in its network trace), on a connection it is closing anyway.
"""

from __future__ import annotations

import re
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from proton import Message, symbol
from proton.handlers import MessagingHandler
from proton.reactor import Container

SELECTOR = re.compile(r"amqp\.annotation\.(x-opt-offset|x-opt-sequence-number|x-opt-enqueued-time)\s*(>=|>)\s*'([^']*)'")
PARTITION_ADDRESS = re.compile(r"(?:amqps?://[^/]+/)?([^/]+)/ConsumerGroups/([^/]+)/Partitions/(\d+)$")
SELECTOR_KEY = symbol("apache.org:selector-filter:string")


@dataclass
class StoredEvent:
    body: bytes
    sequence: int
    offset: int
    enqueued_ms: int
    properties: dict[str, Any]
    partition_key: str | None


@dataclass
class Partition:
    events: list[StoredEvent] = field(default_factory=list)
    next_offset: int = 0


@dataclass
class _Reader:
    """One attached receive link and the index of the next event it gets."""

    link: Any
    hub: str
    partition: str
    next_index: int


# Field count of each performative (AMQP 1.0 section 2.7), by descriptor code.
PERFORMATIVE_FIELDS = {0x10: 10, 0x11: 8, 0x12: 14, 0x13: 11, 0x14: 11, 0x15: 6, 0x16: 3, 0x17: 1, 0x18: 1}


def pad_performative(frame: bytes) -> bytes:
    """An AMQP frame with its performative's left-out trailing fields written as nulls; other frames unchanged."""
    doff = frame[4] * 4
    if frame[5] != 0 or len(frame) <= doff + 3 or frame[doff:doff + 2] != b"\x00\x53":
        return frame  # a SASL frame, a heartbeat, or a descriptor form proton does not use
    code = frame[doff + 2]
    wanted = PERFORMATIVE_FIELDS.get(code)
    at = doff + 3
    constructor = frame[at]
    if wanted is None:
        return frame
    if constructor == 0x45:  # list0
        count, elements, end = 0, b"", at + 1
    elif constructor == 0xC0:  # list8: size, count
        size, count = frame[at + 1], frame[at + 2]
        elements, end = frame[at + 3:at + 2 + size], at + 2 + size
    elif constructor == 0xD0:  # list32
        size, count = int.from_bytes(frame[at + 1:at + 5], "big"), int.from_bytes(frame[at + 5:at + 9], "big")
        elements, end = frame[at + 9:at + 5 + size], at + 5 + size
    else:
        return frame
    if count >= wanted:
        return frame
    elements += b"\x40" * (wanted - count)
    body = (frame[doff:at] + b"\xd0" + (4 + len(elements)).to_bytes(4, "big") + wanted.to_bytes(4, "big")
            + elements + frame[end:])
    header = frame[4:doff]
    return (4 + len(header) + len(body)).to_bytes(4, "big") + header + body


class _Relay:
    """Accepts the SDK's connections on ``port`` and relays them to proton on ``upstream``, padding frames."""

    def __init__(self, port: int, upstream: int) -> None:
        self.server = socket.create_server(("127.0.0.1", port))
        self.upstream = upstream
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, name="event-hubs-relay", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            try:
                service = socket.create_connection(("127.0.0.1", self.upstream))
            except OSError:
                client.close()
                continue
            self.sockets += [client, service]
            threading.Thread(target=self._copy, args=(client, service), daemon=True).start()
            threading.Thread(target=self._pad, args=(service, client), daemon=True).start()

    @staticmethod
    def _copy(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            _close(sink)

    @staticmethod
    def _pad(source: socket.socket, sink: socket.socket) -> None:
        buffer = b""
        try:
            while data := source.recv(65536):
                buffer += data
                out = []
                while True:
                    if buffer[:4] == b"AMQP" and len(buffer) >= 8:  # a protocol header
                        out.append(buffer[:8])
                        buffer = buffer[8:]
                        continue
                    if len(buffer) < 8:
                        break
                    size = int.from_bytes(buffer[:4], "big")
                    if len(buffer) < size:
                        break
                    out.append(pad_performative(buffer[:size]))
                    buffer = buffer[size:]
                sink.sendall(b"".join(out))
        except OSError:
            pass
        finally:
            _close(sink)

    def close(self) -> None:
        self.server.close()
        for sock in self.sockets:
            _close(sock)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


class EventHubsStandIn:
    """Holds Event Hubs (name → partitions) and serves them on 127.0.0.1:<port> from a proton thread."""

    def __init__(self) -> None:
        self.hubs: dict[str, dict[str, Partition]] = {}
        self.lock = threading.Lock()
        self.port = _free_port()  # where the SDK connects (the relay)
        self.proton_port = _free_port()
        self.attaches: list[str] = []  # the source filters receive links asked for (tests check resumption)
        self.put_tokens = 0
        self._handler = _Handler(self)
        self._container = Container(self._handler)
        self._thread = threading.Thread(target=self._container.run, name="event-hubs-standin", daemon=True)

    # -- test API -----------------------------------------------------------------------------------
    def start(self) -> EventHubsStandIn:
        self._thread.start()
        if self._handler.listening.wait(10):
            self._relay = _Relay(self.port, self.proton_port)
            return self
        raise RuntimeError(f"the Event Hubs stand-in did not listen on 127.0.0.1:{self.port}")

    def stop(self) -> None:
        self._handler.stopping = True
        self._thread.join(timeout=10)
        self._relay.close()

    def create_hub(self, name: str, partitions: int = 2) -> None:
        with self.lock:
            self.hubs[name] = {str(n): Partition() for n in range(partitions)}

    def send(self, hub: str, body: bytes | str, partition: str = "0", properties: dict[str, Any] | None = None,
             partition_key: str | None = None, enqueued_ms: int | None = None) -> StoredEvent:
        """Enqueue one event (``enqueued_ms``: its enqueued time, default now, in ms since the epoch)."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        with self.lock:
            stored = self.hubs[hub][partition]
            enqueued = int(time.time() * 1000) if enqueued_ms is None else enqueued_ms
            event = StoredEvent(data, len(stored.events), stored.next_offset, enqueued, dict(properties or {}),
                                partition_key)
            stored.events.append(event)
            stored.next_offset += len(data) + 100  # offsets are byte positions in the real service: not dense
            return event

    def connection_string(self, hub: str | None = None, key: str = "c2VjcmV0") -> str:
        entity = f";EntityPath={hub}" if hub else ""
        return (f"Endpoint=sb://127.0.0.1:{self.port}/;SharedAccessKeyName=RootManageSharedAccessKey;"
                f"SharedAccessKey={key}{entity};UseDevelopmentEmulator=true")

    # -- service side -------------------------------------------------------------------------------
    def start_index(self, hub: str, partition: str, selector: str | None) -> int:
        """The index of the first event a receive link with this selector gets."""
        with self.lock:
            events = self.hubs[hub][partition].events
            if not selector:
                return 0
            match = SELECTOR.search(selector)
            if match is None:
                raise ValueError(f"unsupported selector {selector!r}")
            kind, operator, value = match.groups()
            if value == "-1":
                return 0
            if value == "@latest":
                return len(events)
            number = int(value)
            key = {"x-opt-offset": lambda e: e.offset, "x-opt-sequence-number": lambda e: e.sequence,
                   "x-opt-enqueued-time": lambda e: e.enqueued_ms}[kind]
            for index, event in enumerate(events):
                if key(event) > number or (operator == ">=" and key(event) == number):
                    return index
            return len(events)

    def hub_properties(self, name: str) -> dict[str, Any]:
        with self.lock:
            return {"name": name, "created_at": int(time.time() * 1000) - 60000,
                    "partition_count": len(self.hubs[name]), "partition_ids": list(self.hubs[name])}

    def partition_properties(self, name: str, partition: str) -> dict[str, Any]:
        with self.lock:
            events = self.hubs[name][partition].events
            last = events[-1] if events else None
            return {"name": name, "partition": partition, "begin_sequence_number": 0,
                    "last_enqueued_sequence_number": last.sequence if last else -1,
                    "last_enqueued_offset": str(last.offset if last else -1),
                    "last_enqueued_time_utc": last.enqueued_ms if last else 0,
                    "is_partition_empty": last is None}


class _Handler(MessagingHandler):
    def __init__(self, service: EventHubsStandIn) -> None:
        super().__init__(prefetch=100, auto_accept=True)
        self.service = service
        self.readers: list[_Reader] = []
        self.stopping = False
        self.listening = threading.Event()

    def on_start(self, event: Any) -> None:
        self.acceptor = event.container.listen(f"127.0.0.1:{self.service.proton_port}")
        self.listening.set()
        event.container.schedule(0.02, self)

    def on_timer_task(self, event: Any) -> None:
        if self.stopping:
            self.acceptor.close()
            for reader in self.readers:
                reader.link.connection.close()
            event.container.stop()
            return
        self._deliver()
        event.container.schedule(0.02, self)

    def on_connection_opening(self, event: Any) -> None:
        # The SDK reads the Open frame's fields by position up to properties (the last): proton leaves out
        # trailing empty fields, so give it properties, as the service does.
        event.connection.properties = {symbol("product"): "event-hubs-standin"}
        event.connection.offered_capabilities = [symbol("ANONYMOUS-RELAY")]

    def on_link_opening(self, event: Any) -> None:
        link = event.link
        if link.is_sender:
            address = link.remote_source.address or ""
            link.source.copy(link.remote_source)
            link.target.copy(link.remote_target)
            match = PARTITION_ADDRESS.search(address)
            if match:
                hub, _group, partition = match.groups()
                selector = _selector(link.remote_source)
                if hub not in self.service.hubs or partition not in self.service.hubs[hub]:
                    link.condition = _condition("amqp:not-found", f"The messaging entity '{address}' could not be found.")
                    link.close()
                    return
                self.service.attaches.append(selector or "")
                start = self.service.start_index(hub, partition, selector)
                self.readers.append(_Reader(link, hub, partition, start))
        else:
            link.target.copy(link.remote_target)
            link.source.copy(link.remote_source)

    def on_link_closing(self, event: Any) -> None:
        self.readers = [r for r in self.readers if r.link is not event.link]

    def on_connection_closing(self, event: Any) -> None:
        self.readers = [r for r in self.readers if r.link.connection is not event.connection]

    def on_disconnected(self, event: Any) -> None:
        self.readers = [r for r in self.readers if r.link.connection is not event.connection]

    def on_message(self, event: Any) -> None:
        """A request on $cbs or $management: answer on the node's sender link of that connection."""
        request = event.message
        node = event.link.remote_target.address or ""
        props = request.properties or {}
        if node == "$cbs":
            self.service.put_tokens += 1
            reply = {"status-code": 200, "status-description": "OK"}
            body = None
        elif node == "$management":
            reply, body = self._management(props)
        else:
            return
        response = Message(body=body, properties=reply, correlation_id=request.id, address=request.reply_to)
        link = event.connection.link_head(0)
        while link is not None:
            if link.is_sender and link.source.address == node and link.state & link.LOCAL_ACTIVE:
                link.send(response)
                return
            link = link.next(0)

    def _management(self, props: dict[str, Any]) -> tuple[dict[str, Any], Any]:
        name = str(props.get("name", ""))
        if name not in self.service.hubs:
            return {"status-code": 404, "status-description": f"The messaging entity '{name}' could not be found."}, None
        if props.get("type") == "com.microsoft:eventhub":
            return {"status-code": 200}, _symbols_out(self.service.hub_properties(name))
        partition = str(props.get("partition", ""))
        if props.get("type") == "com.microsoft:partition" and partition in self.service.hubs[name]:
            return {"status-code": 200}, _symbols_out(self.service.partition_properties(name, partition))
        return {"status-code": 400, "status-description": f"unsupported management request {props!r}"}, None

    def _deliver(self) -> None:
        for reader in list(self.readers):
            link = reader.link
            if not link.state & link.LOCAL_ACTIVE:
                continue
            while link.credit > 0:
                with self.service.lock:
                    events = self.service.hubs[reader.hub][reader.partition].events
                    if reader.next_index >= len(events):
                        break
                    stored = events[reader.next_index]
                reader.next_index += 1
                annotations: dict[Any, Any] = {
                    symbol("x-opt-offset"): str(stored.offset),
                    symbol("x-opt-sequence-number"): stored.sequence,
                    symbol("x-opt-enqueued-time"): _Timestamp(stored.enqueued_ms),
                }
                if stored.partition_key is not None:
                    annotations[symbol("x-opt-partition-key")] = stored.partition_key
                message = Message(body=stored.body, properties=stored.properties or None, annotations=annotations,
                                  id=str(uuid.uuid4()))
                message.inferred = True  # bytes as an AMQP data section, as the service sends event bodies
                link.send(message)


def _Timestamp(ms: int) -> Any:
    from proton import timestamp

    return timestamp(ms)


def _selector(source: Any) -> str | None:
    data = source.filter
    data.rewind()
    filters = data.get_object() if data.next() is not None else None
    if not filters:
        return None
    value = filters.get(SELECTOR_KEY)
    if value is None:
        return None
    described = getattr(value, "value", value)  # a described type: (descriptor, the selector string)
    return described.decode() if isinstance(described, bytes) else str(described)


def _symbols_out(values: dict[str, Any]) -> dict[Any, Any]:
    """A management response body: a map of string keys; partition ids as a string array."""
    out: dict[Any, Any] = {}
    for key, value in values.items():
        if key == "partition_ids":
            from proton import UNDESCRIBED, Array, Data

            value = Array(UNDESCRIBED, Data.STRING, *value)
        elif key in ("created_at",):
            value = _Timestamp(value)
        elif isinstance(value, int) and not isinstance(value, bool) and key != "partition_count":
            value = int(value)
        out[key] = value
    return out


def _condition(name: str, description: str) -> Any:
    from proton import Condition

    return Condition(name, description)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


__all__ = ["EventHubsStandIn", "StoredEvent", "pad_performative"]
