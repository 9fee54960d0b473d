"""http input over real HTTP(S): content types, auth, 413, 429, TLS."""

from __future__ import annotations

import time

import pytest
import requests

from pipeline.errors import ConfigErrors
from pipeline.plugin import build_from_dict


def url(running, path: str = "/", scheme: str = "http") -> str:
    running.until(lambda: running.plugin.bound_port is not None, what="listening")
    return f"{scheme}://127.0.0.1:{running.plugin.bound_port}{path}"


def post(address: str, **kwargs) -> requests.Response:
    deadline = time.monotonic() + 30  # the input's thread binds: a loaded machine may take a while
    while True:
        try:
            return requests.post(address, timeout=10, **kwargs)
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_json_body_with_ecs_request_fields(free_port, start_input):
    running = start_input("http", {"host": "127.0.0.1", "port": free_port})
    response = post(url(running, "/ingest?x=1"), json={"level": "error", "n": 3},
                    headers={"User-Agent": "probe/1.0"})
    assert response.status_code == 200
    event = running.collect(1)[0]
    assert (event.get("level"), event.get("n")) == ("error", 3)
    assert event.get("[http][method]") == "POST"
    assert event.get("[url][path]") == "/ingest" and event.get("[url][query]") == "x=1"
    assert event.get("[host][ip]") == "127.0.0.1"
    assert event.get("[user_agent][original]") == "probe/1.0"
    assert event.get("[@metadata][input][http][request][headers]")["content-type"] == "application/json"


def test_json_array_gives_one_event_per_element(free_port, start_input):
    running = start_input("http", {"host": "127.0.0.1", "port": free_port})
    assert post(url(running), json=[{"a": 1}, {"a": 2}]).status_code == 200
    assert [e.get("a") for e in running.collect(2)] == [1, 2]


def test_ndjson_and_plain_bodies(free_port, start_input):
    running = start_input("http", {"host": "127.0.0.1", "port": free_port})
    post(url(running), data=b'{"a":1}\n{"a":2}', headers={"Content-Type": "application/x-ndjson"})
    post(url(running), data=b"plain text body", headers={"Content-Type": "text/plain"})
    events = running.collect(3)
    assert [e.get("a") for e in events[:2]] == [1, 2]
    assert events[2].get("message") == "plain text body"


def test_invalid_json_is_tagged_not_rejected(free_port, start_input):
    running = start_input("http", {"host": "127.0.0.1", "port": free_port})
    assert post(url(running), data=b"{not json", headers={"Content-Type": "application/json"}).status_code == 200
    assert running.collect(1)[0].has_tag("_jsonparsefailure")


def test_legacy_headers_field(free_port, start_input):
    running = start_input("http", {"host": "127.0.0.1", "port": free_port, "ecs_compatibility": "disabled"})
    post(url(running, "/p"), data=b"x", headers={"Content-Type": "text/plain", "X-Team": "ops"})
    event = running.collect(1)[0]
    headers = event.get("headers")
    assert headers["request_method"] == "POST" and headers["request_path"] == "/p"
    assert headers["x_team"] == "ops" and event.get("host") == "127.0.0.1"


def test_basic_auth(free_port, start_input):
    running = start_input("http", {"host": "127.0.0.1", "port": free_port, "user": "ops", "password": "s3cret"})
    denied = post(url(running), data=b"x")
    assert denied.status_code == 401 and "Basic" in denied.headers["WWW-Authenticate"]
    assert post(url(running), data=b"x", auth=("ops", "wrong")).status_code == 401
    assert post(url(running), data=b"ok", auth=("ops", "s3cret")).status_code == 200
    assert running.collect(1)[0].get("message") == "ok"
    assert running.plugin.counters["unauthorized"] == 2


def test_max_content_length_gives_413(free_port, start_input):
    running = start_input("http", {"host": "127.0.0.1", "port": free_port, "max_content_length": 100})
    assert post(url(running), data=b"x" * 1000).status_code == 413
    assert post(url(running), data=b"small").status_code == 200


def test_full_queue_gives_429(free_port, start_input):
    # A pipeline queue of 1 that nobody drains: the second request cannot be accepted in time.
    running = start_input("http", {"host": "127.0.0.1", "port": free_port, "backpressure_timeout": 0.3},
                          capacity=1)
    address = url(running)
    assert post(address, data=b"first").status_code == 200
    busy = post(address, data=b"second")
    assert busy.status_code == 429 and busy.headers["Retry-After"] == "1"
    assert [e.get("message") for e in running.queue.get_batch(10, 0)] == ["first"]


