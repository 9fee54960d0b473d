"""Java-style key and trust stores (Logstash's ``ssl_keystore_*`` / ``ssl_truststore_*`` options).

PKCS#12 files (``.p12``/``.pfx``, what ``keytool`` writes by default since Java 9 and what
Elasticsearch's ``certutil`` makes) are read with ``cryptography``. JKS files are refused with the
``keytool`` command that converts them: the one Python reader, pyjks, has had no release since
2020 and needs a C extension (twofish) last released in 2013, so it is not a dependency we can keep.
A file is recognised by its content, not its name or declared type: Java also reads a PKCS#12
file declared as ``jks``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12

from pipeline.errors import ConfigError

StoreType = Literal["pkcs12", "jks"]
# JKS and JCEKS files start with these magic numbers; PKCS#12 is DER (0x30 ...).
_JAVA_MAGICS = {b"\xfe\xed\xfe\xed": "JKS", b"\xce\xce\xce\xce": "JCEKS"}


class TlsConfigError(ConfigError):
    """A TLS file or setting that cannot be used; the message names the option and the file."""


@dataclass(frozen=True)
class StoreRef:
    """Where a store is and how to open it, as the options give it (``option`` names it in errors)."""

    path: Path
    password: str | None = None
    declared_type: StoreType | None = None
    option: str = "ssl_keystore_path"


@dataclass(frozen=True)
class KeyMaterial:
    """A private key with its certificate and the chain that follows it."""

    key: PrivateKeyTypes
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()


def _open(ref: StoreRef) -> pkcs12.PKCS12KeyAndCertificates:
    try:
        data = ref.path.read_bytes()
    except OSError as exc:
        raise TlsConfigError(f"{ref.option}: cannot read {ref.path}: {exc.strerror or exc}") from None
    kind = _JAVA_MAGICS.get(data[:4])
    if kind is not None:
        raise TlsConfigError(_convert_hint(ref, kind))
    password = ref.password.encode() if ref.password else None
    try:
        return pkcs12.load_pkcs12(data, password)
    except ValueError:
        pass
    if password is None:  # keytool asks for a password; an empty one is still one
        try:
            return pkcs12.load_pkcs12(data, b"")
        except ValueError:
            pass
    password_option = ref.option.replace("_path", "_password")
    raise TlsConfigError(f"{ref.option}: {ref.path} is not a PKCS#12 file, or {password_option} is wrong")


def _convert_hint(ref: StoreRef, kind: str) -> str:
    target = ref.path.with_suffix(".p12")
    type_option = ref.option.replace("_path", "_type")
    return (f"{ref.option}: {ref.path} is a Java {kind} keystore, which is not read here (no maintained "
            f"Python reader exists); convert it once to PKCS#12 with: keytool -importkeystore -srckeystore "
            f"{ref.path} -srcstoretype {kind} -destkeystore {target} -deststoretype PKCS12 -- then set "
            f"{ref.option} => \"{target}\" (and {type_option} => \"pkcs12\" or leave it unset)")


def load_key_material(ref: StoreRef) -> KeyMaterial:
    """The private key entry of a keystore (the first, as Java's default key manager picks one)."""
    store = _open(ref)
    if store.key is None or store.cert is None:
        raise TlsConfigError(f"{ref.option}: {ref.path} holds no private key with its certificate "
                             "(a truststore? give it as ssl_truststore_path)")
    chain = tuple(c.certificate for c in store.additional_certs)
    return KeyMaterial(store.key, store.cert.certificate, chain)


def load_trusted_certificates(ref: StoreRef) -> list[x509.Certificate]:
    """Every certificate of a truststore (trusted-certificate entries, and those of key entries)."""
    store = _open(ref)
    found = ([store.cert.certificate] if store.cert is not None else []) + [
        c.certificate for c in store.additional_certs]
    if not found:
        raise TlsConfigError(f"{ref.option}: {ref.path} holds no certificate")
    return found


def pem_bundle(certificates: list[x509.Certificate]) -> str:
    """The certificates as one PEM text (``SSLContext.load_verify_locations(cadata=...)`` takes it)."""
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in certificates)


@contextmanager
def pem_files(material: KeyMaterial) -> Iterator[tuple[str, str, str]]:
    """(certificate chain file, key file, key password) for ``SSLContext.load_cert_chain``, which reads
    files only. The key is written encrypted under a random password, in a private directory removed
    on exit, so the unencrypted key never reaches the disk."""
    password = os.urandom(24).hex()
    with tempfile.TemporaryDirectory(prefix="pipeline-tls-") as scratch:
        chain_file = Path(scratch) / "chain.pem"
        key_file = Path(scratch) / "key.pem"
        chain_file.write_text(pem_bundle([material.certificate, *material.chain]))
        key_file.write_bytes(material.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(password.encode())))
        yield str(chain_file), str(key_file), password
