"""TLS for every plugin, written once: contexts for clients and servers from Logstash's ``ssl_*`` settings
(:mod:`.contexts`), PKCS#12 key and trust stores (:mod:`.stores`), the client options' declaration
(:mod:`.options`, imported from there: it depends on the plugin system)."""

from pipeline.tls.contexts import (
    DEFAULT_PROTOCOLS,
    PROTOCOLS,
    ClientTls,
    apply_versions_and_ciphers,
    client_context,
    openssl_cipher_name,
    server_context,
)
from pipeline.tls.stores import StoreRef, TlsConfigError

__all__ = ["DEFAULT_PROTOCOLS", "PROTOCOLS", "ClientTls", "StoreRef", "TlsConfigError", "apply_versions_and_ciphers",
           "client_context", "openssl_cipher_name", "server_context"]
