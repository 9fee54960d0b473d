"""``ssl.SSLContext`` objects from Logstash's TLS settings, for clients (elasticsearch plugins, http filter,
http_poller) and servers (beats, tcp, http inputs): trust, own certificate, versions, cipher suites.

Semantics follow Java's, which Logstash runs on:

* certificate authorities (PEM files or a truststore) given: only those are trusted; none given: the
  system's;
* ``ssl_supported_protocols`` bounds the versions; none given: TLS 1.2 and 1.3;
* ``ssl_cipher_suites`` by IANA/Java name (``TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384``) or OpenSSL
  name. Listing no TLS 1.3 suite turns TLS 1.3 off, and listing only TLS 1.3 suites turns TLS 1.2
  off, as in Java. Python cannot choose among TLS 1.3 suites: OpenSSL's three defaults are offered.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.tls.stores import (
    StoreRef,
    TlsConfigError,
    load_key_material,
    load_trusted_certificates,
    pem_bundle,
    pem_files,
)

log = logging.getLogger("pipeline.tls")

PROTOCOLS = {
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}
DEFAULT_PROTOCOLS = ("TLSv1.2", "TLSv1.3")
# The TLS 1.3 suites OpenSSL offers by default (Python has no call to choose others).
OPENSSL_TLS13_SUITES = frozenset({"TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_GCM_SHA256"})


def is_tls13_suite(name: str) -> bool:
    """IANA TLS 1.3 suite names (``TLS_AES_128_GCM_SHA256``) have no key exchange part."""
    upper = name.strip().upper()
    return upper.startswith("TLS_") and "_WITH_" not in upper


def openssl_cipher_name(name: str) -> str | None:
    """OpenSSL's name for a Java/IANA TLS 1.2 suite name (``TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384``
    → ``ECDHE-RSA-AES256-GCM-SHA384``); None for TLS 1.3 suites; OpenSSL names pass through."""
    upper = name.strip().upper()
    if is_tls13_suite(upper):
        return None
    if "_WITH_" not in upper:
        return name.strip()
    exchange, cipher = upper.removeprefix("TLS_").split("_WITH_", 1)
    cipher = cipher.replace("CHACHA20_POLY1305_SHA256", "CHACHA20-POLY1305")
    for bits in ("128", "256"):
        cipher = cipher.replace(f"AES_{bits}_GCM_", f"AES{bits}-GCM-").replace(f"AES_{bits}_CBC_", f"AES{bits}-")
    return f"{exchange.replace('_', '-')}-{cipher.replace('_', '-')}"


def apply_versions_and_ciphers(context: ssl.SSLContext, protocols: Sequence[str],
                               cipher_suites: Sequence[str]) -> None:
    """Bound the TLS versions and choose the TLS 1.2 suites (module docstring: Java's rules)."""
    unknown = [p for p in protocols if p not in PROTOCOLS]
    if unknown:
        raise TlsConfigError(f"ssl_supported_protocols: unknown {unknown} (use {', '.join(PROTOCOLS)})")
    wanted = sorted(PROTOCOLS[p] for p in (protocols or DEFAULT_PROTOCOLS))
    low, high = wanted[0], wanted[-1]
    if cipher_suites:
        tls12 = [n for n in (openssl_cipher_name(s) for s in cipher_suites) if n]
        tls13 = [s.strip().upper() for s in cipher_suites if is_tls13_suite(s)]
        if tls12:
            try:
                context.set_ciphers(":".join(tls12))
            except ssl.SSLError:
                raise TlsConfigError(f"ssl_cipher_suites: none of {list(cipher_suites)} is available in "
                                     f"OpenSSL {ssl.OPENSSL_VERSION}") from None
        else:
            low = max(low, ssl.TLSVersion.TLSv1_3)
        if not tls13:
            high = min(high, ssl.TLSVersion.TLSv1_2)
        elif set(tls13) - OPENSSL_TLS13_SUITES:
            log.warning("ssl_cipher_suites: %s cannot be chosen here; TLS 1.3 offers OpenSSL's %s",
                        sorted(set(tls13) - OPENSSL_TLS13_SUITES), sorted(OPENSSL_TLS13_SUITES))
    if low > high:
        raise TlsConfigError(f"ssl_cipher_suites {list(cipher_suites)} do not fit ssl_supported_protocols "
                             f"{list(protocols or DEFAULT_PROTOCOLS)}")
    context.minimum_version = low
    context.maximum_version = high


def _load_authorities(context: ssl.SSLContext, authorities: Sequence[str | Path], option: str) -> None:
    for authority in authorities:
        path = Path(authority)
        # A directory: every certificate file in it (no c_rehash links needed).
        files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
        for file in files:
            try:
                context.load_verify_locations(cafile=str(file))
            except (OSError, ssl.SSLError) as exc:
                raise TlsConfigError(f"{option}: cannot load {file}: {exc}") from None


def _load_truststore(context: ssl.SSLContext, truststore: StoreRef) -> None:
    context.load_verify_locations(cadata=pem_bundle(load_trusted_certificates(truststore)))


def _load_own_certificate(context: ssl.SSLContext, certificate: str | Path | None, key: str | Path | None,
                          passphrase: str | None, keystore: StoreRef | None) -> None:
    if keystore is not None:
        with pem_files(load_key_material(keystore)) as (chain_file, key_file, password):
            try:
                context.load_cert_chain(chain_file, key_file, password=password)
            except ssl.SSLError as exc:
                raise TlsConfigError(f"{keystore.option}: {keystore.path}: unusable key or certificate: "
                                     f"{exc}") from None
        return
    if certificate is None or key is None:
        return
    try:
        context.load_cert_chain(str(certificate), str(key), password=passphrase)
    except (OSError, ssl.SSLError) as exc:
        raise TlsConfigError(f"cannot load ssl_certificate {certificate} / ssl_key {key}: {exc}") from None


@dataclass(frozen=True)
class ClientTls:
    """A client's TLS settings; names follow Logstash's options."""

    verification_mode: str = "full"  # full | none
    certificate_authorities: tuple[str, ...] = ()
    truststore: StoreRef | None = None
    certificate: str | None = None
    key: str | None = None
    keystore: StoreRef | None = None
    protocols: tuple[str, ...] = ()
    cipher_suites: tuple[str, ...] = field(default_factory=tuple)

    def check(self) -> None:
        """Contradictions Logstash refuses at start (no file is read here)."""
        if self.certificate_authorities and self.truststore is not None:
            raise TlsConfigError('Use either "ssl_certificate_authorities" or "ssl_truststore_path" when '
                                 "configuring the CA certificate")
        if self.certificate and self.keystore is not None:
            raise TlsConfigError('Use either "ssl_certificate" or "ssl_keystore_path" when configuring client '
                                 "certificates")
        if bool(self.certificate) != bool(self.key):
            raise TlsConfigError("ssl_certificate and ssl_key must be given together")
        for store in (self.truststore, self.keystore):
            if store is not None and not store.path.is_file():
                raise TlsConfigError(f"{store.option}: no such file {str(store.path)!r}")


def client_context(tls: ClientTls) -> ssl.SSLContext:
    """The SSLContext of a client; TlsConfigError naming the option and file at fault."""
    tls.check()
    own_trust = bool(tls.certificate_authorities) or tls.truststore is not None
    if own_trust:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # hostname check and CERT_REQUIRED, no system CAs
        _load_authorities(context, tls.certificate_authorities, "ssl_certificate_authorities")
        if tls.truststore is not None:
            _load_truststore(context, tls.truststore)
    else:
        context = ssl.create_default_context()
    _load_own_certificate(context, tls.certificate, tls.key, None, tls.keystore)
    apply_versions_and_ciphers(context, tls.protocols, tls.cipher_suites)
    if tls.verification_mode == "none":
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def server_context(*, certificate: Path | None, key: Path | None, passphrase: str | None = None,
                   keystore: StoreRef | None = None, authorities: Sequence[Path] = (),
                   truststore: StoreRef | None = None, client_authentication: str = "none",
                   protocols: Sequence[str] = DEFAULT_PROTOCOLS, cipher_suites: Sequence[str] = ()) -> ssl.SSLContext:
    """The SSLContext of a server: its certificate (PEM files or a keystore), the CAs client certificates
    must chain to when ``client_authentication`` is optional or required; TlsConfigError on bad files."""
    if keystore is None and (certificate is None or key is None):
        raise TlsConfigError("TLS needs ssl_certificate and ssl_key, or ssl_keystore_path")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    _load_own_certificate(context, certificate, key, passphrase, keystore)
    apply_versions_and_ciphers(context, protocols, cipher_suites)
    if client_authentication != "none":
        _load_authorities(context, authorities, "ssl_certificate_authorities")
        if truststore is not None:
            _load_truststore(context, truststore)
        context.verify_mode = ssl.CERT_REQUIRED if client_authentication == "required" else ssl.CERT_OPTIONAL
    return context
