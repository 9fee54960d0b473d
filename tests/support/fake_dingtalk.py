"""A local HTTP server answering like DingTalk and WeCom group robots, and like any webhook.

    with FakeChatServer(dingtalk_token="tok", dingtalk_secret="SEC123", keyword="告警") as chat:
        ... post to chat.dingtalk_url / chat.wecom_url / chat.webhook_url("/hook") ...
        chat.received  # [Received(kind="dingtalk", body={...}, ...)]

DingTalk (``POST /robot/send?access_token=..[&timestamp=..&sign=..]``): the
signature is checked with the documented algorithm (HMAC-SHA256 of
``timestamp + "\\n" + secret`` keyed by the secret, base64, URL-encoded; the
timestamp within one hour); a bad token, signature or missing keyword answers
HTTP 200 with ``errcode 310000`` as DingTalk does; more than ``rate_limit``
messages within a minute answer ``errcode 90030``. ``script("dingtalk", [...])``
queues errcodes for the next requests. WeCom (``POST /cgi-bin/webhook/send?key=..``)
answers ``errcode 0`` or ``93000`` for a bad key. Other paths record the request
and answer ``webhook_status`` (200).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

ERRMSG = {0: "ok", 310000: "sign not match", 90030: "send too fast, exceed 20 times per minute",
          93000: "invalid webhook url", 45009: "api freq out of limit"}


@dataclass
class Received:
    kind: str                       # dingtalk, wecom or webhook
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    raw: bytes
    answer: dict[str, Any] | None = None

    @property
    def body(self) -> Any:
        try:
            return json.loads(self.raw)
        except ValueError:
            return self.raw.decode("utf-8", "replace")


@dataclass
class FakeChatServer:
    dingtalk_token: str = "dingtoken"
    dingtalk_secret: str | None = None
    keyword: str | None = None
    wecom_key: str = "wecomkey"
    rate_limit: int = 20
    webhook_status: int = 200
    received: list[Received] = field(default_factory=list)
    _scripts: dict[str, deque[int]] = field(default_factory=dict)
    _sent_times: deque[float] = field(default_factory=deque)

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle ----------------------------------------------------------
    def __enter__(self) -> FakeChatServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, answer = server.handle(self.command, self.path, dict(self.headers), raw)
                data = json.dumps(answer, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_POST = do_PUT = do_GET = do_PATCH = _any

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def dingtalk_url(self) -> str:
        return f"{self.url}/robot/send"

    @property
    def wecom_url(self) -> str:
        return f"{self.url}/cgi-bin/webhook/send"

    def webhook_url(self, path: str = "/hook") -> str:
        return f"{self.url}{path}"

    def script(self, kind: str, errcodes: list[int]) -> None:
        """Answer the next requests of ``kind`` with these errcodes (then normally)."""
        with self.lock:
            self._scripts.setdefault(kind, deque()).extend(errcodes)

    def of(self, kind: str) -> list[Received]:
        return [r for r in self.received if r.kind == kind]

    # -- behaviour ----------------------------------------------------------
    def handle(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, Any]]:
        parts = urlsplit(target)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path == "/robot/send":
            kind = "dingtalk"
        elif parts.path == "/cgi-bin/webhook/send":
            kind = "wecom"
        else:
            kind = "webhook"
        record = Received(kind, method, parts.path, query, headers, raw)
        with self.lock:
            self.received.append(record)
            scripted = self._scripts.get(kind)
            forced = scripted.popleft() if scripted else None
        if kind == "webhook":
            record.answer = {"ok": self.webhook_status < 400}
            return self.webhook_status, record.answer
        code = forced if forced is not None else (self._dingtalk(query, record) if kind == "dingtalk"
                                                  else self._wecom(query))
        record.answer = {"errcode": code, "errmsg": ERRMSG.get(code, "error")}
        return 200, record.answer

    def _dingtalk(self, query: dict[str, str], record: Received) -> int:
        if query.get("access_token") != self.dingtalk_token:
            return 310000
        if self.dingtalk_secret is not None and not self.signature_ok(query):
            return 310000
        body = record.body
        if not isinstance(body, dict) or body.get("msgtype") not in ("text", "markdown", "actionCard", "link",
                                                                    "feedCard"):
            return 40035
        if self.keyword and self.keyword not in json.dumps(body, ensure_ascii=False):
            return 310000
        now = time.monotonic()
        with self.lock:
            while self._sent_times and now - self._sent_times[0] > 60:
                self._sent_times.popleft()
            if len(self._sent_times) >= self.rate_limit:
                return 90030
            self._sent_times.append(now)
        return 0

    def signature_ok(self, query: dict[str, str]) -> bool:
        stamp, sign = query.get("timestamp", ""), query.get("sign")
        if not stamp.isdigit() or sign is None or abs(time.time() * 1000 - int(stamp)) > 3600_000:
            return False
        assert self.dingtalk_secret is not None
        digest = hmac.new(self.dingtalk_secret.encode(), f"{stamp}\n{self.dingtalk_secret}".encode(),
                          hashlib.sha256).digest()
        # parse_qs URL-decoded the sign once: an unencoded "+" would have become " " and fail here.
        return hmac.compare_digest(base64.b64encode(digest).decode(), sign)

    def _wecom(self, query: dict[str, str]) -> int:
        return 0 if query.get("key") == self.wecom_key else 93000
