"""Importing the dashboards into a (fake) Kibana: readiness, auth, spaces, per-object results."""

from __future__ import annotations

import base64
import inspect
import io
from pathlib import Path
from typing import Any

import pytest
from support.fake_kibana import FakeKibana

from pipeline import cli
from pipeline.kibana import importer, ndjson
from pipeline.kibana.client import KibanaClient, api_key_header
from pipeline.kibana.errors import KibanaError, KibanaNotReadyError

REPO = Path(__file__).resolve().parents[2]


def _import(kibana: FakeKibana, **kwargs: Any) -> tuple[dict[str, Any], str]:
    out = io.StringIO()
    kwargs.setdefault("timeout", 10)
    summary = importer.import_dashboards(kibana.url, out=out, **kwargs)
    return summary, out.getvalue()


def test_imports_every_shipped_object_and_reimport_overwrites() -> None:
    expected = ndjson.read_dir(REPO / "dashboards" / "kibana8")
    with FakeKibana() as kibana:
        summary, output = _import(kibana)
        assert summary == {"success": True, "objects": len(expected), "imported": len(expected), "errors": 0,
                           "target": "kibana8", "kibana": "8.15.3"}
        assert set(kibana.saved["default"]) == {(o["type"], o["id"]) for o in expected}
        assert "  ok     dashboard" in output and "[Logs] Overview (created)" in output
        request = kibana.requests[-1]
        assert request.path == "/api/saved_objects/_import" and request.query == {"overwrite": ["true"]}
        assert request.headers["kbn-xsrf"]

        summary, output = _import(kibana)
        assert summary["imported"] == len(expected) and len(kibana.saved["default"]) == len(expected)
        assert "(overwritten)" in output and "(created)" not in output


def test_partial_errors_are_printed_and_raised() -> None:
    def reject(obj: dict[str, Any]) -> dict[str, Any] | None:
        return {"type": "unknown", "message": "boom"} if obj["attributes"].get("title") == "Top hosts" else None

    with FakeKibana(reject=reject) as kibana:
        out = io.StringIO()
        with pytest.raises(KibanaError, match="rejected 1 of"):
            importer.import_dashboards(kibana.url, out=out, timeout=10)
        assert "ERROR  visualization" in out.getvalue() and "Top hosts: boom" in out.getvalue()
        summary, _ = _import(kibana, raise_on_error=False)
        assert summary["success"] is False and summary["errors"] == 1
        assert summary["imported"] == summary["objects"] - 1


def test_waits_until_kibana_is_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pipeline.kibana.client.time.sleep", lambda _s: None)
    with FakeKibana(not_ready_for=3) as kibana:
        summary, output = _import(kibana)
        assert summary["success"] and "waiting for Kibana" in output
        assert [r.path for r in kibana.requests].count("/api/status") == 4


def test_gives_up_when_kibana_never_gets_ready() -> None:
    with FakeKibana(not_ready_for=10**6) as kibana:
        client = KibanaClient(kibana.url)
        with pytest.raises(KibanaNotReadyError, match="not ready within 0.3s"):
            client.wait_ready(0.3, interval=0.1)
        assert kibana.saved["default"] == {}


def test_basic_auth_and_bad_credentials() -> None:
    with FakeKibana(user="elastic", password="secret") as kibana:
        summary, _ = _import(kibana, user="elastic", password="secret")
        assert summary["success"]
        expected = "Basic " + base64.b64encode(b"elastic:secret").decode()
        assert {r.headers["authorization"] for r in kibana.requests} == {expected}
        with pytest.raises(KibanaError, match="refused the credentials"):
            _import(kibana, user="elastic", password="wrong")


def test_api_key_header() -> None:
    encoded = base64.b64encode(b"key-id:key-secret").decode()
    assert api_key_header("key-id:key-secret") == api_key_header(encoded) == f"ApiKey {encoded}"
    with FakeKibana(api_key=encoded) as kibana:
        summary, _ = _import(kibana, api_key="key-id:key-secret")
        assert summary["success"] and kibana.requests[-1].headers["authorization"] == f"ApiKey {encoded}"


def test_space_path_and_unknown_space() -> None:
    with FakeKibana(spaces=("default", "ops")) as kibana:
        summary, output = _import(kibana, space="ops")
        assert summary["success"] and kibana.requests[-1].path == "/s/ops/api/saved_objects/_import"
        assert kibana.saved["default"] == {} and kibana.saved["ops"] and "into space ops" in output
        with pytest.raises(KibanaError, match="does the space 'dev' exist"):
            _import(kibana, space="dev")


def test_auto_target_imports_legacy_objects_into_kibana7() -> None:
    with FakeKibana(version="7.10.2") as kibana:
        summary, _ = _import(kibana)
        assert summary["success"] and summary["target"] == "kibana7"
        assert all("migrationVersion" in o and "coreMigrationVersion" not in o
                   for o in kibana.saved["default"].values())


def test_kibana8_objects_are_refused_by_an_older_kibana() -> None:
    with FakeKibana(version="7.10.2") as kibana:
        summary, output = _import(kibana, target="kibana8", raise_on_error=False)
        assert summary["success"] is False and "typeMigrationVersion" in output


def test_import_from_specs_when_no_ndjson(tmp_path: Path) -> None:
    with FakeKibana() as kibana:
        summary, output = _import(kibana, source_dir=REPO / "dashboards" / "specs")
        assert summary["success"] and "built for kibana8" in output
        assert summary["objects"] == len(ndjson.read_dir(REPO / "dashboards" / "kibana8"))
        with pytest.raises(KibanaError, match="no dashboards to import"):
            importer.load_objects(importer.get_target("kibana8"), tmp_path / "missing")


def test_matches_the_call_pipeline_setup_makes() -> None:
    # pipeline/commands/setup.py calls import_dashboards(url, user=, password=, api_key=, space=).
    params = inspect.signature(importer.import_dashboards).parameters
    assert {"user", "password", "api_key", "space"} <= set(params)
    with FakeKibana() as kibana:
        result = importer.import_dashboards(kibana.url, user=None, password=None, api_key=None, space=None)
        assert result["success"] is True


def test_cli_import_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with FakeKibana(user="elastic", password="pw") as kibana:
        assert cli.main(["dashboards", "import", "--kibana", kibana.url, "--user", "elastic",
                         "--password", "pw", "--timeout", "5"]) == 0
        assert "imported" in capsys.readouterr().out
        assert cli.main(["dashboards", "import", "--kibana", kibana.url, "--user", "elastic",
                         "--password", "bad", "--timeout", "5"]) == 1
        assert "refused the credentials" in capsys.readouterr().err
    with FakeKibana(not_ready_for=10**6) as kibana:
        assert cli.main(["dashboards", "import", "--kibana", kibana.url, "--timeout", "0.5"]) == 69
        assert "not ready" in capsys.readouterr().err


def test_pipeline_setup_with_kibana_imports_the_dashboards(capsys: pytest.CaptureFixture[str]) -> None:
    from support.fake_es import FakeElasticsearch

    with FakeElasticsearch() as es, FakeKibana() as kibana:
        code = cli.main(["setup", "--es", es.url, "--replicas", "0", "--kibana", kibana.url])
        assert code == 0, capsys.readouterr().err
        assert len(kibana.saved["default"]) == len(ndjson.read_dir(REPO / "dashboards" / "kibana8"))
        assert "success=True" in capsys.readouterr().out
