"""Server-side TLS shared by the beats, tcp and http inputs: the options (same names everywhere) and the SSLContext."""

from __future__ import annotations

import re
import ssl
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pipeline.errors import ConfigError
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


def server_ssl_context(opts: Any) -> ssl.SSLContext | None:
    """The SSLContext for ``opts`` (a TlsServerOptions), None when TLS is off; ConfigError on bad files."""
    if not opts.ssl_enabled:
        return None

    passphrase = opts.ssl_key_passphrase.reveal() if opts.ssl_key_passphrase is not None else None
    extra_chain: list[Path] = list(getattr(opts, "ssl_extra_chain_certs", None) or [])
    with tempfile.TemporaryDirectory(prefix="pipeline-tls-") as scratch:
        certificate = opts.ssl_certificate
        if extra_chain:  # OpenSSL sends the chain that follows the certificate in its PEM file
            certificate = Path(scratch) / "chain.pem"
            certificate.write_text("".join(_read_pem(p) for p in (opts.ssl_certificate, *extra_chain)))
        try:
            return server_context(
                certificate=certificate, key=opts.ssl_key, passphrase=passphrase,
                authorities=opts.ssl_certificate_authorities, client_authentication=opts.ssl_client_authentication,
                protocols=opts.ssl_supported_protocols, cipher_suites=opts.ssl_cipher_suites,
            )
        except ConfigError as exc:  # name the user's files, not the scratch copy
            if not extra_chain:
                raise
            files = f"{opts.ssl_certificate} + ssl_extra_chain_certs {[str(p) for p in extra_chain]}"
            raise ConfigError(exc.message.replace(str(certificate), files)) from None


def _read_pem(path: Path) -> str:
    try:
        text = Path(path).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read certificate {path}: {exc}") from None
    return text if text.endswith("\n") else text + "\n"


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
