"""pipeline.tls.contexts against a real TLS server: which CAs are trusted, the client certificate from a keystore,
TLS versions and cipher suites as negotiated, the server side with a keystore and a truststore."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from support.pki import Pki

from pipeline.tls import ClientTls, StoreRef, TlsConfigError, client_context, server_context


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(tmp_path_factory.mktemp("pki"))


class TlsServer:
    """Accepts connections, completes the handshake and records what was negotiated."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.context = context
        self.sessions: list[dict[str, Any]] = []
        self._recorded = threading.Condition()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                raw, _ = self.sock.accept()
            except OSError:
                return
            try:
                with self.context.wrap_socket(raw, server_side=True) as tls:
                    self._record({"version": tls.version(), "cipher": tls.cipher()[0], "client": tls.getpeercert()})
                    tls.sendall(b"ok")
            except (ssl.SSLError, OSError) as exc:
                self._record({"error": str(exc)})

    def _record(self, session: dict[str, Any]) -> None:
        with self._recorded:
            self.sessions.append(session)
            self._recorded.notify_all()

    def session(self, number: int, timeout: float = 10) -> dict[str, Any]:
        """The ``number``-th session (from 0) once the server recorded it: after a failed handshake the
        client can raise before the server's side has finished failing."""
        with self._recorded:
            if not self._recorded.wait_for(lambda: len(self.sessions) > number, timeout):
                raise AssertionError(f"the server recorded {len(self.sessions)} session(s), expected session #{number}")
            return self.sessions[number]

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def serve(pki: Pki) -> Iterator[Any]:
    servers: list[TlsServer] = []

    def start(context: ssl.SSLContext | None = None) -> TlsServer:
        servers.append(TlsServer(context or pki.server_context()))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def connect(server: TlsServer, context: ssl.SSLContext) -> str:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        tls.recv(2)
        return str(tls.version())


def test_a_truststore_is_the_only_trust_and_the_system_cas_are_not_added(pki: Pki, serve) -> None:
    server = serve()
    trusted = ClientTls(truststore=StoreRef(pki.truststore("t.p12"), "changeit", option="ssl_truststore_path"))
    assert connect(server, client_context(trusted)) in ("TLSv1.2", "TLSv1.3")
    with pytest.raises(ssl.SSLCertVerificationError):
        connect(server, client_context(ClientTls()))  # the system CAs do not know our test CA
    other = Pki(pki.dir / "other", ca_name="Other CA")
    with pytest.raises(ssl.SSLCertVerificationError):
        connect(server, client_context(ClientTls(certificate_authorities=(str(other.ca_pem),))))
    assert connect(server, client_context(ClientTls(verification_mode="none"))) in ("TLSv1.2", "TLSv1.3")


def test_the_client_certificate_comes_from_a_pkcs12_keystore(pki: Pki, serve) -> None:
    server = serve(pki.server_context(client_auth=True))
    keystore = StoreRef(pki.keystore("client.p12"), "changeit")
    connect(server, client_context(ClientTls(certificate_authorities=(str(pki.ca_pem),), keystore=keystore)))
    subject = dict(pair[0] for pair in server.sessions[-1]["client"]["subject"])
    assert subject["commonName"] == "pipeline-client"
    with pytest.raises((ssl.SSLError, ConnectionError)):
        connect(server, client_context(ClientTls(certificate_authorities=(str(pki.ca_pem),))))


def test_supported_protocols_bound_the_negotiated_version(pki: Pki, serve) -> None:
    trust = (str(pki.ca_pem),)
    server = serve()
    assert connect(server, client_context(ClientTls(certificate_authorities=trust, protocols=("TLSv1.2",)))) == "TLSv1.2"
    assert connect(server, client_context(ClientTls(certificate_authorities=trust))) == "TLSv1.3"
    old_server = serve(pki.server_context(max_version=ssl.TLSVersion.TLSv1_2))
    with pytest.raises(ssl.SSLError):
        connect(old_server, client_context(ClientTls(certificate_authorities=trust, protocols=("TLSv1.3",))))
    assert "error" in old_server.session(0)


def test_cipher_suites_by_java_name_choose_the_suite_and_turn_tls13_off_as_java(pki: Pki, serve) -> None:
    server = serve()
    suite = "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"  # the test certificates are ECDSA
    version = connect(server, client_context(ClientTls(certificate_authorities=(str(pki.ca_pem),),
                                                       cipher_suites=(suite,))))
    assert version == "TLSv1.2" and server.sessions[-1]["cipher"] == "ECDHE-ECDSA-AES128-GCM-SHA256"
    only13 = ClientTls(certificate_authorities=(str(pki.ca_pem),), cipher_suites=("TLS_AES_256_GCM_SHA384",))
    assert connect(server, client_context(only13)) == "TLSv1.3"


def test_bad_settings_are_config_errors_naming_the_option(pki: Pki) -> None:
    with pytest.raises(TlsConfigError, match="ssl_cipher_suites: none of"):
        client_context(ClientTls(cipher_suites=("TLS_NOT_A_REAL_SUITE_WITH_NOTHING",)))
    with pytest.raises(TlsConfigError, match="do not fit ssl_supported_protocols"):
        client_context(ClientTls(protocols=("TLSv1.3",), cipher_suites=("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",)))
    with pytest.raises(TlsConfigError, match='Use either "ssl_certificate_authorities" or "ssl_truststore_path"'):
        client_context(ClientTls(certificate_authorities=(str(pki.ca_pem),),
                                 truststore=StoreRef(pki.ca_pem, option="ssl_truststore_path")))
    with pytest.raises(TlsConfigError, match="ssl_keystore_path: no such file"):
        client_context(ClientTls(keystore=StoreRef(pki.dir / "missing.p12")))


def test_server_context_from_a_keystore_checks_clients_against_a_truststore(pki: Pki, serve) -> None:
    context = server_context(
        certificate=None, key=None, keystore=StoreRef(pki.keystore("server.p12", "server"), "changeit"),
        truststore=StoreRef(pki.truststore("clients.p12"), "changeit", option="ssl_truststore_path"),
        client_authentication="required", protocols=("TLSv1.2",))
    server = serve(context)
    client = client_context(ClientTls(certificate_authorities=(str(pki.ca_pem),), certificate=str(pki.client_pem),
                                      key=str(pki.client_key)))
    assert connect(server, client) == "TLSv1.2"
    assert server.sessions[-1]["client"]
    with pytest.raises((ssl.SSLError, ConnectionError)):
        connect(server, client_context(ClientTls(certificate_authorities=(str(pki.ca_pem),))))
