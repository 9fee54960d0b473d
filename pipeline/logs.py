"""Logging of the pipeline itself: plain or JSON lines, secrets masked, per-event warnings rate-limited."""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
from typing import Any

from pipeline import serde

_SECRET = re.compile(
    r"(?i)((?:password|passwd|secret|token|api_key|access_token|authorization)[\"']?\s*(?:=>|[:=])\s*[\"']?)"
    r"([^\s\"',}]+)"
)
_URL_CREDENTIALS = re.compile(r"(://[^:/@\s]+:)([^@\s]+)(@)")
# An Authorization header's value is a scheme then the credentials: both go, or the base64 stays.
_AUTHORIZATION = re.compile(
    r"(?i)((?:proxy-)?authorization[\"']?\s*(?:=>|[:=])\s*[\"']?)"
    r"((?:Basic|Bearer|Digest|ApiKey|Token|Negotiate|NTLM|AWS4-HMAC-SHA256)\s+)?([^\s\"',}]+)")


def mask_secrets(text: str) -> str:
    """Hide passwords and tokens in a log line (key=value forms and user:pass@ in URLs)."""
    text = _AUTHORIZATION.sub(lambda m: m.group(1) + (m.group(2) or "") + "******", text)
    text = _SECRET.sub(lambda m: m.group(1) + "******", text)
    return _URL_CREDENTIALS.sub(lambda m: m.group(1) + "******" + m.group(3), text)


class _MaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_secrets(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "@timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "log.level": record.levelname,
            "log.logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["error.stack_trace"] = self.formatException(record.exc_info)
        return serde.dumps_str(entry)


def configure(level: str = "info", fmt: str = "plain", stream: Any = None) -> None:
    """Set up the root logger once for the command line."""
    handler = logging.StreamHandler(stream or sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("[%(asctime)s][%(levelname)-5s][%(name)s] %(message)s"))
    handler.addFilter(_MaskingFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(_LEVELS.get(level.lower(), logging.INFO))


_LEVELS = {"trace": logging.DEBUG, "debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING,
           "warning": logging.WARNING, "error": logging.ERROR, "fatal": logging.CRITICAL}


class RateLimitedLogger:
    """Logs a message per key at most once per ``interval`` seconds, counting what it held back."""

    def __init__(self, logger: logging.Logger, interval: float = 10.0) -> None:
        self.logger = logger
        self.interval = interval
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}
        self._lock = threading.Lock()

    def log(self, level: int, key: str, message: str, *args: Any, exc_info: Any = None) -> None:
        now = time.monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.interval:
                self._suppressed[key] = self._suppressed.get(key, 0) + 1
                return
            self._last[key] = now
            held = self._suppressed.pop(key, 0)
        if held:
            message += f" ({held} similar messages suppressed in the last {self.interval:.0f}s)"
        self.logger.log(level, message, *args, exc_info=exc_info)

    def warning(self, key: str, message: str, *args: Any, exc_info: Any = None) -> None:
        self.log(logging.WARNING, key, message, *args, exc_info=exc_info)

    def error(self, key: str, message: str, *args: Any, exc_info: Any = None) -> None:
        self.log(logging.ERROR, key, message, *args, exc_info=exc_info)
