"""SigV4 signing helpers: what is signed is what urllib3 sends."""

from __future__ import annotations

from botocore.credentials import Credentials

from pipeline.elasticsearch.sigv4 import SigV4Signer, canonical_target


def test_the_query_is_sent_in_aws_canonical_encoding():
    assert canonical_target("/_bulk?filter_path=errors,items.*.error") == "/_bulk?filter_path=errors%2Citems.%2A.error"
    assert canonical_target("/idx/_doc/a%2Fb?refresh=wait_for") == "/idx/_doc/a%2Fb?refresh=wait_for"
    assert canonical_target("/_bulk?") == "/_bulk"
    assert canonical_target("/") == "/"


def test_the_host_header_is_the_one_urllib3_would_send():
    signer = SigV4Signer(Credentials("AKID", "secret"), "us-east-1")
    assert signer.sign("GET", "https://d.es.amazonaws.com:443/", {}, None)["host"] == "d.es.amazonaws.com"
    assert signer.sign("GET", "http://127.0.0.1:9200/", {}, None)["host"] == "127.0.0.1:9200"
    assert signer.sign("GET", "http://[::1]:9200/", {}, None)["host"] == "[::1]:9200"


def test_headers_the_http_stack_may_change_are_not_signed():
    headers = SigV4Signer(Credentials("AKID", "secret", "tok"), "eu-west-3", "aoss").sign(
        "POST", "https://h/_bulk", {"User-Agent": "x", "content-type": "application/json", "Connection": "close"},
        b"{}\n")
    signed = headers["authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    assert "user-agent" not in signed and "connection" not in signed
    assert {"content-type", "host", "x-amz-date", "x-amz-security-token"} <= set(signed)
    assert "/eu-west-3/aoss/aws4_request" in headers["authorization"]
    assert headers["User-Agent"] == "x"  # still sent, unsigned
