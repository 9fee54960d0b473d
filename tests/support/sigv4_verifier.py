"""The server side of AWS SigV4 for the fake Elasticsearch: every request's signature recomputed with
botocore from what arrived and the known keys, as Amazon OpenSearch Service does."""

from __future__ import annotations

import hashlib
import re

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from support.fake_es import EsError

KEY_ID, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
_AUTH = re.compile(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                   r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})")


class SigV4Verifier:
    """The server side of SigV4: which keys it knows, and what it saw."""

    def __init__(self, region: str = "us-east-1", service: str = "es") -> None:
        self.secrets = {KEY_ID: SECRET}
        self.region, self.service = region, service
        self.verified: list[str] = []

    def __call__(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> None:
        match = _AUTH.fullmatch(headers.get("authorization", ""))
        if match is None:
            raise EsError(403, "security_exception", f"no SigV4 Authorization header: {headers.get('authorization')!r}")
        key_id, day, region, service, signed_names, signature = match.groups()
        if (region, service) != (self.region, self.service):
            raise EsError(403, "security_exception", f"signed for {region}/{service}")
        stamp = headers.get("x-amz-date", "")
        if not stamp.startswith(day):
            raise EsError(403, "security_exception", "x-amz-date does not match the credential scope")
        names = signed_names.split(";")
        if "host" not in names or any(name not in headers for name in names):
            raise EsError(403, "security_exception", f"signed headers {names} not all received")
        if "x-amz-content-sha256" in headers and headers["x-amz-content-sha256"] != hashlib.sha256(body).hexdigest():
            raise EsError(403, "security_exception", "x-amz-content-sha256 is not the body's")
        request = AWSRequest(method=method, url=f"http://{headers['host']}{raw_path}", data=body,
                             headers={name: headers[name] for name in names})
        request.context["timestamp"] = stamp
        secret = self.secrets.get(key_id)
        if secret is None:
            raise EsError(403, "security_exception", f"unknown access key {key_id}")
        auth = SigV4Auth(Credentials(key_id, secret), service, region)
        if auth.signed_headers(auth.headers_to_sign(request)) != signed_names:
            raise EsError(403, "security_exception", "signed header list differs")
        expected = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
        if expected != signature:
            raise EsError(403, "security_exception", "The request signature we calculated does not match the "
                                                     "signature you provided.")
        self.verified.append(f"{method} {raw_path}")



AMBIENT_AWS_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                         "AWS_DEFAULT_PROFILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                         "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN")


def isolate_from_ambient_aws(monkeypatch, tmp_path) -> None:
    """Only the credentials a test gives: none from this machine's environment, files or metadata service."""
    for name in AMBIENT_AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
