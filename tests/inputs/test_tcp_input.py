"""tcp input over real sockets: codecs, peer fields, many clients, TLS, bad input."""

from __future__ import annotations

import contextlib
import shutil
import socket
import ssl
import subprocess
import threading
import time

import pytest

from pipeline.plugin import build_from_dict


def connect(port: int, timeout: float = 5.0) -> socket.socket:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def send(port: int, data: bytes) -> None:
    with connect(port) as sock:
        sock.sendall(data)


def test_line_codec_with_ecs_peer_metadata(free_port, start_input):
    running = start_input("tcp", {"host": "127.0.0.1", "port": free_port})
    send(free_port, b"first\nsecond\nlast-without-newline")
    events = running.collect(3)
    assert [e.get("message") for e in events] == ["first", "second", "last-without-newline"]
    source = events[0].get("[@metadata][input][tcp][source]")
    assert source["ip"] == "127.0.0.1" and isinstance(source["port"], int)
    assert events[0].get("host") is None  # ECS mode puts the peer only in @metadata


def test_legacy_peer_fields(free_port, start_input):
    running = start_input("tcp", {"host": "127.0.0.1", "port": free_port, "ecs_compatibility": "disabled",
                                  "dns_reverse_lookup_enabled": False})
    send(free_port, b"x\n")
    event = running.collect(1)[0]
    assert event.get("host") == "127.0.0.1" and isinstance(event.get("port"), int)
    # Logstash's legacy @field_host_ip (tcp.rb setup_fields!); we did not set it
    assert event.get("[@metadata][ip_address]") == "127.0.0.1"


def test_fields_the_codec_set_are_kept_and_add_field_appends(free_port, start_input):
    # Logstash: event.set(field, peer) unless event.get(field), then decorate (tcp.rb, enqueue_decorated).
    running = start_input(f'tcp {{ host => "127.0.0.1" port => {free_port} codec => json_lines '
                          'dns_reverse_lookup_enabled => false add_field => { "[@metadata][input][tcp][source][ip]" => "x" } }')
    send(free_port, b'{"@metadata": {"input": {"tcp": {"source": {"name": "sender"}}}}}\n')
    source = running.collect(1)[0].get("[@metadata][input][tcp][source]")
    assert source["name"] == "sender" and source["ip"] == ["127.0.0.1", "x"] and isinstance(source["port"], int)


def test_peer_named_by_reverse_dns(free_port, start_input):
    running = start_input("tcp", {"host": "127.0.0.1", "port": free_port})
    send(free_port, b"x\n")
    source = running.collect(1)[0].get("[@metadata][input][tcp][source]")
    assert source["ip"] == "127.0.0.1"
    assert source["name"] == socket.getnameinfo(("127.0.0.1", 0), 0)[0]


def test_json_lines_codec(free_port, start_input):
    running = start_input("tcp", {"host": "127.0.0.1", "port": free_port, "codec": "json_lines"})
    send(free_port, b'{"level":"info","n":1}\n{"level":"warn","n":2}\n')
    events = running.collect(2)
    assert [(e.get("level"), e.get("n")) for e in events] == [("info", 1), ("warn", 2)]