def test_custom_response(free_port, start_input):
    running = start_input("http", {"host": "127.0.0.1", "port": free_port, "response_code": 202,
                                   "response_headers": {"X-Pipeline": "yes"}})
    response = post(url(running), data=b"x")
    assert response.status_code == 202 and response.headers["X-Pipeline"] == "yes"


def test_https(free_port, start_input, tls_files):
    running = start_input("http", {"host": "127.0.0.1", "port": free_port, "ssl_enabled": True,
                                   "ssl_certificate": str(tls_files["server.crt"]),
                                   "ssl_key": str(tls_files["server.key"])})
    response = post(url(running, scheme="https"), data=b"over tls", verify=str(tls_files["ca.crt"]))
    assert response.status_code == 200
    assert running.collect(1)[0].get("message") == "over tls"


def test_https_from_a_pkcs12_keystore_with_client_certificates_checked_against_a_truststore(
        free_port, start_input, tmp_path):
    from support.pki import Pki

    pki = Pki(tmp_path)
    running = start_input("http", {"host": "127.0.0.1", "port": free_port, "ssl_enabled": True,
                                   "ssl_keystore_path": str(pki.keystore("server.p12", "server")),
                                   "ssl_keystore_password": "changeit",
                                   "ssl_truststore_path": str(pki.truststore("clients.p12")),
                                   "ssl_truststore_password": "changeit", "ssl_client_authentication": "required"})
    address = url(running, scheme="https")
    response = post(address, data=b"mutual tls", verify=str(pki.ca_pem), cert=(str(pki.client_pem), str(pki.client_key)))
    assert response.status_code == 200 and running.collect(1)[0].get("message") == "mutual tls"
    # Refused in the handshake (TLS 1.2) or right after it (TLS 1.3: the client sees the connection close)
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(address, data=b"no certificate", verify=str(pki.ca_pem), timeout=10)
    assert [e.get("message") for e in running.drain()] == ["mutual tls"]


def test_keystore_settings_logstash_refuses_are_config_errors(tmp_path):
    from support.pki import Pki

    pki = Pki(tmp_path)
    keystore = str(pki.keystore("server.p12", "server"))
    with pytest.raises(ConfigErrors, match="Use either an `ssl_certificate` or an `ssl_keystore_path`"):
        build_from_dict("input", "http", {"ssl_enabled": True, "ssl_keystore_path": keystore,
                                          "ssl_certificate": str(pki.server_pem), "ssl_key": str(pki.server_key)})
    with pytest.raises(ConfigErrors, match="`ssl_truststore_path` requires setting `ssl_client_authentication`"):
        build_from_dict("input", "http", {"ssl_enabled": True, "ssl_keystore_path": keystore,
                                          "ssl_truststore_path": str(pki.truststore("t.p12"))})
    jks = build_from_dict("input", "http", {"ssl_enabled": True, "ssl_keystore_path": str(pki.jks("server.jks"))})
    with pytest.raises(Exception, match="is a Java JKS keystore.*keytool -importkeystore"):
        jks.register()


def test_user_without_password_is_a_config_error():
    with pytest.raises(ConfigErrors, match="both user and password"):
        build_from_dict("input", "http", {"user": "ops"})


def test_the_client_address_and_headers_are_set_over_the_bodys_then_add_field_appends(free_port, start_input):
    # Logstash's http sets the headers and the remote host over what the codec decoded and only then decorates
    # (logstash-input-http http.rb push_decoded_event; issue #61): a JSON body's "host" is replaced, and an
    # add_field of host appends to the address. We kept the body's host and headers.
    running = start_input(f'http {{ host => "127.0.0.1" port => {free_port} ecs_compatibility => disabled '
                          'add_field => { "host" => "x" } }')
    post(url(running), json={"host": "web1", "headers": "mine", "a": 1})
    [event] = running.collect(1)
    assert event.get("host") == ["127.0.0.1", "x"] and event.get("a") == 1
    assert event.get("[headers][request_method]") == "POST"


def test_ecs_the_client_address_goes_into_the_bodys_host_object(free_port, start_input):
    running = start_input("http", {"host": "127.0.0.1", "port": free_port})
    post(url(running), json={"host": {"ip": "10.0.0.9", "name": "web1"}})
    [event] = running.collect(1)
    assert event.get("host") == {"ip": "127.0.0.1", "name": "web1"}
