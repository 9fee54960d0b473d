"""Retention tiers from Elasticsearch/OpenSearch (the project's fake cluster speaks the same API)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from support.fake_es import FakeElasticsearch

from pipeline.cli import main

TODAY = datetime.now(UTC).date()


def _name(age: int) -> str:
    return f"logs-{TODAY - timedelta(days=age):%Y.%m.%d}"


def test_elasticsearch_indices_move_to_the_nas_and_are_restored_with_their_ids(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    policy = tmp_path / "retention.yml"
    policy.write_text(f"hot: 7d\ntiers:\n  - {{name: nas, type: directory, path: {tmp_path / 'nas'}, until: 30d}}\n")
    with FakeElasticsearch() as es:
        es.add_documents(_name(2), [{"message": "hot"}])
        es.add_documents(_name(12), [{"message": f"m{i}", "n": i} for i in range(1500)])
        es.add_documents(_name(90), [{"message": "expired"}])
        assert main(["archive", "--policy", str(policy), "--es", es.url]) == 0
        out = capsys.readouterr().out
        assert f"{_name(12)}: moved 1500 documents" in out and f"{_name(90)}: deleted" in out
        assert sorted(es.indices) == [_name(2)]
        manifest = json.loads((tmp_path / "nas" / "manifest.json").read_text())["indices"]
        assert [(e["index"], e["count"]) for e in manifest] == [(_name(12), 1500)]

        assert main(["restore", "--policy", str(policy), "--es", es.url, _name(12)]) == 0
        assert main(["restore", "--policy", str(policy), "--es", es.url, _name(12)]) == 0  # same ids: no duplicates
        assert len(es.indices[_name(12)].docs) == 1500
