"""Connection options shared by the redis input and output (logstash-input/output-redis names), and connect()."""

from __future__ import annotations

import ssl as ssl_module
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pipeline.plugin import Duration, Secret, option


@dataclass(frozen=True, kw_only=True)
class RedisConnectionOptions:
    port: int = option(6379, "Redis port (used for hosts given without one).")
    path: str | None = option(None, "Unix socket path; overrides host and port.")
    db: int = option(0, "Database number.")
    password: Secret | None = option(None, "Password (AUTH).")
    timeout: Duration = option(Duration(5), "Connection and command timeout.")
    ssl: bool = option(False, "Connect with TLS.")
    ssl_certificate_authorities: list[Path] = option([], "CA certificates (PEM) to verify the server with TLS.")
    ssl_certificate: Path | None = option(None, "Client certificate (PEM) for TLS client authentication.")
    ssl_key: Path | None = option(None, "Private key (PEM) of ssl_certificate.")
    ssl_verification_mode: Literal["full", "none"] = option("full", "full: verify the certificate and host name; none: no checks.")
    command_map: dict[str, str] = option({}, "Renamed Redis commands: has no effect here (logged when set).")


def connect(opts: RedisConnectionOptions, host: str, port: int | None = None) -> Any:
    """A redis-py client for one server; commands block at most ``timeout`` (reads may pass ``timeout``)."""
    import redis

    common: dict[str, Any] = {
        "db": opts.db, "password": opts.password.reveal() if opts.password else None,
        "socket_timeout": float(opts.timeout), "socket_connect_timeout": float(opts.timeout),
    }
    if opts.path:
        return redis.Redis(unix_socket_path=opts.path, **common)
    if opts.ssl:
        common.update({
            "ssl": True,
            "ssl_cert_reqs": ssl_module.CERT_REQUIRED if opts.ssl_verification_mode == "full" else ssl_module.CERT_NONE,
            "ssl_check_hostname": opts.ssl_verification_mode == "full",
            "ssl_ca_certs": str(opts.ssl_certificate_authorities[0]) if opts.ssl_certificate_authorities else None,
            "ssl_certfile": str(opts.ssl_certificate) if opts.ssl_certificate else None,
            "ssl_keyfile": str(opts.ssl_key) if opts.ssl_key else None,
        })
    return redis.Redis(host=host, port=port or opts.port, **common)


def split_host(entry: str, default_port: int) -> tuple[str, int]:
    """``host`` or ``host:port`` (Logstash's output hosts list)."""
    host, sep, port = entry.rpartition(":")
    if sep and port.isdigit() and host:
        return host, int(port)
    return entry, default_port
