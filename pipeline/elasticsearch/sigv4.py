"""AWS Signature Version 4 for Elasticsearch/OpenSearch requests (Amazon OpenSearch Service, the amazon_es output).

Every request is signed just before it leaves (after the body is final, gzip included) by
:class:`SigV4Signer`, which botocore's ``SigV4Auth`` does the cryptography for. Credentials are the
ones configured, else botocore's default chain (environment, ``~/.aws`` files, container and
instance roles), as logstash-output-amazon_es resolves them; refreshable credentials (roles,
SSO) are read again for each request, so rotation needs no restart.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import BotoCoreError, ProfileNotFound
from botocore.session import Session
from elastic_transport import HttpHeaders, Urllib3HttpNode

# Headers the HTTP stack may change after signing: never part of the signature.
_UNSIGNED = frozenset({"user-agent", "expect", "connection", "content-length", "transfer-encoding"})


class AwsCredentialsError(ValueError):
    """No usable AWS credentials (reported as a config error)."""


_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d+")


def check_region(value: str) -> str | None:
    """None for an AWS region name, else why not (an option check)."""
    if _REGION.fullmatch(value):
        return None
    return f"expected an AWS region such as us-east-1 or eu-west-3 (the one in the domain endpoint); got {value!r}"


def resolve_credentials(access_key_id: str | None, secret_access_key: str | None,
                        session_token: str | None = None, *, profile: str | None = None,
                        metadata_timeout: float | None = None, metadata_attempts: int | None = None) -> Credentials:
    """The configured key pair, else the named ``profile`` (~/.aws files), else botocore's default chain.

    ``metadata_timeout`` (seconds) and ``metadata_attempts`` tune the instance metadata service lookup
    of that chain (botocore's metadata_service_timeout / metadata_service_num_attempts).
    """
    if bool(access_key_id) != bool(secret_access_key):
        raise AwsCredentialsError("aws_access_key_id and aws_secret_access_key go together; set both or neither "
                                  "(neither: credentials from the environment, ~/.aws or the instance role)")
    if access_key_id and secret_access_key:
        return Credentials(access_key_id, secret_access_key, session_token or None)
    try:
        session = Session(profile=profile or None)
        if metadata_timeout is not None:
            session.set_config_variable("metadata_service_timeout", metadata_timeout)
        if metadata_attempts is not None:
            session.set_config_variable("metadata_service_num_attempts", metadata_attempts)
        found = session.get_credentials()
    except ProfileNotFound as exc:
        raise AwsCredentialsError(f"AWS profile {profile!r} not found in ~/.aws/credentials or ~/.aws/config "
                                  "(AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE): add it, or set the keys "
                                  "directly") from exc
    except BotoCoreError as exc:  # a profile that names a missing source, a bad config file ...
        raise AwsCredentialsError(f"AWS credentials could not be read: {exc}") from exc
    if found is None:
        where = f"profile {profile!r} has no credentials; " if profile else ""
        raise AwsCredentialsError(
            f"no AWS credentials found: {where}set aws_access_key_id and aws_secret_access_key, or AWS_ACCESS_KEY_ID "
            "and AWS_SECRET_ACCESS_KEY in the environment, or a profile in ~/.aws/credentials, or run with an "
            "instance or container role")
    return found


class SigV4Signer:
    """Signs one request (method, URL, headers, body) for ``service`` in ``region``."""

    def __init__(self, credentials: Credentials, region: str, service: str = "es") -> None:
        self.credentials = credentials
        self.region = region
        self.service = service

    def sign(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> dict[str, str]:
        """The headers to send: ``headers`` plus host, x-amz-date, authorization (and the session token)."""
        parts = urlsplit(url)
        signed = {k.lower(): v for k, v in headers.items() if k.lower() not in _UNSIGNED and k.lower() != "host"}
        signed["host"] = _host_header(parts.scheme, parts.hostname or "", parts.port)
        request = AWSRequest(method=method.upper(), url=url, data=body or b"", headers=signed)
        SigV4Auth(self.credentials.get_frozen_credentials(), self.service, self.region).add_auth(request)
        out = dict(headers)
        out.update({k.lower(): v for k, v in request.headers.items()})
        return out


def _host_header(scheme: str, host: str, port: int | None) -> str:
    """What urllib3 would send as Host, fixed here so that the signed value is the sent one."""
    name = f"[{host}]" if ":" in host else host  # IPv6
    if port is None or (scheme, port) in (("https", 443), ("http", 80)):
        return name
    return f"{name}:{port}"


class SigV4HttpNode(Urllib3HttpNode):
    """The transport's urllib3 node, signing each request with :attr:`signer` (set by :func:`signed_node_class`)."""

    signer: SigV4Signer

    def perform_request(self, method: str, target: str, body: bytes | None = None,  # type: ignore[override]
                        headers: HttpHeaders | None = None, **kwargs: Any) -> Any:
        merged = self._headers.copy()
        if headers:
            merged.update(headers)
        target = canonical_target(target)  # sent exactly as signed
        signed = self.signer.sign(method, self.base_url + target, dict(merged.items()), body)
        return super().perform_request(method, target, body=body, headers=HttpHeaders(signed), **kwargs)


def canonical_target(target: str) -> str:
    """``/_bulk?filter_path=a,b.*`` -> ``/_bulk?filter_path=a%2Cb.%2A``: the query encoded as AWS canonicalizes
    it (RFC 3986 unreserved characters only), since botocore signs the query as it is given."""
    path, sep, query = target.partition("?")
    if not sep or not query:
        return path
    pairs = []
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        pairs.append(f"{quote(unquote(key), safe='-_.~')}={quote(unquote(value), safe='-_.~')}")
    return f"{path}?{'&'.join(pairs)}"


def signed_node_class(signer: SigV4Signer) -> type[SigV4HttpNode]:
    """A node class bound to ``signer`` (the transport instantiates node classes itself)."""
    return type("BoundSigV4HttpNode", (SigV4HttpNode,), {"signer": signer})
