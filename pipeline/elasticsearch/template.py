"""The composable index template for our daily log indices.

Explicit mappings for what the dashboards and alert rules read (``@timestamp``,
``message``, ``tags``, ``log.level``, ``service.name``, ``host.name``, the HTTP
fields of the web-log grok patterns in both their legacy names —
``clientip``, ``verb``, ``response``, ``bytes`` ... — and their ECS names —
``http.response.status_code``, ``url.original`` ...), ``event.original``
stored but not indexed, and dynamic templates mapping other strings to
``keyword`` (text with a ``.keyword`` sub-field for message-like fields).
Date detection is off so a string that once looked like a date cannot make
later events fail with mapping errors.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

DEFAULT_INDEX_PATTERN = "logs-*"  # what data views and archive read: every daily index of ours
# What our template claims: only daily indices (logs-2026.11.21, logs-<service>-2026.11.21), so Elastic
# Agent's data streams logs-<dataset>-<namespace> on the same cluster keep their own template
# (docs/elasticsearch.md, "Which indices the template claims").
DAILY_INDEX_PATTERNS = ("logs-20*", "logs-*-20*")
DEFAULT_TEMPLATE_NAME = "pipeline-logs"
DEFAULT_PRIORITY = 200  # above Elasticsearch's built-in logs-*-* data stream template (100)
TEMPLATE_VERSION = 1
KEYWORD = {"type": "keyword", "ignore_above": 1024}
TEXT_WITH_KEYWORD = {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 1024}}}
_MESSAGE_LIKE = r"^(.*message|.*msg|.*stack_trace|.*stacktrace|.*description|.*reason)$"


def _props(**fields: Any) -> dict[str, Any]:
    return {"properties": fields}


def base_properties() -> dict[str, Any]:
    """The explicitly mapped fields (nested ``properties`` form)."""
    long = {"type": "long"}
    return {
        "@timestamp": {"type": "date"},
        "@version": {"type": "keyword"},
        "message": {"type": "text"},
        "tags": {"type": "keyword"},
        "type": {"type": "keyword"},
        "level": {"type": "keyword"},
        "log": _props(level={"type": "keyword"}, logger={"type": "keyword"},
                      file=_props(path={"type": "keyword"})),
        "service": _props(name={"type": "keyword"}, type={"type": "keyword"}, environment={"type": "keyword"}),
        "host": _props(name={"type": "keyword"}, hostname={"type": "keyword"}),
        "event": _props(original={"type": "keyword", "index": False, "doc_values": False},
                        dataset={"type": "keyword"}, module={"type": "keyword"}, duration=long),
        "error": _props(message={"type": "text"}, type={"type": "keyword"},
                        stack_trace={"type": "keyword", "index": False, "doc_values": False}),
        # Web logs, legacy (non-ECS) grok names: HTTPD_COMMONLOG / HTTPD_COMBINEDLOG / NGINX access.
        "clientip": {"type": "keyword"},
        "ident": {"type": "keyword"},
        "auth": {"type": "keyword"},
        "verb": {"type": "keyword"},
        "request": {"type": "keyword", "ignore_above": 2048, "fields": {"text": {"type": "text"}}},
        "httpversion": {"type": "keyword"},
        "response": long,
        "bytes": long,
        "referrer": {"type": "keyword", "ignore_above": 2048},
        # No explicit "agent": Filebeat/Winlogbeat send it as an object (agent.id, agent.type ...), and a
        # keyword mapping for the legacy grok user-agent string made a real engine refuse every Beats event.
        # The legacy string still maps to keyword through the dynamic templates.
        "request_time": {"type": "double"},
        "geoip": _props(location={"type": "geo_point"}, country_name={"type": "keyword"},
                        city_name={"type": "keyword"}),
        # Web logs, ECS names (grok with ecs_compatibility, the ECS httpd patterns).
        "source": _props(address={"type": "keyword"}, ip={"type": "ip"},
                         geo=_props(location={"type": "geo_point"}, country_name={"type": "keyword"},
                                    city_name={"type": "keyword"})),
        "http": _props(
            version={"type": "keyword"},
            request=_props(method={"type": "keyword"}, referrer={"type": "keyword", "ignore_above": 2048},
                           bytes=long),
            response=_props(status_code=long, body=_props(bytes=long), bytes=long),
        ),
        "url": _props(original={"type": "keyword", "ignore_above": 2048, "fields": {"text": {"type": "text"}}},
                      path={"type": "keyword", "ignore_above": 2048}, query={"type": "keyword", "ignore_above": 2048},
                      domain={"type": "keyword"}),
        "user_agent": _props(original={"type": "keyword", "ignore_above": 2048, "fields": {"text": {"type": "text"}}}),
        "user": _props(name={"type": "keyword"}),
    }


def dynamic_templates() -> list[dict[str, Any]]:
    """Strings become keyword; message-like fields become text with a ``.keyword`` sub-field."""
    return [
        {"message_like_as_text": {"match_mapping_type": "string", "match_pattern": "regex",
                                  "match": _MESSAGE_LIKE, "mapping": TEXT_WITH_KEYWORD}},
        {"strings_as_keyword": {"match_mapping_type": "string", "mapping": KEYWORD}},
    ]


def build_index_template(index_patterns: list[str] | None = None, *, ilm_policy: str | None = "pipeline-logs",
                         priority: int = DEFAULT_PRIORITY, shards: int = 1, replicas: int | None = None,
                         refresh_interval: str | None = None) -> dict[str, Any]:
    """The body of ``PUT _index_template/<name>`` for our daily indices (no data stream)."""
    settings: dict[str, Any] = {"index": {"number_of_shards": shards, "mapping": {"total_fields": {"limit": 2000}}}}
    if replicas is not None:
        settings["index"]["number_of_replicas"] = replicas
    if refresh_interval:
        settings["index"]["refresh_interval"] = refresh_interval
    if ilm_policy:
        settings["index"]["lifecycle"] = {"name": ilm_policy}
    body: dict[str, Any] = {
        "index_patterns": list(index_patterns or DAILY_INDEX_PATTERNS),
        "priority": priority,
        "version": TEMPLATE_VERSION,
        "template": {
            "settings": settings,
            "mappings": {
                "date_detection": False,
                "dynamic_templates": dynamic_templates(),
                "properties": base_properties(),
            },
        },
        "_meta": {"managed_by": "pipeline", "description": "daily log indices written by the pipeline"},
    }
    body["_meta"]["pipeline_hash"] = body_hash(body)
    return body


def body_hash(body: dict[str, Any]) -> str:
    """A stable hash of a template/policy body without its ``_meta`` (what setup compares)."""
    cleaned = {k: v for k, v in body.items() if k != "_meta"}
    return hashlib.sha256(json.dumps(cleaned, sort_keys=True).encode()).hexdigest()[:16]


def template_name(index_pattern: str | list[str] | tuple[str, ...]) -> str:
    """``logs-*`` → ``pipeline-logs``: one template per index pattern; our daily patterns keep that name."""
    patterns = [index_pattern] if isinstance(index_pattern, str) else list(index_pattern)
    if patterns == list(DAILY_INDEX_PATTERNS):
        return DEFAULT_TEMPLATE_NAME
    stem = re.sub(r"[^a-z0-9]+", "-", patterns[0].lower()).strip("-") or "logs"
    return f"pipeline-{stem}"


def split_patterns(text: str | None) -> list[str]:
    """``--index-pattern 'a-*,b-*'`` → ``["a-*", "b-*"]``; None → our daily patterns."""
    if not text:
        return list(DAILY_INDEX_PATTERNS)
    return [part.strip() for part in text.split(",") if part.strip()]


def mapped_type(template: dict[str, Any], field: str, sample: Any = "text") -> str | None:
    """The Elasticsearch type ``field`` (dotted, ``x.keyword`` for sub-fields) gets under ``template``.

    Explicit mappings first, then the dynamic templates for a value like ``sample``;
    None when the field would not be searchable as such. The Kibana generator uses it to
    check that every field a dashboard aggregates on exists with an aggregatable type.
    """
    mappings = template.get("template", {}).get("mappings", {})
    node: dict[str, Any] = {"properties": mappings.get("properties", {})}
    parts = field.split(".")
    for i, part in enumerate(parts):
        props = node.get("properties", {})
        if part in props:
            node = props[part]
            continue
        sub = node.get("fields", {})
        if part in sub and i == len(parts) - 1:
            return str(sub[part].get("type"))
        if props or i == 0:
            return _dynamic_type(mappings.get("dynamic_templates", []), parts[i:], sample)
        return None
    if "properties" in node and "type" not in node:
        return "object"
    return str(node.get("type", "object"))


def _dynamic_type(templates: list[dict[str, Any]], rest: list[str], sample: Any) -> str | None:
    if not isinstance(sample, str):
        return {bool: "boolean", int: "long", float: "float"}.get(type(sample))
    name = rest[0] if len(rest) == 1 else rest[-2] if rest[-1] == "keyword" else rest[-1]
    for entry in templates:
        spec = next(iter(entry.values()))
        if spec.get("match_mapping_type", "string") != "string":
            continue
        pattern = spec.get("match")
        if pattern and spec.get("match_pattern") == "regex" and not re.match(pattern, name):
            continue
        mapping = spec["mapping"]
        if len(rest) >= 2 and rest[-1] == "keyword":
            return str(mapping.get("fields", {}).get("keyword", {}).get("type")) if "fields" in mapping else None
        return str(mapping.get("type"))
    return None
