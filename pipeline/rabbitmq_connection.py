"""Connection options shared by the rabbitmq input and output (logstash-integration-rabbitmq's names).

Connections are pika ``BlockingConnection``s (AMQP 0-9-1); a failed connection is retried every
``connect_retry_interval`` seconds by the plugin using it.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Any, Literal

from pipeline.plugin import Secret, option

EXCHANGE_TYPES = ("fanout", "direct", "topic", "headers", "x-consistent-hash", "x-modulus-hash")


@dataclass(frozen=True, kw_only=True)
class RabbitmqConnectionOptions:
    host: list[str] = option(doc="Broker host (or hosts, tried in turn), optionally host:port.")
    port: int = option(5672, "AMQP port.")
    user: str = option("guest", "User.")
    password: Secret = option(Secret("guest"), "Password.")
    vhost: str = option("/", "Virtual host.")
    ssl: bool | None = option(None, "Use TLS.", aliases=("ssl_enabled",))
    ssl_version: str = option("TLSv1.2", "Accepted; the highest TLS version both sides know is used.")
    ssl_certificate_path: str | None = option(None, "Client certificate (PEM) for mutual TLS.")
    ssl_certificate_password: Secret | None = option(None, "Password of the client certificate's key.")
    verify_ssl: bool = option(False, "Verify the broker's certificate against the system CAs.")
    automatic_recovery: bool = option(True, "Reconnect after a broken connection (always done here).")
    connect_retry_interval: float = option(1, "Seconds between connection attempts.")
    connection_timeout: int | None = option(None, "Connection timeout in milliseconds.")
    heartbeat: int | None = option(None, "Heartbeat interval in seconds (broker's choice if unset).")
    passive: bool = option(False, "Only check that the queue/exchange exists instead of declaring it.")
    arguments: dict[str, Any] = option({}, 'Extra queue arguments, e.g. { "x-max-length" => 10000 }.')
    debug: bool = option(False, "Accepted; use --log.level debug.", deprecated="use --log.level debug")


def parameters(options: Any, attempt: int) -> Any:
    """pika ConnectionParameters for the attempt-th try (hosts are tried in turn)."""
    import pika

    host = options.host[attempt % len(options.host)]
    name, _, port = host.rpartition(":") if ":" in host and not host.endswith("]") else (host, "", "")
    kwargs: dict[str, Any] = {
        "host": name or host, "port": int(port) if port else options.port, "virtual_host": options.vhost,
        "credentials": pika.PlainCredentials(options.user, options.password.reveal()),
        "connection_attempts": 1, "client_properties": {"connection_name": "pipeline"},
    }
    if options.connection_timeout:
        kwargs["socket_timeout"] = kwargs["blocked_connection_timeout"] = options.connection_timeout / 1000
        kwargs["stack_timeout"] = options.connection_timeout / 1000
    if options.heartbeat is not None:
        kwargs["heartbeat"] = options.heartbeat
    if options.ssl:
        context = ssl.create_default_context()
        if not options.verify_ssl:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if options.ssl_certificate_path:
            password = options.ssl_certificate_password.reveal() if options.ssl_certificate_password else None
            context.load_cert_chain(options.ssl_certificate_path, password=password)
        kwargs["ssl_options"] = pika.SSLOptions(context, kwargs["host"])
    return pika.ConnectionParameters(**kwargs)


def describe(options: Any) -> str:
    """amqp://user@host:port/vhost, as Logstash's conn_str (no password)."""
    return f"amqp://{options.user}@{options.host[0]}:{options.port}{options.vhost}"


def connection_errors() -> tuple[type[BaseException], ...]:
    import pika.exceptions

    return (pika.exceptions.AMQPError, OSError)


ExchangeType = Literal["fanout", "direct", "topic", "headers", "x-consistent-hash", "x-modulus-hash"]
