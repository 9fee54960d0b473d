"""The same queries over the same events in the local index and in a real OpenSearch node give the same
hit counts and the same buckets.

Events: the 10,000 real Apache access lines of ../shared/data/access/apache_logs through grok
``%{COMBINEDAPACHELOG}`` (ECS names) and their log time as ``@timestamp``; OpenSearch gets our index
template first, so both sides type the fields the same way. Queries: KQL, generated from values found
in the data with a fixed seed (terms, value lists, ranges on numbers, dates and keywords, wildcards,
existence, phrases, booleans, field patterns, nested syntax), each turned into DSL for OpenSearch by the
same code that serves the alert engine. Known differences (documented in docs/local-index.md) are
listed in ``KNOWN_DIFFERENCES`` with the reason, and each must still differ, so the list stays true.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from pipeline.elasticsearch.template import build_index_template
from pipeline.event import Event
from pipeline.grok import Grok
from pipeline.localindex import LocalIndex, parse_query_text
from pipeline.localindex.esdsl import to_dsl

pytestmark = pytest.mark.real_service

INDEX = "difftest-2015.05"
_KQL_SPECIAL = re.compile(r'([\\():<>"*{}])')


def kql_value(text: str) -> str:
    """A value as a KQL literal: special characters and the keywords escaped."""
    escaped = _KQL_SPECIAL.sub(r"\\\1", text)
    return re.sub(r"(?i)(^|\s)(or|and|not)(?=\s|$)", r"\1\\\2", escaped)


def load_events(shared: Path) -> list[dict[str, Any]]:
    grok = Grok("%{COMBINEDAPACHELOG}")
    events = []
    for line in (shared / "access" / "apache_logs").read_text(encoding="utf-8").split("\n"):
        if not line:
            continue
        fields = grok.match(line)
        if fields is None:  # a real truncated line: tagged, as the grok filter would
            fields = {"tags": ["_grokparsefailure"]}
        stamp = re.search(r"\[([^\]]+)\]", line)
        assert stamp is not None, line
        moment = datetime.strptime(stamp.group(1), "%d/%b/%Y:%H:%M:%S %z")
        events.append({"@timestamp": moment.isoformat().replace("+00:00", "Z"), "message": line, **fields})
    return events


@pytest.fixture(scope="module")
def corpus(shared_data: Path, opensearch_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
        tuple[LocalIndex, str, list[dict[str, Any]]]]:
    events = load_events(shared_data)
    local = LocalIndex(tmp_path_factory.mktemp("differential") / "index")
    local.write(INDEX, [Event(dict(e)) for e in events])
    session = requests.Session()
    base = opensearch_url.rstrip("/")
    session.delete(f"{base}/{INDEX}", timeout=30)
    template = build_index_template([f"{INDEX}*"], ilm_policy=None, replicas=0)
    template.pop("_meta", None)
    response = session.put(f"{base}/_index_template/difftest", json=template, timeout=30)
    assert response.ok, response.text
    lines = []
    for i, event in enumerate(events):
        lines.append(json.dumps({"index": {"_index": INDEX, "_id": str(i)}}))
        lines.append(json.dumps(event))
    response = session.post(f"{base}/_bulk?refresh=true", data="\n".join(lines) + "\n",
                            headers={"Content-Type": "application/x-ndjson"}, timeout=300)
    assert response.ok and not response.json()["errors"], response.text[:2000]
    yield local, base, events
    session.delete(f"{base}/{INDEX}", timeout=30)
    session.delete(f"{base}/_index_template/difftest", timeout=30)


def engine_count(base: str, query: dict[str, Any]) -> int:
    response = requests.post(f"{base}/{INDEX}/_count", json={"query": query}, timeout=60)
    assert response.ok, f"{query}: {response.text[:500]}"
    return int(response.json()["count"])


def kql_queries(events: list[dict[str, Any]]) -> list[str]:
    """≥ 150 KQL queries built from values in the data (seeded, so every run asks the same)."""
    rnd = random.Random(20151705)

    def values(path: str) -> list[Any]:
        out: Counter[Any] = Counter()
        for event in events:
            node: Any = event
            for part in path.split("."):
                node = node.get(part) if isinstance(node, dict) else None
            if node is not None:
                out[node] += 1
        return [v for v, _ in out.most_common()]

    statuses = values("http.response.status_code")
    methods = values("http.request.method")
    ips = values("source.address")
    urls = values("url.original")
    byte_sizes = sorted(values("http.response.body.bytes"))
    segments = sorted({s for u in urls for s in re.split(r"[/?=&.]", u) if re.fullmatch(r"[a-z]{4,}", s)})
    agents = ["Mozilla", "Chrome", "Safari", "Firefox", "Googlebot", "bingbot", "Windows", "Macintosh",
              "Linux", "compatible", "iPhone", "Android"]
    words = ["GET", "POST", "HEAD", "presentations", "logstash", "images", "blog", "articles", "projects",
             "Mozilla", "compatible", "Chrome", "Windows", "Linux", "semicomplete", "misc", "scripts"]
    queries = [f"http.response.status_code:{s}" for s in statuses]
    queries += [f"http.request.method:{m}" for m in methods]
    queries += [f"source.address:{kql_value(ip)}" for ip in ips[:15]]
    queries += [f'source.address:"{ip}"' for ip in ips[15:20]]
    queries += [f"http.response.status_code {op} {rnd.choice(statuses)}" for op in ("<", "<=", ">", ">=")
                for _ in range(3)]
    for _ in range(12):
        low, high = sorted(rnd.sample(byte_sizes, 2))
        queries.append(f"http.response.body.bytes >= {low} and http.response.body.bytes < {high}")
    queries += [f"http.response.body.bytes > {rnd.choice(byte_sizes)}" for _ in range(5)]
    queries += [f"http.request.method:({a} or {b})" for a, b in zip(methods, methods[1:], strict=False)]
    queries += [f"not http.response.status_code:{s}" for s in statuses[:6]]
    queries += [f"url.original:*{seg}*" for seg in rnd.sample(segments, 15)]
    queries += [f"url.original:/{seg}*" for seg in rnd.sample(segments, 10)]
    queries += [f"user_agent.original:*{a}*" for a in agents]
    queries += [f"message:{w}" for w in words]
    queries += [f'message:"{a} {b}"' for a, b in (("GET", "presentations"), ("compatible", "Googlebot"),
                                                   ("Windows", "NT"), ("Intel", "Mac"), ("HTTP", "1.1"))]
    queries += [f"http.request.method:{m} and not http.response.status_code:200" for m in methods[:3]]
    queries += [f"(http.request.method:{m} or http.response.status_code:{s}) and not source.address:{kql_value(ip)}"
                for m, s, ip in zip(methods[:4], statuses[1:5], ips[:4], strict=False)]
    queries += ["http.request.referrer:*", "not http.request.referrer:*", "user_agent.original:*",
                "http.*:404", "http.*:*", "*.method:POST", "http.response.*:304",
                "http:{ request:{ method:GET } }", "http:{ response:{ status_code >= 400 } }",
                "http.version:1.1", "http.version < 1.1", "http.version >= 1.0",
                "source.address >= 200", "source.address < 100", "url.original >= /m", "url.original < /b",
                "@timestamp >= \"2015-05-18T00:00:00Z\"", "@timestamp < \"2015-05-18T12:00:00Z\"",
                "@timestamp >= 2015-05-19", "@timestamp:\"2015-05-17T10:05:03Z\"", "@timestamp < now",
                "timestamp:*May/2015\\:12*", "not (http.request.method:GET or http.request.method:HEAD)",
                "http.response.status_code:(404 or 500 or 503) and http.request.method:GET",
                "http.response.status_code >= 400 and http.response.status_code < 500 and not http.request.method:GET",
                "tags:_grokparsefailure", "not tags:*", "*", "*:*", ""]
    return queries


_LUCENE_SPECIAL = re.compile(r'([+\-=&|><!(){}\[\]^"~*?:\\/ ])')


def lucene_value(text: str) -> str:
    return _LUCENE_SPECIAL.sub(r"\\\1", text)


def lucene_queries(events: list[dict[str, Any]]) -> list[str]:
    """Lucene query strings (Kibana's "Lucene" language, ES's query_string) with named fields."""
    rnd = random.Random(17052015)
    statuses = sorted({e["http"]["response"]["status_code"] for e in events if "http" in e})
    methods = sorted({e["http"]["request"]["method"] for e in events if "http" in e})
    ips = sorted({e["source"]["address"] for e in events if "source" in e})
    urls = sorted({e["url"]["original"] for e in events if "url" in e})
    sizes = sorted({e["http"]["response"]["body"]["bytes"] for e in events
                    if "http" in e and "body" in e["http"]["response"]})
    queries = [f"http.response.status_code:{s}" for s in statuses]
    queries += [f"http.request.method:{m}" for m in methods]
    queries += [f"source.address:{lucene_value(ip)}" for ip in rnd.sample(ips, 25)]
    queries += [f'source.address:"{ip}"' for ip in rnd.sample(ips, 10)]
    queries += [f"url.original:{lucene_value(u)}" for u in rnd.sample(urls, 20)]
    queries += [f"http.response.status_code:[{a} TO {b}]" for a, b in
                (sorted(rnd.sample(statuses, 2)) for _ in range(8))]
    queries += [f"http.response.status_code:{{{a} TO {b}}}" for a, b in
                (sorted(rnd.sample(statuses, 2)) for _ in range(5))]
    queries += [f"http.response.body.bytes:[{a} TO {b}]" for a, b in (sorted(rnd.sample(sizes, 2)) for _ in range(10))]
    queries += [f"http.response.body.bytes:>{rnd.choice(sizes)}" for _ in range(5)]
    queries += [f"http.response.body.bytes:<={rnd.choice(sizes)}" for _ in range(5)]
    queries += [f"http.response.body.bytes:[{rnd.choice(sizes)} TO *]" for _ in range(3)]
    queries += [f"http.request.method:{a} OR http.request.method:{b}" for a, b in zip(methods, methods[1:], strict=False)]
    queries += [f"http.request.method:({a} OR {b})" for a, b in zip(methods, methods[2:], strict=False)]
    queries += [f"http.request.method:{m} AND NOT http.response.status_code:200" for m in methods]
    queries += [f"+http.request.method:{m} -http.response.status_code:404" for m in methods[:3]]
    queries += [f"NOT http.response.status_code:{s}" for s in statuses[:8]]
    segments = sorted({s for u in urls for s in re.split(r"[/?=&.]", u) if re.fullmatch(r"[a-z]{4,}", s)})
    queries += [f"url.original:*{seg}*" for seg in rnd.sample(segments, 15)]
    queries += [f"url.original:\\/{seg}*" for seg in rnd.sample(segments, 10)]
    queries += [f"url.original:\\/{seg}?*" for seg in rnd.sample(segments, 5)]
    queries += [f"url.original:/\\/{seg}.*/" for seg in rnd.sample(segments, 8)]
    queries += ["_exists_:http.request.referrer", "NOT _exists_:http.request.referrer", "user_agent.original:*",
                "http.version:1.1", "http.version:[1.0 TO 1.1}", "source.address:[200 TO 3]",
                "url.original:[/m TO /p]", "@timestamp:[2015-05-18T00:00:00Z TO 2015-05-19T00:00:00Z}",
                "@timestamp:>=2015-05-19", "@timestamp:[* TO now]", "tags:_grokparsefailure",
                "http.request.method:GET AND http.response.status_code:200 OR http.request.method:HEAD",
                "(http.request.method:GET OR http.request.method:HEAD) AND http.response.status_code:[400 TO 499]",
                "http.response.status_code:(404 OR 500 OR 503) AND http.request.method:GET",
                "*:*", "*"]
    return queries


def test_lucene_counts_agree_with_the_real_engines_query_string(
        corpus: tuple[LocalIndex, str, list[dict[str, Any]]]) -> None:
    """Our Lucene parser against OpenSearch's own (query_string), on named fields."""
    local, base, events = corpus
    queries = lucene_queries(events)
    assert len(queries) >= 150
    mismatches = []
    for text in queries:
        ours = local.count(INDEX, parse_query_text(text, "lucene"))
        theirs = engine_count(base, {"query_string": {"query": text}})
        if ours != theirs:
            mismatches.append(f"{text!r}: local {ours}, opensearch {theirs}")
    assert not mismatches, "\n".join(mismatches)


