"""Server-side TLS options shared by the tcp and http inputs (same names everywhere); the SSLContext is built
by pipeline.tls, which every TLS plugin shares."""

from __future__ import annotations

import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pipeline.errors import ConfigError
from pipeline.inputs.base import InputOptions
from pipeline.plugin import Secret, option
from pipeline.tls import TlsConfigError, server_context
from pipeline.tls.stores import StoreRef


@dataclass(frozen=True, kw_only=True)
class TlsServerOptions(InputOptions):
    ssl_enabled: bool = option(False, "Accept TLS connections only (needs ssl_certificate and ssl_key, or the "
                               "http input's ssl_keystore_path).",
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
        keystore = getattr(self, "ssl_keystore_path", None)
        truststore = getattr(self, "ssl_truststore_path", None)
        if keystore is not None:
            if self.ssl_certificate is not None:
                raise ValueError("Use either an `ssl_certificate` or an `ssl_keystore_path`")
        elif self.ssl_certificate is None or self.ssl_key is None:
            raise ValueError("ssl_enabled => true needs both ssl_certificate and ssl_key"
                             + (", or ssl_keystore_path" if hasattr(self, "ssl_keystore_path") else ""))
        if truststore is not None and self.ssl_certificate_authorities:
            raise ValueError("Use either an `ssl_certificate_authorities` or an `ssl_truststore_path`")
        if self.ssl_client_authentication != "none":
            if not (self.ssl_certificate_authorities or truststore or keystore):
                raise ValueError(f"ssl_client_authentication => {self.ssl_client_authentication} needs "
                                 "ssl_certificate_authorities" + (" or ssl_truststore_path" if
                                                                  hasattr(self, "ssl_truststore_path") else ""))
        elif truststore is not None:
            raise ValueError("The configuration of `ssl_truststore_path` requires setting "
                             "`ssl_client_authentication` to `optional` or 'required'")


def server_ssl_context(opts: Any) -> ssl.SSLContext | None:
    """The SSLContext for ``opts`` (a TlsServerOptions; with ssl_keystore_* / ssl_truststore_* when the
    plugin declares them, as the http input), None when TLS is off; ConfigError on bad files."""
    if not opts.ssl_enabled:
        return None
    keystore = _store(opts, "keystore")
    truststore = _store(opts, "truststore")
    if keystore is not None and truststore is None and not opts.ssl_certificate_authorities:
        # As Logstash: with client authentication and no CA given, the keystore's certificates are trusted.
        truststore = StoreRef(keystore.path, keystore.password, keystore.declared_type, "ssl_keystore_path")
    passphrase = opts.ssl_key_passphrase.reveal() if opts.ssl_key_passphrase is not None else None
    extra_chain: list[Path] = list(getattr(opts, "ssl_extra_chain_certs", None) or [])
    with tempfile.TemporaryDirectory(prefix="pipeline-tls-") as scratch:
        certificate = opts.ssl_certificate
        if extra_chain:  # OpenSSL sends the chain that follows the certificate in its PEM file
            certificate = Path(scratch) / "chain.pem"
            certificate.write_text("".join(_read_pem(p) for p in (opts.ssl_certificate, *extra_chain)))
        try:
            return server_context(
                certificate=certificate, key=opts.ssl_key, passphrase=passphrase, keystore=keystore,
                authorities=opts.ssl_certificate_authorities, truststore=truststore,
                client_authentication=opts.ssl_client_authentication,
                protocols=opts.ssl_supported_protocols, cipher_suites=opts.ssl_cipher_suites,
            )
        except ConfigError as exc:  # name the user's files, not the scratch copy
            if not extra_chain or isinstance(exc, TlsConfigError) and str(certificate) not in exc.message:
                raise
            files = f"{opts.ssl_certificate} + ssl_extra_chain_certs {[str(p) for p in extra_chain]}"
            raise ConfigError(exc.message.replace(str(certificate), files)) from None


def _store(opts: Any, kind: str) -> StoreRef | None:
    path = getattr(opts, f"ssl_{kind}_path", None)
    if path is None:
        return None
    password = getattr(opts, f"ssl_{kind}_password", None)
    return StoreRef(Path(path), password.reveal() if password is not None else None,
                    getattr(opts, f"ssl_{kind}_type", None), f"ssl_{kind}_path")


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
