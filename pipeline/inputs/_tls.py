"""Server-side TLS options shared by the tcp and http inputs (same names as beats)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pipeline.inputs.base import InputOptions
from pipeline.plugin import Secret, option


@dataclass(frozen=True, kw_only=True)
class TlsServerOptions(InputOptions):
    ssl_enabled: bool = option(False, "Accept TLS connections only (needs ssl_certificate and ssl_key).",
                               aliases=("ssl_enable", "ssl"))
    ssl_certificate: Path | None = option(None, "PEM certificate (chain) of this server.", aliases=("ssl_cert",))
    ssl_key: Path | None = option(None, "PEM private key of ssl_certificate.")
    ssl_key_passphrase: Secret | None = option(None, "Passphrase of an encrypted ssl_key.")
    ssl_certificate_authorities: list[Path] = option(
        [], "PEM CA files (or directories) that client certificates are checked against.")
    ssl_client_authentication: Literal["none", "optional", "required"] = option(
        "none", "Ask clients for a certificate: none, optional (checked if sent) or required.")
    ssl_supported_protocols: list[Literal["TLSv1.1", "TLSv1.2", "TLSv1.3"]] = option(
        ["TLSv1.2", "TLSv1.3"], "TLS versions accepted.")
    ssl_cipher_suites: list[str] = option([], "Cipher suites (IANA or OpenSSL names); default: OpenSSL's.")

    def __post_init__(self) -> None:
        if not self.ssl_enabled:
            return
        if self.ssl_certificate is None or self.ssl_key is None:
            raise ValueError("ssl_enabled => true needs both ssl_certificate and ssl_key")
        if self.ssl_client_authentication != "none" and not self.ssl_certificate_authorities:
            raise ValueError(f"ssl_client_authentication => {self.ssl_client_authentication} needs "
                             "ssl_certificate_authorities")


def server_ssl_context(opts: Any) -> ssl.SSLContext | None:
    """The SSLContext for ``opts`` (a TlsServerOptions), None when TLS is off; ConfigError on bad files."""
    if not opts.ssl_enabled:
        return None
    # One implementation of context building for every input (beats owns it; same option names).
    from pipeline.inputs.beats.tls import server_context

    passphrase = opts.ssl_key_passphrase.reveal() if opts.ssl_key_passphrase is not None else None
    return server_context(
        certificate=opts.ssl_certificate, key=opts.ssl_key, passphrase=passphrase,
        authorities=opts.ssl_certificate_authorities, client_authentication=opts.ssl_client_authentication,
        protocols=opts.ssl_supported_protocols, cipher_suites=opts.ssl_cipher_suites,
    )


def peer_subject(ssl_object: Any) -> str | None:
    """The client certificate's subject as ``CN=client,O=Example``, None without one."""
    if ssl_object is None:
        return None
    cert = ssl_object.getpeercert()
    if not cert:
        return None
    parts = []
    for rdn in reversed(cert.get("subject", ())):
        parts.append("+".join(f"{_SHORT.get(k, k)}={v}" for k, v in rdn))
    return ",".join(parts)


_SHORT = {"commonName": "CN", "organizationName": "O", "organizationalUnitName": "OU", "countryName": "C",
          "stateOrProvinceName": "ST", "localityName": "L", "emailAddress": "EMAILADDRESS"}
