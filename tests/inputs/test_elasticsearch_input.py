"""elasticsearch input, built from config text, against a real OpenSearch node (scripts/services.sh); the
client's product-aware transport talks to it directly."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from support.node_rest import call
from support.push_sizes import run_into_small_queue

from pipeline.errors import ConfigErrors
from pipeline.testing import build_plugin, run_pipeline


@pytest.fixture(scope="module")
def node(opensearch_url: str) -> Iterator[tuple[str, str]]:
    """(node URL, an index of 25 documents)."""
    index = f"es-input-{uuid.uuid4().hex[:8]}"
    lines = []
    for n in range(25):
        lines.append(json.dumps({"index": {"_index": index, "_id": f"doc-{n}"}}))
        lines.append(json.dumps({"n": n, "service": "api" if n % 2 else "db", "message": f"line {n}"}))
    call(opensearch_url, "POST", "/_bulk?refresh=true", ndjson="\n".join(lines) + "\n")
    yield opensearch_url, index
    call(opensearch_url, "DELETE", f"/{index}")


def _read(node: tuple[str, str], options: str) -> list:
    url, index = node
    return run_pipeline(f'input {{ elasticsearch {{ hosts => ["{url}"] index => "{index}" {options} }} }}')


@pytest.mark.real_service
def test_every_hit_becomes_an_event_across_scroll_pages(node: tuple[str, str]) -> None:
    events = _read(node, "size => 7")  # auto on OpenSearch pages with scroll: 4 pages
    assert sorted(e.get("n") for e in events) == list(range(25))
    assert events[0].get("message").startswith("line ")


@pytest.mark.real_service
def test_query_docinfo_and_target(node: tuple[str, str]) -> None:
    query = '{ "query": { "term": { "service.keyword": "db" } }, "sort": [ { "n": "asc" } ] }'
    events = _read(node, f"query => '{query}' docinfo => true target => \"[doc]\" search_api => \"scroll\" size => 5")
    assert [e.get("[doc][n]") for e in events] == list(range(0, 25, 2))
    assert events[0].get("[@metadata][_id]") == "doc-0" and events[0].get("[@metadata][_index]") == node[1]
    assert "_id" not in events[0].get("[doc]")


@pytest.mark.real_service
def test_docinfo_target_and_fields(node: tuple[str, str]) -> None:
    query = '{ "query": { "ids": { "values": ["doc-3"] } } }'
    [event] = _read(node, f"query => '{query}' docinfo => true docinfo_target => \"[meta]\" "
                          f'docinfo_fields => ["_id"]')
    assert event.get("[meta]") == {"_id": "doc-3"}


@pytest.mark.real_service
def test_ecs_docinfo_goes_under_metadata_input_elasticsearch(node: tuple[str, str]) -> None:
    query = '{ "query": { "ids": { "values": ["doc-4"] } } }'
    [event] = _read(node, f"query => '{query}' docinfo => true ecs_compatibility => v8")
    assert event.get("[@metadata][input][elasticsearch][_id]") == "doc-4"


@pytest.mark.real_service
def test_aggregations_response_is_one_event(node: tuple[str, str]) -> None:
    query = '{ "aggs": { "per_service": { "terms": { "field": "service.keyword" } }, "top": { "max": { "field": "n" } } } }'
    [event] = _read(node, f"query => '{query}' response_type => aggregations")
    buckets = {b["key"]: b["doc_count"] for b in event.get("[per_service][buckets]")}
    assert buckets == {"api": 12, "db": 13} and event.get("[top][value]") == 24


@pytest.mark.real_service
def test_a_failing_search_is_logged_and_the_input_ends(node: tuple[str, str], caplog: pytest.LogCaptureFixture) -> None:
    url, _ = node
    events = run_pipeline(f'input {{ elasticsearch {{ hosts => ["{url}"] index => "no-such-index-here" }} }}')
    assert events == [] and "no-such-index-here" in caplog.text and "index_not_found_exception" in caplog.text


@pytest.mark.parametrize(("options", "message"), [
    ("query => '{ \"query\": '", "query is not valid JSON"),
    ("query => '[1]'", "must be a JSON object"),
    ('schedule => "not a cron"', "schedule cron"),
    ('tracking_field => "[event][ingested]"', "not implemented yet"),
])
def test_config_errors(options: str, message: str) -> None:
    with pytest.raises(ConfigErrors, match=message):
        build_plugin("input", f"elasticsearch {{ {options} }}")


@pytest.mark.real_service
def test_search_after_needs_elasticsearch_8_and_says_so_on_opensearch(node: tuple[str, str],
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    assert _read(node, 'search_api => "search_after"') == []  # OpenSearch has no _pit API of Elasticsearch's shape
    assert "search of" in caplog.text and "failed" in caplog.text


@pytest.mark.real_service
def test_pipeline_run_reads_the_index_once_and_exits(node: tuple[str, str], pipeline_cmd: list[str],
                                                      tmp_path) -> None:
    import subprocess

    url, index = node
    out = tmp_path / "out.jsonl"
    done = subprocess.run([*pipeline_cmd, "run", "--path.data", str(tmp_path / "data"), "-e",
                           f'input {{ elasticsearch {{ hosts => ["{url}"] index => "{index}" size => 10 docinfo => true }} }} '
                           f'filter {{ mutate {{ add_field => {{ "doc_id" => "%{{[@metadata][_id]}}" }} }} }} '
                           f'output {{ file {{ path => "{out}" codec => json_lines }} }}'],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    docs = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(d["n"] for d in docs) == list(range(25))
    assert {d["doc_id"] for d in docs} == {f"doc-{n}" for n in range(25)}


@pytest.mark.real_service
def test_a_schedule_runs_the_query_again_until_the_pipeline_stops(node: tuple[str, str], tmp_path) -> None:
    import asyncio

    from pipeline.config import loader
    from pipeline.runtime.builder import build_pipeline
    from pipeline.runtime.runner import PipelineRunner, RunSettings

    url, index = node
    text = (f'input {{ elasticsearch {{ hosts => ["{url}"] index => "{index}" schedule => "* * * * * *" '
            f"query => '{{ \"query\": {{ \"ids\": {{ \"values\": [\"doc-1\"] }} }} }}' }} }} output {{ null {{}} }}")
    built = build_pipeline(loader.parse_text(text, "<test>"), "es", tmp_path)
    seen: list[int] = []
    route = built.route
    built.route = lambda evs, sinks: (seen.extend(e.get("n") for e in evs), route(evs, sinks))  # type: ignore[func-returns-value]
    runner = PipelineRunner(built, RunSettings(batch_delay=0.01))

    async def main() -> None:
        task = asyncio.create_task(runner.run())
        for _ in range(600):
            if len(seen) >= 2:
                break
            await asyncio.sleep(0.05)
        runner.request_stop()
        await asyncio.wait_for(task, 30)

    asyncio.run(main())
    assert len(seen) >= 2 and set(seen) == {1}  # one hit per run, run at least twice


def test_search_after_pages_over_a_point_in_time_on_elasticsearch_8() -> None:
    """Elasticsearch 8 (the fake cluster: OpenSearch has no _pit API): auto picks search_after, the sort of the
    query is kept with _shard_doc as tie-breaker, and the point in time is closed at the end."""
    from elasticsearch import Elasticsearch
    from support.fake_es import FakeElasticsearch

    with FakeElasticsearch() as server:
        client = Elasticsearch(server.url)
        client.bulk(operations=[line for n in range(23) for line in
                                ({"index": {"_index": "app-1", "_id": str(n)}}, {"n": n, "even": n % 2 == 0})])
        events = run_pipeline(f'input {{ elasticsearch {{ hosts => ["{server.url}"] index => "app-*" size => 5 '
                              f"query => '{{ \"query\": {{ \"term\": {{ \"even\": true }} }}, \"sort\": [ {{ \"n\": \"desc\" }} ] }}' "
                              f"docinfo => true }} }}")
        assert [e.get("n") for e in events] == list(range(22, -1, -2))
        assert events[0].get("[@metadata][_index]") == "app-1"
        assert server._pits == {}  # closed


@pytest.mark.real_service
def test_hits_are_pushed_within_the_queues_push_limit(node: tuple[str, str]) -> None:
    url, index = node
    plugin = build_plugin("input", f'elasticsearch {{ hosts => ["{url}"] index => "{index}" }}')
    sizes, events = run_into_small_queue(plugin, capacity=20)  # pushes of at most 10 (was up to 500)
    assert sizes == [10, 10, 5]
    assert sorted(e.get("n") for e in events) == list(range(25))
