"""`pipeline archive` / `pipeline restore`: verified export before delete, manifest, idempotent restore."""

from __future__ import annotations

import gzip
from datetime import date

import orjson
import pytest
from elasticsearch import Elasticsearch
from support.fake_es import FakeElasticsearch

from pipeline.cli import main
from pipeline.elasticsearch import archive as archive_module
from pipeline.elasticsearch.archive import (
    ArchiveError,
    archive,
    index_date,
    indices_older_than,
    read_manifest,
)


@pytest.fixture
def es():
    with FakeElasticsearch() as fake:
        fake.add_documents("logs-2020.01.01", [{"message": f"m{i}", "n": i} for i in range(2500)])
        fake.add_documents("logs-2020.01.02", [{"message": "x"}])
        fake.add_documents("logs-2999.01.01", [{"message": "future"}])
        fake.add_documents("logs-static", [{"message": "no date"}])
        yield fake


def test_index_dates_and_cutoff():
    assert index_date("logs-2026.11.21") == date(2026, 11, 21)
    assert index_date("app-logs-2026-11-21") == date(2026, 11, 21)
    assert index_date("logs-static") is None and index_date("logs-2026.13.40") is None
    names = ["logs-2026.10.21", "logs-2026.10.22", "logs-2026.11.20", "logs-x"]
    assert indices_older_than(names, 30, today=date(2026, 11, 21)) == ["logs-2026.10.21"]


def test_archive_exports_verifies_then_deletes(es, tmp_path, capsys):
    code = main(["archive", "--es", es.url, "--older-than", "30d", "--to", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert "logs-2020.01.01: archived 2500 documents" in out and "logs-static: skipped" in out
    assert sorted(es.indices) == ["logs-2999.01.01", "logs-static"]
    manifest = read_manifest(tmp_path)
    entry = manifest["logs-2020.01.01"]
    assert entry.count == 2500 and entry.deleted and len(entry.sha256) == 64
    lines = gzip.decompress((tmp_path / entry.file).read_bytes()).splitlines()
    assert len(lines) == 2500
    first = orjson.loads(lines[0])
    assert set(first) == {"_id", "_source"} and "message" in first["_source"]
    assert not list(tmp_path.glob("*.part"))
    assert not es._scrolls  # scroll contexts cleared


def test_dry_run_and_keep(es, tmp_path, capsys):
    assert main(["archive", "--es", es.url, "--older-than", "30d", "--to", str(tmp_path), "--dry-run"]) == 0
    assert "logs-2020.01.01: would-archive" in capsys.readouterr().out
    assert not tmp_path.joinpath("manifest.json").exists() and "logs-2020.01.01" in es.indices
    assert main(["archive", "--es", es.url, "--older-than", "30d", "--to", str(tmp_path), "--keep"]) == 0
    assert "logs-2020.01.01" in es.indices and not read_manifest(tmp_path)["logs-2020.01.01"].deleted


def test_index_is_not_deleted_when_verification_fails(es, tmp_path, monkeypatch):
    def corrupt(path, entry):
        raise ArchiveError(f"{path}: sha256 mismatch")

    monkeypatch.setattr(archive_module, "verify_file", corrupt)
    results = archive(Elasticsearch(es.url), tmp_path, 30)
    failed = [r for r in results if r.status == "failed"]
    assert {r.index for r in failed} == {"logs-2020.01.01", "logs-2020.01.02"}
    assert "logs-2020.01.01" in es.indices and "logs-2020.01.02" in es.indices


def test_index_is_not_deleted_when_count_differs(es, tmp_path, monkeypatch):
    real_export = archive_module.export_index

    def export_then_write_more(client, index, directory, page_size=1000):
        entry = real_export(client, index, directory, page_size)
        es.add_documents(index, [{"message": "late arrival"}])
        return entry

    monkeypatch.setattr(archive_module, "export_index", export_then_write_more)
    results = archive(Elasticsearch(es.url), tmp_path, 30)
    assert all(r.status == "failed" for r in results if r.index.startswith("logs-2020"))
    assert "still being written" in results[-1].detail
    assert es.count("logs-2020.01.01") == 2501


def test_restore_loads_back_with_same_ids_idempotently(es, tmp_path, capsys):
    before = {d["_id"] for d in es.docs("logs-2020.01.01")}
    main(["archive", "--es", es.url, "--older-than", "30d", "--to", str(tmp_path)])
    file = tmp_path / "logs-2020.01.01.ndjson.gz"
    for _ in range(2):
        code = main(["restore", str(file), "--es", es.url])
        assert code == 0
        assert "logs-2020.01.01: 2500 documents restored, 0 failed" in capsys.readouterr().out
    assert {d["_id"] for d in es.docs("logs-2020.01.01")} == before
    assert main(["restore", str(file), "--es", es.url, "--index", "restored-2020.01.01"]) == 0
    assert es.count("restored-2020.01.01") == 2500


def test_restore_refuses_a_corrupted_file(es, tmp_path, capsys):
    main(["archive", "--es", es.url, "--older-than", "30d", "--to", str(tmp_path)])
    file = tmp_path / "logs-2020.01.02.ndjson.gz"
    file.write_bytes(gzip.compress(b'{"_id":"x","_source":{"message":"tampered"}}\n'))
    code = main(["restore", str(file), "--es", es.url])
    assert code == 1
    assert "does not match the manifest" in capsys.readouterr().err
    assert "logs-2020.01.02" not in es.indices


def test_restore_retries_429_items(es, tmp_path, capsys, monkeypatch):
    main(["archive", "--es", es.url, "--older-than", "30d", "--to", str(tmp_path)])
    seen = set()

    def once_429(item):
        if item.id in seen:
            return None
        seen.add(item.id)
        return 429

    es.fail_items(once_429)
    monkeypatch.setattr(archive_module.time, "sleep", lambda seconds: None)
    assert main(["restore", str(tmp_path / "logs-2020.01.02.ndjson.gz"), "--es", es.url]) == 0
    assert es.count("logs-2020.01.02") == 1