def test_many_clients_at_once(free_port, start_input):
    running = start_input("tcp", {"host": "127.0.0.1", "port": free_port})
    connect(free_port).close()

    def client(n: int) -> None:
        send(free_port, "".join(f"c{n}-{i}\n" for i in range(50)).encode())

    threads = [threading.Thread(target=client, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    running.collect(1000)
    messages = running.messages()
    assert sorted(messages) == sorted(f"c{n}-{i}" for n in range(20) for i in range(50))


def test_invalid_utf8_is_replaced_not_fatal(free_port, start_input):
    running = start_input("tcp", {"host": "127.0.0.1", "port": free_port})
    send(free_port, b"bad \xff\xfe bytes\n")
    send(free_port, b"good\n")
    messages = [e.get("message") for e in running.collect(2)]
    assert "good" in messages and any("\ufffd" in m for m in messages)


def test_multiline_codec_with_auto_flush(free_port, start_input):
    codec = build_from_dict("codec", "multiline", {"pattern": "^\\s", "what": "previous",
                                                   "auto_flush_interval": 0.5})
    running = start_input("tcp", {"host": "127.0.0.1", "port": free_port, "codec": codec})
    sock = connect(free_port)
    sock.sendall(b"Exception in thread main\n  at a.b(C.java:1)\n  at d.e(F.java:2)\n")
    events = running.collect(1, timeout=5)  # emitted by auto flush while the connection stays open
    assert events[0].get("message") == "Exception in thread main\n  at a.b(C.java:1)\n  at d.e(F.java:2)"
    assert events[0].has_tag("multiline")
    sock.close()


def _client_context(tls_files, with_cert: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(tls_files["ca.crt"]))
    if with_cert:
        context.load_cert_chain(str(tls_files["client.crt"]), str(tls_files["client.key"]))
    return context


def test_tls_with_client_certificate(free_port, start_input, tls_files):
    running = start_input("tcp", {
        "host": "127.0.0.1", "port": free_port, "ssl_enabled": True,
        "ssl_certificate": str(tls_files["server.crt"]), "ssl_key": str(tls_files["server.key"]),
        "ssl_certificate_authorities": [str(tls_files["ca.crt"])], "ssl_client_authentication": "required",
    })
    raw = connect(free_port)
    # A client without a certificate is refused; the server keeps serving others.
    try:
        with _client_context(tls_files, with_cert=False).wrap_socket(raw, server_hostname="127.0.0.1") as bad:
            bad.sendall(b"should not arrive\n")
            assert bad.recv(1) == b""  # TLS 1.3: the refusal comes after the client's handshake
    except (ssl.SSLError, ConnectionError):
        pass
    with _client_context(tls_files, with_cert=True).wrap_socket(connect(free_port),
                                                                server_hostname="127.0.0.1") as good:
        good.sendall(b"secret line\n")
        # Close only once it arrived: closing with the server's unread TLS 1.3 session tickets in the
        # receive buffer makes the kernel reset the connection, which may discard the line in flight.
        event = running.collect(1)[0]
    assert event.get("message") == "secret line"
    # Logstash's ECS name (logstash-input-tcp tcp.rb setup_fields!, since its ECS support #165); ours was [ssl][subject]
    assert event.get("[@metadata][input][tcp][tls][client][subject]") == "CN=client,O=Example"
    time.sleep(0.2)
    assert running.messages() == ["secret line"]
    # A plain-text client on the TLS port: refused, logged and counted; the server keeps serving.
    with connect(free_port) as plain:
        plain.sendall(b"GET / HTTP/1.0\r\n\r\n")
        plain.settimeout(5)
        with contextlib.suppress(ConnectionError):
            plain.recv(100)  # the server answers with a TLS alert, or just closes
    running.until(lambda: running.plugin.counters["tls_handshake_failures"] >= 2, what="handshake failures")


def test_tls_needs_certificate_and_key():
    from pipeline.errors import ConfigErrors

    with pytest.raises(ConfigErrors, match="ssl_certificate and ssl_key"):
        build_from_dict("input", "tcp", {"port": 1, "ssl_enabled": True})


def test_client_mode_reads_from_a_server(free_port, start_input):
    server = socket.create_server(("127.0.0.1", free_port))
    running = start_input("tcp", {"host": "127.0.0.1", "port": free_port, "mode": "client"})
    server.settimeout(5)
    conn, _ = server.accept()
    conn.sendall(b"pushed by server\n")
    assert running.collect(1)[0].get("message") == "pushed by server"
    conn.close()
    server.close()


def test_a_failing_codec_closes_only_its_connection(free_port, start_input):
    from pipeline.codecs.line import Line

    class Exploding(Line):
        def decode(self, data):
            if b"boom" in data:
                raise KeyError("codec bug")
            return super().decode(data)

    codec = Exploding(build_from_dict("codec", "line").options)
    codec.register()
    running = start_input("tcp", {"host": "127.0.0.1", "port": free_port, "codec": codec})
    bad = connect(free_port)
    bad.sendall(b"boom\n")
    running.until(lambda: running.plugin.counters["decode_failures"] == 1, what="failure counted")
    assert bad.recv(10) == b""  # closed by the server
    bad.close()
    send(free_port, b"fine\n")
    assert [e.get("message") for e in running.collect(1)] == ["fine"]


def test_tls_sends_the_extra_chain_certificates(free_port, start_input, tmp_path):
    """A server certificate signed by an intermediate CA: clients trusting only the root need
    the intermediate, which ssl_extra_chain_certs sends (as Logstash's tcp input)."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make test certificates")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=tmp_path, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "root.key", "-out", "root.crt", "-days", "2",
            "-subj", "/CN=Root CA")
    (tmp_path / "ca.ext").write_text("basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "mid.key", "-out", "mid.csr", "-subj", "/CN=Mid CA")
    openssl("x509", "-req", "-in", "mid.csr", "-CA", "root.crt", "-CAkey", "root.key", "-CAcreateserial",
            "-out", "mid.crt", "-days", "2", "-extfile", "ca.ext")
    (tmp_path / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=server")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "mid.crt", "-CAkey", "mid.key", "-CAcreateserial",
            "-out", "server.crt", "-days", "2", "-extfile", "san.ext")
    client = ssl.create_default_context(cafile=str(tmp_path / "root.crt"))
    running = start_input("tcp", {
        "host": "127.0.0.1", "port": free_port, "ssl_enabled": True,
        "ssl_certificate": str(tmp_path / "server.crt"), "ssl_key": str(tmp_path / "server.key"),
        "ssl_extra_chain_certs": [str(tmp_path / "mid.crt")],
    })
    with client.wrap_socket(connect(free_port), server_hostname="127.0.0.1") as tls:
        tls.sendall(b"through the chain\n")
        event = running.collect(1)[0]
    assert event.get("message") == "through the chain"


def test_lines_cut_by_the_codec_are_counted_in_the_input_stats(free_port, start_input):
    running = start_input(f'tcp {{ host => "127.0.0.1" port => {free_port} dns_reverse_lookup_enabled => false '
                          'codec => line { decode_size_limit_bytes => 8 } }')
    send(free_port, b"short\n" + b"L" * 100 + b"\n" + b"M" * 50)
    events = running.collect(3)
    assert [e.get("line_bytes") for e in events] == [None, 100, 50]
    running.until(lambda: running.plugin.counters["truncated_lines"] == 2, what="two counted cuts")


def test_one_read_of_many_lines_is_pushed_within_the_queues_push_limit(free_port, start_input):
    # A 64 KiB read of short lines holds thousands of events: one push of them all fitted only an empty queue.
    running = start_input("tcp", {"host": "127.0.0.1", "port": free_port}, capacity=200)  # pushes of 100 at most
    sizes: list[int] = []
    put = running.queue.put

    async def recording(events):  # type: ignore[no-untyped-def]
        sizes.append(len(events))
        await put(events)

    running.queue.put = recording
    send(free_port, "".join(f"line {n}\n" for n in range(1000)).encode())
    events = running.collect(1000)
    assert [e.get("message") for e in events] == [f"line {n}" for n in range(1000)]
    assert max(sizes) <= 100
