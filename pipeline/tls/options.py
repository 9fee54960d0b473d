"""The ``ssl_*`` options of Logstash's client plugins, declared once: the elasticsearch output, input and
filter (pipeline/elasticsearch/connection_options.py) and the http filter and http_poller input
(pipeline/httpclient.py) derive from :class:`TlsClientOptions`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pipeline.plugin import Secret, option
from pipeline.tls.contexts import ClientTls
from pipeline.tls.stores import StoreRef, StoreType

Protocol = Literal["TLSv1.1", "TLSv1.2", "TLSv1.3"]


@dataclass(frozen=True, kw_only=True)
class TlsClientOptions:
    ssl_certificate_authorities: list[str] = option(
        [], "PEM CA files to verify the server with; when given (or ssl_truststore_path), only those CAs are "
            "trusted, else the system's.")
    ssl_verification_mode: Literal["full", "none"] = option(
        "full", "full: check the server certificate and host name; none: no checks.")
    ssl_certificate: str | None = option(None, "Client certificate (PEM) for mutual TLS.")
    ssl_key: str | None = option(None, "Private key (PEM) of ssl_certificate.")
    ssl_keystore_path: Path | None = option(
        None, "PKCS#12 keystore (.p12/.pfx) with the client certificate and key, instead of ssl_certificate/"
              "ssl_key. JKS files are refused with the keytool command that converts them.")
    ssl_keystore_password: Secret | None = option(None, "Password of ssl_keystore_path.")
    ssl_keystore_type: StoreType | None = option(
        None, "pkcs12 or jks; the file's content decides (Java also reads PKCS#12 declared as jks).")
    ssl_truststore_path: Path | None = option(
        None, "PKCS#12 truststore with the CAs to trust, instead of ssl_certificate_authorities (JKS: convert "
              "it with keytool).")
    ssl_truststore_password: Secret | None = option(None, "Password of ssl_truststore_path.")
    ssl_truststore_type: StoreType | None = option(None, "pkcs12 or jks; the file's content decides.")
    ssl_supported_protocols: list[Protocol] = option([], "TLS versions allowed; default TLSv1.2 and TLSv1.3.")
    ssl_cipher_suites: list[str] = option(
        [], "TLS 1.2 cipher suites by IANA/Java or OpenSSL name, by priority; listing no TLS 1.3 suite turns "
            "TLS 1.3 off, as in Java. Default: OpenSSL's secure list.")

    def client_tls(self) -> ClientTls:
        """The settings as the TLS helpers take them."""
        if self.ssl_keystore_password is not None and self.ssl_keystore_path is None:
            raise ValueError("An `ssl_keystore_password` cannot be specified unless `ssl_keystore_path` is also "
                             "provided.")
        if self.ssl_truststore_password is not None and self.ssl_truststore_path is None:
            raise ValueError("An `ssl_truststore_password` cannot be specified unless `ssl_truststore_path` is "
                             "also provided.")
        return ClientTls(
            verification_mode=self.ssl_verification_mode,
            certificate_authorities=tuple(self.ssl_certificate_authorities),
            truststore=_store(self.ssl_truststore_path, self.ssl_truststore_password, self.ssl_truststore_type,
                              "ssl_truststore_path"),
            certificate=self.ssl_certificate, key=self.ssl_key,
            keystore=_store(self.ssl_keystore_path, self.ssl_keystore_password, self.ssl_keystore_type,
                            "ssl_keystore_path"),
            protocols=tuple(self.ssl_supported_protocols), cipher_suites=tuple(self.ssl_cipher_suites))

    def ssl_options_given(self) -> list[str]:
        """The ssl_* options set to something else than their default (for 'ignored' warnings)."""
        given = []
        for name in ("ssl_certificate_authorities", "ssl_certificate", "ssl_key", "ssl_keystore_path",
                     "ssl_truststore_path", "ssl_supported_protocols", "ssl_cipher_suites"):
            if getattr(self, name):
                given.append(name)
        if self.ssl_verification_mode != "full":
            given.append("ssl_verification_mode")
        return given


def _store(path: Path | None, password: Secret | None, declared: StoreType | None, option_name: str) -> StoreRef | None:
    if path is None:
        return None
    return StoreRef(Path(path), password.reveal() if password is not None else None, declared, option_name)
