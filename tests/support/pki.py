"""Test certificates and Java-style stores, made with ``cryptography`` (and ``keytool`` when asked):

    pki = Pki(tmp_path)
    pki.ca_pem, pki.server_pem (leaf + CA chain), pki.server_key, pki.client_pem, pki.client_key
    pki.keystore("client.p12", "client", password="changeit")     # PKCS#12 key entry
    pki.truststore("trust.p12", password="changeit")              # PKCS#12 with the CA only
    pki.keytool_truststore("trust-java.p12")                      # as keytool writes it (None without keytool)
    pki.jks("trust.jks")                                          # a Java keystore (keytool, else its header)
    pki.server_context(client_auth=True, max_version=...)         # an ssl server context for a test server
    pki.ca_fingerprint                                            # SHA-256 of the CA, hex with colons
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import shutil
import ssl
import struct
import subprocess
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Pipeline Tests"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


class Pki:
    def __init__(self, directory: Path, ca_name: str = "Pipeline Test CA") -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        now = datetime.datetime.now(datetime.UTC)
        self._valid = (now - datetime.timedelta(hours=1), now + datetime.timedelta(days=2))
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        self.ca = (x509.CertificateBuilder().subject_name(_name(ca_name)).issuer_name(_name(ca_name))
                   .public_key(self.ca_key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(self._valid[0]).not_valid_after(self._valid[1])
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                                  critical=True)
                   .sign(self.ca_key, hashes.SHA256()))
        self.ca_pem = self._write("ca.pem", self._pem(self.ca))
        self.server_key_obj, self.server_cert = self._issue("127.0.0.1", server=True)
        self.client_key_obj, self.client_cert = self._issue("pipeline-client", server=False)
        self.server_pem = self._write("server.pem", self._pem(self.server_cert) + self._pem(self.ca))
        self.server_key = self._write("server.key", self._key_pem(self.server_key_obj))
        self.client_pem = self._write("client.pem", self._pem(self.client_cert))
        self.client_key = self._write("client.key", self._key_pem(self.client_key_obj))
        digest = hashlib.sha256(self.ca.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
        self.ca_fingerprint = ":".join(digest[i:i + 2] for i in range(0, 64, 2))

    def _issue(self, name: str, *, server: bool) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (x509.CertificateBuilder().subject_name(_name(name)).issuer_name(self.ca.subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(self._valid[0]).not_valid_after(self._valid[1]))
        if server:
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]), critical=False)
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        return key, builder.sign(self.ca_key, hashes.SHA256())

    @staticmethod
    def _pem(cert: x509.Certificate) -> bytes:
        return cert.public_bytes(serialization.Encoding.PEM)

    @staticmethod
    def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())

    def _write(self, name: str, data: bytes) -> Path:
        path = self.dir / name
        path.write_bytes(data)
        return path

    def keystore(self, name: str, who: str = "client", password: str | None = "changeit") -> Path:
        key, cert = (self.client_key_obj, self.client_cert) if who == "client" else (self.server_key_obj,
                                                                                   self.server_cert)
        encryption = (serialization.BestAvailableEncryption(password.encode()) if password
                      else serialization.NoEncryption())
        return self._write(name, pkcs12.serialize_key_and_certificates(
            who.encode(), key, cert, [self.ca], encryption))

    def truststore(self, name: str, password: str | None = "changeit") -> Path:
        encryption = (serialization.BestAvailableEncryption(password.encode()) if password
                      else serialization.NoEncryption())
        return self._write(name, pkcs12.serialize_key_and_certificates(b"ca", None, None, [self.ca], encryption))

    def keytool_truststore(self, name: str, password: str = "changeit") -> Path | None:
        keytool = shutil.which("keytool")
        if keytool is None:
            return None
        path = self.dir / name
        subprocess.run([keytool, "-importcert", "-noprompt", "-alias", "ca", "-file", str(self.ca_pem),
                        "-keystore", str(path), "-storetype", "PKCS12", "-storepass", password],
                       check=True, capture_output=True)
        return path

    def jks(self, name: str, password: str = "changeit") -> Path:
        keytool = shutil.which("keytool")
        path = self.dir / name
        if keytool is not None:
            subprocess.run([keytool, "-importcert", "-noprompt", "-alias", "ca", "-file", str(self.ca_pem),
                            "-keystore", str(path), "-storetype", "JKS", "-storepass", password],
                           check=True, capture_output=True)
        else:  # the JKS header (magic, version 2, no entries) and its integrity digest
            body = struct.pack(">IiI", 0xFEEDFEED, 2, 0)
            digest = hashlib.sha1(password.encode("utf-16-be") + b"Mighty Aphrodite" + body).digest()
            path.write_bytes(body + digest)
        return path

    def server_context(self, *, client_auth: bool = False, max_version: ssl.TLSVersion | None = None,
                       min_version: ssl.TLSVersion | None = None) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(self.server_pem), str(self.server_key))
        if max_version is not None:
            context.maximum_version = max_version
        if min_version is not None:
            context.minimum_version = min_version
        if client_auth:
            context.load_verify_locations(cafile=str(self.ca_pem))
            context.verify_mode = ssl.CERT_REQUIRED
        return context
