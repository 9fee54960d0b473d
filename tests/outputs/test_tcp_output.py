"""The tcp output against real sockets on 127.0.0.1: client and server modes, TLS, reconnects, config errors."""

from __future__ import annotations

import json
import logging
import re
import socket
import ssl
import threading
from pathlib import Path

import pytest
from support.polling import wait_until

import pipeline.outputs.tcp as tcp_module
from pipeline.errors import ConfigError
from pipeline.event import Event
from pipeline.testing import build_plugin

trustme = pytest.importorskip("trustme")


class Receiver:
    """A TCP (optionally TLS) server on 127.0.0.1 that collects what one connection sends until it closes."""

    def __init__(self, context: ssl.SSLContext | None = None, port: int = 0) -> None:
        self.listener = socket.create_server(("127.0.0.1", port))
        self.port = self.listener.getsockname()[1]
        self.data = b""
        self.done = threading.Event()
        self.context = context
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        connection, _ = self.listener.accept()
        if self.context is not None:
            connection = self.context.wrap_socket(connection, server_side=True)
        with connection:
            while chunk := connection.recv(65536):
                self.data += chunk
        self.done.set()

    def close(self) -> None:
        self.listener.close()


def test_client_mode_writes_each_event_with_its_codec(tmp_path: Path) -> None:
    receiver = Receiver()
    out = build_plugin("output", f'tcp {{ host => "127.0.0.1" port => {receiver.port} codec => json_lines }}')
    out.receive([Event({"message": "one", "n": 1}), Event({"message": "two", "n": 2})])
    out.close()
    assert receiver.done.wait(10)
    lines = [json.loads(line) for line in receiver.data.splitlines()]
    assert [(d["message"], d["n"]) for d in lines] == [("one", 1), ("two", 2)]
    receiver.close()


def test_the_default_codec_is_json_without_separator_as_logstash() -> None:
    receiver = Receiver()
    out = build_plugin("output", f'tcp {{ host => "127.0.0.1" port => {receiver.port} }}')
    out.receive([Event({"message": "a"}), Event({"message": "b"})])
    out.close()
    assert receiver.done.wait(10)
    decoder, text, found = json.JSONDecoder(), receiver.data.decode(), []
    while text:
        obj, end = decoder.raw_decode(text)
        found.append(obj["message"])
        text = text[end:]
    assert found == ["a", "b"] and b"\n" not in receiver.data
    receiver.close()


def test_a_refused_connection_is_retried_every_reconnect_interval_with_the_same_bytes(monkeypatch, caplog) -> None:
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    receivers: list[Receiver] = []
    waits: list[float] = []

    def wait_then_start_the_server(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 2:
            receivers.append(Receiver(port=port))

    monkeypatch.setattr(tcp_module, "_sleep", wait_then_start_the_server)
    out = build_plugin("output", f'tcp {{ host => "127.0.0.1" port => {port} reconnect_interval => 3 '
                                 'codec => line { format => "%{message}" } }')
    with caplog.at_level(logging.WARNING):
        out.receive([Event({"message": "kept"})])
    out.close()
    assert waits == [3, 3] and receivers[0].done.wait(10)
    assert receivers[0].data == b"kept\n"
    assert f"cannot write to 127.0.0.1:{port}" in caplog.text
    receivers[0].close()


def test_server_mode_sends_every_event_to_each_connected_client() -> None:
    out = build_plugin("output", 'tcp { host => "127.0.0.1" port => 0 mode => server codec => json_lines }')
    clients = [socket.create_connection(out.address) for _ in range(2)]
    # The accept thread registers the clients; a client not registered yet is not sent to (a loaded machine
    # took longer than the 2 s this once waited before sending anyway).
    wait_until(lambda: len(out._clients) == 2, "both clients registered", 30)
    out.receive([Event({"message": "to all"})])
    out.close()
    for client in clients:
        with client:
            data = b""
            while chunk := client.recv(65536):
                data += chunk
        assert json.loads(data)["message"] == "to all"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    directory = tmp_path_factory.mktemp("tls")
    files = {"ca": directory / "ca.pem", "cert": directory / "cert.pem", "key": directory / "key.pem"}
    ca.cert_pem.write_to_path(str(files["ca"]))
    server.cert_chain_pems[0].write_to_path(str(files["cert"]))
    server.private_key_pem.write_to_path(str(files["key"]))
    return files


def test_tls_client_verifies_the_server_against_the_given_authority(tls: dict[str, Path]) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(tls["cert"]), str(tls["key"]))
    receiver = Receiver(context)
    out = build_plugin("output", f'tcp {{ host => "127.0.0.1" port => {receiver.port} ssl_enabled => true '
                                 f'ssl_certificate_authorities => ["{tls["ca"]}"] codec => json_lines }}')
    out.receive([Event({"message": "secret"})])
    out.close()
    assert receiver.done.wait(10) and json.loads(receiver.data)["message"] == "secret"
    receiver.close()


def test_tls_server_mode_serves_its_certificate(tls: dict[str, Path]) -> None:
    out = build_plugin("output", f'tcp {{ host => "127.0.0.1" port => 0 mode => server ssl_enabled => true '
                                 f'ssl_certificate => "{tls["cert"]}" ssl_key => "{tls["key"]}" codec => json_lines }}')
    context = ssl.create_default_context(cafile=str(tls["ca"]))
    client = context.wrap_socket(socket.create_connection(out.address), server_hostname="127.0.0.1")
    wait_until(lambda: out._clients, "the client registered (after its TLS handshake)", 30)
    out.receive([Event({"message": "over tls"})])
    out.close()
    with client:
        data = b""
        while chunk := client.recv(65536):
            data += chunk
    assert json.loads(data)["message"] == "over tls"


@pytest.mark.parametrize("options, message", [
    ('ssl_enabled => true ssl_certificate => "/c.pem"', "Using an `ssl_certificate` requires an `ssl_key`"),
    ('ssl_enabled => true ssl_key => "/k.pem"', "An `ssl_certificate` is required when using an `ssl_key`"),
    ('ssl_enabled => true ssl_client_authentication => required', "must not be configured when mode is `client`"),
    ('mode => server ssl_enabled => true', "An `ssl_certificate` is required when `ssl_enabled` => true"),
    ('mode => server ssl_enabled => true ssl_verification_mode => none', "must not be configured when mode is `server`"),
    ('port => 70000', "must be a port number"),
    ('mode => "both"', "mode"),
    ('ssl_enable => true', "The setting `ssl_enable` in plugin `tcp` is obsolete"),
])
def test_config_errors_say_what_logstash_says(options: str, message: str) -> None:
    text = f'tcp {{ host => "127.0.0.1" port => 5000 {options} }}' if "port =>" not in options else \
        f'tcp {{ host => "127.0.0.1" {options} }}'
    with pytest.raises(ConfigError, match=re.escape(message)):
        build_plugin("output", text, register=False)


def test_ssl_settings_without_ssl_enabled_are_warned_about(caplog) -> None:
    with caplog.at_level(logging.WARNING):
        build_plugin("output", 'tcp { host => "127.0.0.1" port => 5000 ssl_verification_mode => none }', register=False)
    assert "Configured SSL settings are not used when `ssl_enabled` is set to `false`" in caplog.text
