"""TLS for the beats input: the server SSLContext and the peer's metadata."""

from __future__ import annotations

import re
import ssl
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigError
from pipeline.inputs.beats.events import FieldNames, set_path

PROTOCOLS = {
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}


def openssl_cipher_name(name: str) -> str | None:
    """OpenSSL's name for a Java/IANA suite name (``TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384``
    → ``ECDHE-RSA-AES256-GCM-SHA384``); None for TLS 1.3 suites, which OpenSSL
    configures separately; OpenSSL names pass through."""
    upper = name.strip().upper()
    if "_WITH_" not in upper:
        return None if upper.startswith("TLS_") else name.strip()
    exchange, cipher = upper.removeprefix("TLS_").split("_WITH_", 1)
    cipher = re.sub(r"^AES_(128|256)_GCM_", r"AES\1-GCM-", cipher)
    cipher = re.sub(r"^AES_(128|256)_CBC_", r"AES\1-", cipher)
    cipher = cipher.replace("CHACHA20_POLY1305_SHA256", "CHACHA20-POLY1305")
    return f"{exchange.replace('_', '-')}-{cipher.replace('_', '-')}"


def server_context(*, certificate: Path, key: Path, passphrase: str | None, authorities: Sequence[Path],
                   client_authentication: str, protocols: Sequence[str],
                   cipher_suites: Sequence[str]) -> ssl.SSLContext:
    """Build the server context; ConfigError with the file or setting at fault."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(str(certificate), str(key), password=passphrase)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot load ssl_certificate {certificate} / ssl_key {key}: {exc}") from None
    wanted = sorted(PROTOCOLS[p] for p in protocols)
    context.minimum_version = wanted[0]
    context.maximum_version = wanted[-1]
    openssl_names = [n for n in (openssl_cipher_name(s) for s in cipher_suites) if n]
    if openssl_names:
        try:
            context.set_ciphers(":".join(openssl_names))
        except ssl.SSLError:
            raise ConfigError(f"ssl_cipher_suites: none of {list(cipher_suites)} is available") from None
    if client_authentication != "none":
        for authority in authorities:
            # A directory: every certificate file in it (no c_rehash links needed).
            files = sorted(p for p in authority.iterdir() if p.is_file()) if authority.is_dir() else [authority]
            for path in files:
                try:
                    context.load_verify_locations(cafile=str(path))
                except (OSError, ssl.SSLError) as exc:
                    raise ConfigError(f"cannot load ssl_certificate_authorities {path}: {exc}") from None
        context.verify_mode = ssl.CERT_REQUIRED if client_authentication == "required" else ssl.CERT_OPTIONAL
    return context


def rfc2253_subject(cert: dict[str, Any]) -> str:
    """``CN=client,O=Example`` from ``getpeercert()``'s subject (most specific first, like Java)."""
    parts = []
    for rdn in reversed(cert.get("subject", ())):
        parts.append("+".join(f"{_SHORT.get(k, k)}={v}" for k, v in rdn))
    return ",".join(parts)


_SHORT = {"commonName": "CN", "organizationName": "O", "organizationalUnitName": "OU", "countryName": "C",
          "stateOrProvinceName": "ST", "localityName": "L", "emailAddress": "EMAILADDRESS",
          "domainComponent": "DC", "streetAddress": "STREET"}


def peer_metadata(ssl_object: Any, fields: FieldNames) -> Callable[[dict[str, Any]], None]:
    """A function adding ``[@metadata][tls_peer]`` and the TLS details to a payload."""
    cert = ssl_object.getpeercert() if ssl_object is not None else None
    if not cert:
        def unverified(payload: dict[str, Any]) -> None:
            set_path(payload, ("@metadata", "tls_peer"), {"status": "unverified"})
        return unverified
    protocol = ssl_object.version()
    cipher = (ssl_object.cipher() or ("",))[0]
    subject = rfc2253_subject(cert)

    def verified(payload: dict[str, Any]) -> None:
        set_path(payload, ("@metadata", "tls_peer"), {"status": "verified"})
        set_path(payload, fields.tls_protocol, protocol)
        set_path(payload, fields.tls_subject, subject)
        set_path(payload, fields.tls_cipher, cipher)
    return verified
