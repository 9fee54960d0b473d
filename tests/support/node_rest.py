"""Plain REST calls to a real node (OpenSearch of scripts/services.sh) to prepare and clean up test data,
without our client, so the client is never checked with itself."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

# Strings as keyword, as the pipeline's index template maps them (term queries and aggregations on them).
KEYWORD_TEMPLATE = {
    "index_patterns": ["logs-*"],
    "template": {"mappings": {"dynamic_templates": [
        {"strings": {"match_mapping_type": "string", "mapping": {"type": "keyword"}}}]}},
}


def call(url: str, method: str, path: str, body: Any = None, ndjson: str | None = None) -> Any:
    data = ndjson.encode() if ndjson is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(url + path, data=data, method=method, headers={
        "Content-Type": "application/x-ndjson" if ndjson is not None else "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read() or b"null")
