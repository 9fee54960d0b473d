"""The http filter: call a web service for each event and store the response."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import requests

from pipeline import fieldref
from pipeline.event import Event
from pipeline.filters import _ecs
from pipeline.filters.base import Filter, FilterOptions
from pipeline.httpclient import HttpClient, HttpClientOptions
from pipeline.logs import RateLimitedLogger
from pipeline.plugin import option, register
from pipeline.serde import JSONDecodeError, dumps_str, loads
from pipeline.template import Template


def sprintf_object(event: Event, value: Any) -> Any:
    """Strings anywhere inside the value become sprintf templates (keys too), as in Logstash."""
    if isinstance(value, str):
        return Template.compile(value).render(event)
    if isinstance(value, list):
        return [sprintf_object(event, v) for v in value]
    if isinstance(value, dict):
        return {sprintf_object(event, k): sprintf_object(event, v) for k, v in value.items()}
    return value


@register
class Http(Filter):
    """Send an HTTP request per event (``url``, ``headers``, ``query``, ``body`` are sprintf'd) and store
    the response body in ``target_body`` (parsed when it is ``application/json``) and its headers in
    ``target_headers``.

    A connection error or a status outside 200-299 tags the event
    ``_httprequestfailure``; a JSON body that does not parse tags it
    ``_jsonparsefailure``. Each request blocks its pipeline worker.
    """

    name = "http"

    @dataclass(frozen=True, kw_only=True)
    class Options(FilterOptions, HttpClientOptions):
        url: str = option(doc="The URL to call (sprintf).")
        verb: Literal["GET", "HEAD", "PATCH", "DELETE", "POST", "PUT"] = option("GET", "The HTTP method.")
        headers: dict[str, Any] = option({}, "Request headers (sprintf).")
        query: dict[str, Any] = option({}, "Query string parameters (sprintf).")
        body: Any = option(None, "Request body: a string, or a hash/array sent as JSON with body_format json.")
        body_format: Literal["text", "json"] = option("text", "How the body is sent (sets Content-Type).")
        target_body: str | None = option(
            None, "Where the response body goes; default [body] (legacy) or [http][response][body][content].")
        target_headers: str | None = option(
            None, "Where the response headers go; default [headers] (legacy) or "
                  "[@metadata][filter][http][response][headers].")
        tag_on_request_failure: list[str] = option(["_httprequestfailure"], "Tags for failed requests.")
        tag_on_json_failure: list[str] = option(["_jsonparsefailure"], "Tags for JSON bodies that do not parse.")
        ecs_compatibility: _ecs.EcsMode | None = option(
            None, "Selects the default targets. Default: pipeline setting (v8).")

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        legacy = _ecs.resolve(options.ecs_compatibility, self.context) == "disabled"
        self._url = Template.compile(options.url)
        self._target_body = fieldref.parse(
            options.target_body or ("[body]" if legacy else "[http][response][body][content]"))
        self._target_headers = fieldref.parse(
            options.target_headers or ("[headers]" if legacy else "[@metadata][filter][http][response][headers]"))
        self._client = HttpClient(options)
        self._errors = RateLimitedLogger(self.logger)

    def filter(self, event: Event) -> None:
        opts = self.options
        url = self._url.render(event)
        headers = {str(k): str(v) for k, v in sprintf_object(event, opts.headers).items()}
        headers["content-type"] = "application/json" if opts.body_format == "json" else "text/plain"
        body = sprintf_object(event, opts.body)
        if opts.body_format == "json" and isinstance(body, (dict, list)):
            body = dumps_str(body)
        elif body is not None and not isinstance(body, (str, bytes)):
            body = str(body)
        try:
            response = self._client.request(
                opts.verb, url, headers=headers, params=sprintf_object(event, opts.query),
                data=body.encode() if isinstance(body, str) else body)
        except (requests.RequestException, ValueError) as exc:
            self._fail(event, f"{url}: {type(exc).__name__}: {exc}")
            return
        if not 200 <= response.status_code <= 299:
            self._fail(event, f"{url}: status {response.status_code}: {response.text[:200]}")
            return
        self._store(event, response)
        self.filter_matched(event)

    def _fail(self, event: Event, why: str) -> None:
        event.tag(*self.options.tag_on_request_failure)
        self._errors.error(f"http:{self.id}", "http filter (id=%s): error during HTTP request %s", self.id, why)

    def _store(self, event: Event, response: requests.Response) -> None:
        headers = {name.lower(): value for name, value in response.headers.items()}
        event.set(self._target_headers, headers)
        if self.options.verb == "HEAD":
            return
        content_type = headers.get("content-type", "").split(";")[0].strip()
        if content_type == "application/json":
            try:
                event.set(self._target_body, loads(response.content))
            except JSONDecodeError as exc:
                event.tag(*self.options.tag_on_json_failure)
                self._errors.warning(f"http-json:{self.id}", "http filter (id=%s): JSON parsing error: %s",
                                     self.id, exc)
        else:
            event.set(self._target_body, response.text.strip())

    def close(self) -> None:
        self._client.close()
