"""Connection options shared by the redis input and output (logstash-input/output-redis names), and connect().

TLS follows logstash-output-redis (its Ruby OpenSSL settings): the system's CAs plus
``ssl_certificate_authorities``, a client certificate with ``ssl_key`` (and ``ssl_key_passphrase``),
``ssl_supported_protocols`` bounding the versions and ``ssl_cipher_suites`` choosing the TLS 1.2 suites.
``command_map`` sends renamed commands (Redis ``rename-command``) under their new names.
"""

from __future__ import annotations

import ssl as ssl_module
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pipeline.errors import ConfigError
from pipeline.plugin import Duration, Secret, option

Protocol = Literal["TLSv1.1", "TLSv1.2", "TLSv1.3"]


@dataclass(frozen=True, kw_only=True)
class RedisConnectionOptions:
    port: int = option(6379, "Redis port (used for hosts given without one).")
    path: str | None = option(None, "Unix socket path; overrides host and port.")
    db: int = option(0, "Database number.")
    password: Secret | None = option(None, "Password (AUTH).")
    timeout: Duration = option(Duration(5), "Connection and command timeout.")
    ssl_certificate_authorities: list[Path] = option([], "CA certificates (PEM) trusted besides the system's.")
    ssl_certificate: Path | None = option(None, "Client certificate (PEM) for TLS client authentication.")
    ssl_key: Path | None = option(None, "Private key (PEM) of ssl_certificate.")
    # In logstash-output-redis's code (config :ssl_key_passphrase), missing from its docs' options table.
    ssl_key_passphrase: Secret | None = option(None, "Passphrase of an encrypted ssl_key.")
    ssl_verification_mode: Literal["full", "none"] = option("full", "full: verify the certificate and host name; none: no checks.")
    ssl_supported_protocols: list[Protocol] = option([], "TLS versions allowed (lowest to highest listed); "
                                                         "default: OpenSSL's (TLS 1.2 and 1.3).")
    ssl_cipher_suites: list[str] = option([], "TLS 1.2 cipher suites, IANA (TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) "
                                              "or OpenSSL names; TLS 1.3 keeps OpenSSL's suites.")
    command_map: dict[str, str] = option({}, "Renamed Redis commands, \"oldname\" => \"newname\" (rename-command "
                                             "in redis.conf).")

    @property
    def tls(self) -> bool:
        """Whether to connect with TLS (the input's ``ssl``, the output's ``ssl_enabled``)."""
        return False

    def __post_init__(self) -> None:
        # As logstash-output-redis's validate_ssl_config!
        if self.tls and self.ssl_certificate and not self.ssl_key:
            raise ConfigError("Using an `ssl_certificate` requires an `ssl_key`")
        if self.tls and self.ssl_key and not self.ssl_certificate:
            raise ConfigError("An `ssl_certificate` is required when using an `ssl_key`")

    def ignored_tls_settings(self) -> list[str]:
        """The ssl_* options set while TLS is off (Logstash warns about them)."""
        if self.tls:
            return []
        given = {"ssl_certificate_authorities": self.ssl_certificate_authorities, "ssl_certificate": self.ssl_certificate,
                 "ssl_key": self.ssl_key, "ssl_key_passphrase": self.ssl_key_passphrase,
                 "ssl_supported_protocols": self.ssl_supported_protocols, "ssl_cipher_suites": self.ssl_cipher_suites}
        return [name for name, value in given.items() if value]


def tls_context(opts: RedisConnectionOptions) -> ssl_module.SSLContext:
    """The client TLS context for ``opts``; ConfigError naming the file or setting at fault."""
    from pipeline.tls import PROTOCOLS, openssl_cipher_name

    context = ssl_module.create_default_context()  # the system's CAs, as Logstash's set_default_paths
    for authority in opts.ssl_certificate_authorities:
        try:
            context.load_verify_locations(cafile=str(authority))
        except (OSError, ssl_module.SSLError) as exc:
            raise ConfigError(f"ssl_certificate_authorities: cannot load {authority}: {exc}") from None
    if opts.ssl_certificate and opts.ssl_key:
        passphrase = opts.ssl_key_passphrase.reveal() if opts.ssl_key_passphrase else None
        try:
            context.load_cert_chain(str(opts.ssl_certificate), str(opts.ssl_key), password=passphrase)
        except (OSError, ssl_module.SSLError) as exc:
            raise ConfigError(f"cannot load ssl_certificate {opts.ssl_certificate} / ssl_key {opts.ssl_key}: "
                              f"{exc}") from None
    if opts.ssl_supported_protocols:
        versions = sorted(PROTOCOLS[p] for p in opts.ssl_supported_protocols)
        context.minimum_version, context.maximum_version = versions[0], versions[-1]
    # Ruby's OpenSSL `ciphers=` sets the TLS 1.2 list only; TLS 1.3 suites are not chosen there either.
    suites = [name for name in (openssl_cipher_name(s) for s in opts.ssl_cipher_suites) if name]
    if suites:
        try:
            context.set_ciphers(":".join(suites))
        except ssl_module.SSLError:
            raise ConfigError(f"ssl_cipher_suites: none of {opts.ssl_cipher_suites} is available in "
                              f"{ssl_module.OPENSSL_VERSION}") from None
    if opts.ssl_verification_mode == "none":
        context.check_hostname = False
        context.verify_mode = ssl_module.CERT_NONE
    return context


def connect(opts: RedisConnectionOptions, host: str, port: int | None = None) -> Any:
    """A redis-py client for one server; commands block at most ``timeout`` (reads may pass ``timeout``)."""
    import redis

    from pipeline.redis_hooks import hook_connections

    common: dict[str, Any] = {
        "db": opts.db, "password": opts.password.reveal() if opts.password else None,
        "socket_timeout": float(opts.timeout), "socket_connect_timeout": float(opts.timeout),
    }
    if opts.path:
        client = redis.Redis(unix_socket_path=opts.path, **common)
    else:
        client = redis.Redis(host=host, port=port or opts.port, **common)
    if opts.command_map or (opts.tls and not opts.path):
        hook_connections(client, opts.command_map, tls_context(opts) if opts.tls and not opts.path else None)
    return client


def renamed(opts: RedisConnectionOptions, command: str) -> str:
    """The name ``command`` has on the server (``command_map``), for Lua scripts that call it."""
    renames = {name.upper(): new for name, new in opts.command_map.items()}
    return renames.get(command.upper(), command)


def split_host(entry: str, default_port: int) -> tuple[str, int]:
    """``host`` or ``host:port`` (Logstash's output hosts list)."""
    host, sep, port = entry.rpartition(":")
    if sep and port.isdigit() and host:
        return host, int(port)
    return entry, default_port
