"""TLS: server certificate, client authentication none/optional/required, peer metadata, bad certs."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

import pytest

trustme = pytest.importorskip("trustme", reason="trustme (test dependency) makes the test certificates")

from pipeline.errors import ConfigError  # noqa: E402
from pipeline.lumberjack.client import LumberjackClient  # noqa: E402
from pipeline.testing import build_plugin  # noqa: E402

EVENT = [{"message": "secret", "@metadata": {"beat": "filebeat", "type": "_doc", "version": "8.1.3"}}]


@pytest.fixture
def pki(tmp_path: Path) -> dict:
    ca = trustme.CA(organization_name="Pipeline Test CA")
    server_cert = ca.issue_cert("127.0.0.1", "localhost")
    client_cert = ca.issue_cert("filebeat-client", common_name="filebeat-client")
    rogue_ca = trustme.CA(organization_name="Rogue CA")
    rogue_client = rogue_ca.issue_cert("rogue", common_name="rogue")
    paths = {
        "ca": tmp_path / "ca.pem",
        "cert": tmp_path / "server.pem",
        "key": tmp_path / "server.key",
    }
    ca.cert_pem.write_to_path(str(paths["ca"]))
    server_cert.cert_chain_pems[0].write_to_path(str(paths["cert"]))
    server_cert.private_key_pem.write_to_path(str(paths["key"]))
    return {"paths": paths, "ca": ca, "client": client_cert, "rogue_ca": rogue_ca, "rogue": rogue_client,
            "tmp": tmp_path}


def _client_context(pki: dict, cert=None, trust=None) -> ssl.SSLContext:
    context = ssl.create_default_context()
    (trust or pki["ca"]).configure_trust(context)
    if cert is not None:
        cert.configure_cert(context)
    return context


def _server_text(pki: dict, extra: str = "") -> str:
    p = pki["paths"]
    return f'ssl_enabled => true ssl_certificate => "{p["cert"]}" ssl_key => "{p["key"]}" {extra}'


def test_tls_without_client_authentication(beats_server, pki) -> None:
    server = beats_server(_server_text(pki))
    with LumberjackClient("127.0.0.1", server.port, ssl_context=_client_context(pki)) as client:
        assert client.send(EVENT) == 1
    [event] = server.wait_events(1)
    assert event.get("message") == "secret"
    assert event.get("[@metadata][tls_peer]") is None  # ssl_peer_metadata is not a default enrichment


def test_required_client_certificate_and_peer_metadata(beats_server, pki) -> None:
    server = beats_server(_server_text(pki, f'ssl_certificate_authorities => ["{pki["paths"]["ca"]}"] '
                                           'ssl_client_authentication => required enrich => all'))
    with LumberjackClient("127.0.0.1", server.port,
                          ssl_context=_client_context(pki, cert=pki["client"])) as client:
        assert client.send(EVENT) == 1
    [event] = server.wait_events(1)
    assert event.get("[@metadata][tls_peer][status]") == "verified"
    assert event.get("[@metadata][input][beats][tls][version_protocol]") in ("TLSv1.2", "TLSv1.3")
    assert "CN=filebeat-client" in event.get("[@metadata][input][beats][tls][client][subject]")
    assert event.get("[@metadata][input][beats][tls][cipher]")


def test_peer_metadata_in_legacy_places_with_ecs_disabled(beats_server, pki) -> None:
    server = beats_server(_server_text(pki, f'ssl_certificate_authorities => ["{pki["paths"]["ca"]}"] '
                                           'ssl_client_authentication => required enrich => [source_metadata, ssl_peer_metadata] '
                                           'ecs_compatibility => disabled'))
    with LumberjackClient("127.0.0.1", server.port,
                          ssl_context=_client_context(pki, cert=pki["client"])) as client:
        assert client.send(EVENT) == 1
    [event] = server.wait_events(1)
    assert event.get("[@metadata][tls_peer][status]") == "verified"
    assert "CN=filebeat-client" in event.get("[@metadata][tls_peer][subject]")
    assert event.get("[@metadata][tls_peer][protocol]")
    assert event.get("[@metadata][ip_address]") == "127.0.0.1"


def test_certificate_authorities_from_a_directory(beats_server, pki) -> None:
    ca_dir = pki["tmp"] / "cas"
    ca_dir.mkdir()
    pki["rogue_ca"].cert_pem.write_to_path(str(ca_dir / "other.crt"))
    pki["ca"].cert_pem.write_to_path(str(ca_dir / "ours.pem"))
    server = beats_server(_server_text(pki, f'ssl_certificate_authorities => ["{ca_dir}"]'))
    assert server.input.options.client_authentication == "required"  # CAs alone mean required, as Logstash
    with LumberjackClient("127.0.0.1", server.port,
                          ssl_context=_client_context(pki, cert=pki["client"])) as client:
        assert client.send(EVENT) == 1


def test_optional_client_authentication_accepts_clients_without_certificate(beats_server, pki) -> None:
    server = beats_server(_server_text(pki, f'ssl_certificate_authorities => ["{pki["paths"]["ca"]}"] '
                                           'ssl_client_authentication => optional enrich => all'))
    with LumberjackClient("127.0.0.1", server.port, ssl_context=_client_context(pki)) as client:
        assert client.send(EVENT) == 1
    [event] = server.wait_events(1)
    assert event.get("[@metadata][tls_peer][status]") == "unverified"


def _handshake_fails(port: int, context: ssl.SSLContext) -> bool:
    try:
        with LumberjackClient("127.0.0.1", port, ssl_context=context, timeout=5) as client:
            client.send(EVENT)  # TLS 1.3: the server's refusal shows up on first use
    except (ssl.SSLError, ConnectionError, OSError):
        return True
    return False


def test_wrong_client_certificate_is_refused_and_the_server_keeps_serving(beats_server, pki, caplog) -> None:
    server = beats_server(_server_text(pki, f'ssl_certificate_authorities => ["{pki["paths"]["ca"]}"] '
                                           'ssl_client_authentication => required'))
    assert _handshake_fails(server.port, _client_context(pki, cert=pki["rogue"]))
    assert _handshake_fails(server.port, _client_context(pki))  # no certificate at all
    assert server.wait_for(lambda: server.input.stats.errors["tls_handshake"] == 2)
    assert caplog.text.count("TLS handshake failed") == 2
    with LumberjackClient("127.0.0.1", server.port,
                          ssl_context=_client_context(pki, cert=pki["client"])) as client:
        assert client.send(EVENT) == 1
    assert server.wait_for(lambda: server.input.stats.connections_current == 0)


def test_client_that_does_not_trust_the_server_fails_cleanly(beats_server, pki) -> None:
    server = beats_server(_server_text(pki))
    assert _handshake_fails(server.port, _client_context(pki, trust=pki["rogue_ca"]))
    assert server.wait_for(lambda: server.input.stats.errors["tls_handshake"] == 1)


def test_plain_tcp_client_on_a_tls_port_is_closed(beats_server, pki) -> None:
    server = beats_server(_server_text(pki))
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"2W\x00\x00\x00\x01")
        sock.settimeout(5)
        assert sock.recv(100) == b""
    assert server.wait_for(lambda: server.input.stats.errors["tls_handshake"] == 1)


def test_handshake_timeout_closes_silent_clients(beats_server, pki) -> None:
    server = beats_server(_server_text(pki, "ssl_handshake_timeout => 300"))
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.settimeout(5)
        assert sock.recv(100) == b""
    assert server.wait_for(lambda: server.input.stats.errors["tls_handshake"] == 1)


def test_encrypted_key_with_passphrase_and_protocol_choice(beats_server, pki) -> None:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(pki["paths"]["key"].read_bytes(), password=None)
    encrypted = pki["tmp"] / "encrypted.key"
    encrypted.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.BestAvailableEncryption(b"s3cret")))
    p = pki["paths"]
    server = beats_server(f'ssl_enabled => true ssl_certificate => "{p["cert"]}" ssl_key => "{encrypted}" '
                          'ssl_key_passphrase => "s3cret" ssl_supported_protocols => ["TLSv1.2"] '
                          'ssl_cipher_suites => ["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", '
                          '"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"]')
    context = _client_context(pki)
    with LumberjackClient("127.0.0.1", server.port, ssl_context=context) as client:
        assert client.send(EVENT) == 1
        assert client.sock.version() == "TLSv1.2"
        assert "AES256-GCM" in client.sock.cipher()[0]


def test_wrong_passphrase_or_missing_files_are_config_errors(pki) -> None:
    p = pki["paths"]
    with pytest.raises(ConfigError, match="cannot load"):
        build_plugin("input", f'beats {{ port => 0 ssl_enabled => true ssl_certificate => "{p["cert"]}" '
                              f'ssl_key => "{p["key"]}.missing" }}')
    with pytest.raises(ConfigError, match="ssl_cipher_suites"):
        build_plugin("input", f'beats {{ port => 0 ssl_enabled => true ssl_certificate => "{p["cert"]}" '
                              f'ssl_key => "{p["key"]}" ssl_cipher_suites => ["NOT-A-CIPHER"] }}')
