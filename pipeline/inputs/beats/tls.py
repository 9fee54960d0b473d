"""TLS for the beats input: the peer's metadata (the server SSLContext comes from inputs._tls)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipeline.fieldref import set_path
from pipeline.inputs.beats.events import FieldNames


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