# Where the local index and Elasticsearch/OpenSearch knowingly differ (docs/local-index.md, "Known
# differences"): the standard analyzer keeps "search.png" or "1.1" as one token; our full-text index splits
# at dots, so a word inside such a token matches here and not there.
_DOTTED = "the word also occurs inside dotted tokens (semicomplete.com, file.png, 1.1) that the standard analyzer keeps whole"
KNOWN_DIFFERENCES: dict[str, str] = {
    "message:HEAD": _DOTTED,
    "message:logstash": _DOTTED,
    "message:blog": _DOTTED,
    "message:Linux": _DOTTED,
    "message:semicomplete": _DOTTED,
}


def test_kql_counts_agree_with_the_real_engine(corpus: tuple[LocalIndex, str, list[dict[str, Any]]]) -> None:
    local, base, events = corpus
    queries = kql_queries(events)
    assert len(queries) >= 150
    mismatches = []
    for text in queries:
        nodes = parse_query_text(text, "kuery")
        ours = local.count(INDEX, nodes)
        theirs = engine_count(base, to_dsl(nodes))
        if (ours != theirs) != (text in KNOWN_DIFFERENCES):
            mismatches.append(f"{text!r}: local {ours}, opensearch {theirs}")
    assert not mismatches, "\n".join(mismatches)


def test_terms_buckets_agree_with_the_real_engine(corpus: tuple[LocalIndex, str, list[dict[str, Any]]]) -> None:
    local, base, _ = corpus
    for text, field in (("http.request.method:GET", "http.response.status_code"),
                        ("http.response.status_code >= 400", "http.request.method"),
                        ("", "http.version"), ("not http.response.status_code:200", "source.address")):
        nodes = parse_query_text(text, "kuery")
        ours = dict(local.terms(INDEX, field, nodes, size=20))
        body = {"size": 0, "query": to_dsl(nodes), "aggs": {"t": {"terms": {"field": field, "size": 20}}}}
        response = requests.post(f"{base}/{INDEX}/_search", json=body, timeout=60)
        assert response.ok, response.text[:500]
        theirs = {b["key"]: b["doc_count"] for b in response.json()["aggregations"]["t"]["buckets"]}
        # Keys come back typed by the mapping (numbers for long fields): compare as text.
        assert {str(k): v for k, v in ours.items()} == {str(k): v for k, v in theirs.items()}, (text, field)
