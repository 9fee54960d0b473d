"""The fake Kibana is strict where Kibana is: these pin what it rejects."""

from __future__ import annotations

import requests
from support.fake_kibana import FakeKibana

OBJECT = '{"type":"index-pattern","id":"p1","attributes":{"title":"logs-*"},"references":[]}\n'


def _post(kibana: FakeKibana, body: str, *, headers: dict[str, str] | None = None,
          filename: str = "x.ndjson", path: str = "/api/saved_objects/_import") -> requests.Response:
    return requests.post(kibana.url + path, params={"overwrite": "true"}, headers={"kbn-xsrf": "t"} if headers is None else headers,
                         files={"file": (filename, body.encode(), "application/ndjson")}, timeout=10)


def test_rejects_missing_xsrf_bad_extension_and_bad_json() -> None:
    with FakeKibana() as kibana:
        assert _post(kibana, OBJECT, headers={}).json()["message"] == "Request must contain a kbn-xsrf header."
        assert _post(kibana, OBJECT, filename="x.json").status_code == 400
        assert _post(kibana, "{not json\n").status_code == 400
        assert requests.post(kibana.url + "/api/saved_objects/_import", headers={"kbn-xsrf": "t"}, data=OBJECT,
                             timeout=10).status_code == 415
        assert _post(kibana, OBJECT, path="/s/nope/api/saved_objects/_import").status_code == 404
        assert kibana.saved["default"] == {}


def test_answers_like_kibana() -> None:
    dangling = '{"type":"search","id":"s1","attributes":{"title":"S"},"references":' \
               '[{"type":"index-pattern","id":"gone","name":"kibanaSavedObjectMeta.searchSourceJSON.index"}]}\n'
    with FakeKibana() as kibana:
        body = _post(kibana, OBJECT + dangling + '{"exportedCount":2}\n').json()
        assert body["success"] is False and body["successCount"] == 1
        assert body["successResults"] == [{"type": "index-pattern", "id": "p1",
                                           "meta": {"title": "logs-*", "icon": "indexPatternApp"}}]
        assert body["errors"][0]["error"] == {"type": "missing_references",
                                              "references": [{"type": "index-pattern", "id": "gone"}]}
        again = _post(kibana, OBJECT).json()
        assert again["successResults"][0]["overwrite"] is True
        assert _post(kibana, '{"type":"canvas","id":"c","attributes":{},"references":[]}\n').json()[
            "errors"][0]["error"]["type"] == "unsupported_type"


def test_status_before_and_after_ready_and_auth() -> None:
    with FakeKibana(version="7.10.2", user="u", password="p", not_ready_for=1) as kibana:
        assert requests.get(kibana.url + "/api/status", timeout=10).status_code == 401
        first = requests.get(kibana.url + "/api/status", auth=("u", "p"), timeout=10)
        assert first.status_code == 503 and first.json()["status"]["overall"]["state"] == "red"
        second = requests.get(kibana.url + "/api/status", auth=("u", "p"), timeout=10)
        assert second.status_code == 200 and second.json()["version"]["number"] == "7.10.2"


def test_kibana8_forbids_unknown_dashboard_attributes() -> None:
    dashboard = '{"type":"dashboard","id":"d","attributes":{"title":"D","colour":"red"},"references":[]}\n'
    with FakeKibana() as kibana:
        error = _post(kibana, dashboard).json()["errors"][0]["error"]
        assert error["type"] == "unknown" and "attributes.colour" in error["message"]


def test_kibana7_refuses_documents_from_a_newer_version() -> None:
    newer = '{"type":"index-pattern","id":"p","attributes":{"title":"x"},"references":[],' \
            '"migrationVersion":{"index-pattern":"7.11.0"}}\n'
    with FakeKibana(version="7.10.2") as kibana:
        error = _post(kibana, newer).json()["errors"][0]["error"]
        assert "more recent version of Kibana [7.11.0]" in error["message"]
