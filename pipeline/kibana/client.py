"""A small client for the two Kibana APIs we need: ``GET /api/status`` and the saved-objects import."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from pipeline.kibana.errors import KibanaError, KibanaNotReadyError

USER_AGENT = "pipeline-dashboards"
_NOT_READY_STATES = {"unavailable", "critical", "red"}


@dataclass
class ImportResult:
    """Kibana's answer to an import: ``success``, ``successCount``, ``successResults``, ``errors``."""

    success: bool
    success_count: int
    results: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_response(cls, body: Any) -> ImportResult:
        if not isinstance(body, dict) or "success" not in body:
            raise KibanaError(f"unexpected answer from the import API: {str(body)[:300]}")
        return cls(bool(body["success"]), int(body.get("successCount", 0)),
                   list(body.get("successResults", [])), list(body.get("errors", [])))


def api_key_header(api_key: str) -> str:
    """``ApiKey <base64(id:key)>``; accepts ``id:key`` or the already encoded form."""
    encoded = base64.b64encode(api_key.encode()).decode() if ":" in api_key else api_key
    return f"ApiKey {encoded}"


def overall_state(status: Any) -> str:
    """``available``/``degraded``/``unavailable`` (Kibana 8) or ``green``/``yellow``/``red`` (7.x, OpenSearch)."""
    overall = status.get("status", {}).get("overall", {}) if isinstance(status, dict) else {}
    return str(overall.get("level") or overall.get("state") or "unknown")


class KibanaClient:
    def __init__(self, url: str, *, user: str | None = None, password: str | None = None,
                 api_key: str | None = None, space: str | None = None, request_timeout: float = 60.0,
                 verify: bool | str = True, session: requests.Session | None = None) -> None:
        if api_key and user:
            raise ValueError("give either a user/password or an API key, not both")
        self.url = url.rstrip("/")
        self.space = space if space and space != "default" else None
        self.request_timeout = request_timeout
        self.session = session or requests.Session()
        self.session.verify = verify
        self.session.headers.update({"kbn-xsrf": USER_AGENT, "osd-xsrf": "true", "User-Agent": USER_AGENT})
        if api_key:
            self.session.headers["Authorization"] = api_key_header(api_key)
        elif user:
            self.session.auth = (user, password or "")

    def api_url(self, path: str) -> str:
        """``path`` under the space, as Kibana routes it: ``/s/<space>/api/...``."""
        prefix = f"/s/{self.space}" if self.space else ""
        return f"{self.url}{prefix}{path}"

    def status(self) -> dict[str, Any] | None:
        """Kibana's status when it is up and usable, None while it is starting; raises on bad credentials."""
        try:
            response = self.session.get(f"{self.url}/api/status", timeout=self.request_timeout)
        except requests.RequestException:
            return None
        if response.status_code in (401, 403):
            raise KibanaError(f"Kibana at {self.url} refused the credentials (HTTP {response.status_code}); "
                              "check --user/--password or --api-key")
        if response.status_code != 200:
            return None
        try:
            body = response.json()
        except ValueError:
            return None
        return None if overall_state(body) in _NOT_READY_STATES else body

    def wait_ready(self, timeout: float, *, interval: float = 2.0,
                   log: Callable[[str], None] = lambda _msg: None) -> dict[str, Any]:
        """Poll ``/api/status`` until Kibana is available; KibanaNotReadyError after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        announced = False
        while True:
            status = self.status()
            if status is not None:
                return status
            if time.monotonic() + interval > deadline:
                raise KibanaNotReadyError(f"Kibana at {self.url} was not ready within {timeout:g}s "
                                          "(is it running and connected to Elasticsearch? try --timeout)")
            if not announced:
                log(f"waiting for Kibana at {self.url} (up to {timeout:g}s)")
                announced = True
            time.sleep(interval)

    def import_ndjson(self, text: str, *, overwrite: bool = True, filename: str = "export.ndjson") -> ImportResult:
        """``POST /api/saved_objects/_import`` with the NDJSON as the multipart ``file`` field."""
        params = {"overwrite": "true"} if overwrite else {}
        files = {"file": (filename, text.encode("utf-8"), "application/ndjson")}
        try:
            response = self.session.post(self.api_url("/api/saved_objects/_import"), params=params, files=files,
                                         timeout=self.request_timeout)
        except requests.RequestException as exc:
            raise KibanaError(f"cannot reach Kibana at {self.url}: {exc}") from exc
        if response.status_code != 200:
            raise KibanaError(f"Kibana refused the import: HTTP {response.status_code} {_message(response)}"
                              + (f" (does the space '{self.space}' exist?)" if response.status_code == 404
                                 and self.space else ""))
        try:
            return ImportResult.from_response(response.json())
        except ValueError as exc:
            raise KibanaError(f"the import API answered something that is not JSON: {response.text[:300]}") from exc


def _message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    return str(body.get("message", body))[:300] if isinstance(body, dict) else str(body)[:300]
