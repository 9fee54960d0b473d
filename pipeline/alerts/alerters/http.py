"""HTTP for the webhook-style alerters: one place mapping requests' errors to DeliveryError."""

from __future__ import annotations

import re
from typing import Any

import requests

from pipeline.alerts.errors import DeliveryError


def send(method: str, url: str, *, timeout: float, proxy: str | None = None, **kwargs: Any
         ) -> requests.Response:
    """One request; network errors and 5xx/429 are retryable DeliveryErrors, other 4xx are not."""
    proxies = {"http": proxy, "https": proxy} if proxy else None
    try:
        response = requests.request(method, url, timeout=timeout, proxies=proxies, **kwargs)
    except requests.RequestException as exc:
        raise DeliveryError(f"{method} {_safe(url)} failed: {type(exc).__name__}: {_without_queries(str(exc))}"
                            ) from exc
    if response.status_code == 429 or response.status_code >= 500:
        raise DeliveryError(f"{_safe(url)} answered HTTP {response.status_code}: {response.text[:200]}",
                            retry_after=_retry_after(response))
    if response.status_code >= 400:
        raise DeliveryError(f"{_safe(url)} answered HTTP {response.status_code}: {response.text[:200]}",
                            retryable=False)
    return response


def json_body(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError as exc:
        raise DeliveryError(f"expected a JSON answer, got {response.text[:200]!r}") from exc
    if not isinstance(body, dict):
        raise DeliveryError(f"expected a JSON object answer, got {response.text[:200]!r}")
    return body


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.isdigit() else None


def _safe(url: str) -> str:
    """The URL without its query (tokens and signatures live there)."""
    return url.split("?", 1)[0]


_QUERY = re.compile(r"\?[^\s'\")]+")


def _without_queries(text: str) -> str:
    """A requests error names the URL with its query (``...send?access_token=...``): keep the path only."""
    return _QUERY.sub("?<query hidden>", text)
