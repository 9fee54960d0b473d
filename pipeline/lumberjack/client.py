"""A small blocking Lumberjack v2 client, shaped like Filebeat's (go-lumber).

Sends windows of JSON events (zlib compressed by default), optionally several
windows in flight, and reads the acks in order; ``ACK 0`` keepalives are
counted and skipped as go-lumber does.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterable, Mapping
from typing import Any

from pipeline.lumberjack.frames import ACK, FrameParser, ProtocolError, encode_window_frames


class LumberjackClient:
    def __init__(self, host: str, port: int, *, timeout: float = 30.0,
                 ssl_context: ssl.SSLContext | None = None, server_hostname: str | None = None,
                 compress_level: int | None = 3) -> None:
        self.compress_level = compress_level
        self.keepalives = 0
        self._next_seq = 1
        self._parser = FrameParser(accept=(ACK,))
        self._acks: list[int] = []
        raw = socket.create_connection((host, port), timeout=timeout)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock: socket.socket = (
            ssl_context.wrap_socket(raw, server_hostname=server_hostname or host) if ssl_context else raw)

    def __enter__(self) -> LumberjackClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def write_window(self, events: Iterable[bytes | Mapping[str, Any]],
                     continue_seq: bool = False) -> int:
        """Send one window; return the ack sequence it expects. Sequence numbers
        restart at 1 per window (go-lumber) unless ``continue_seq`` (pylogbeat)."""
        start = self._next_seq if continue_seq else 1
        data, last = encode_window_frames(events, start, self.compress_level)
        self.sock.sendall(data)
        self._next_seq = last + 1
        return last

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_ack(self) -> int:
        """The next non-keepalive ack; ConnectionError if the server closes first."""
        while not self._acks:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection before acking")
            for _kind, _version, seq, _ in self._parser.feed(chunk):
                if seq == 0:
                    self.keepalives += 1
                else:
                    self._acks.append(seq)
        return self._acks.pop(0)

    def send(self, events: Iterable[bytes | Mapping[str, Any]], continue_seq: bool = False) -> int:
        """Send one window and wait for its ack; return the acked sequence."""
        expected = self.write_window(events, continue_seq)
        got = self.read_ack()
        if got != expected:
            raise ProtocolError("bad_ack", f"expected ack {expected}, got {got}")
        return got
