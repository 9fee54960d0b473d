"""Retention tiers with the real command: local index → NAS folder → object storage → deleted, and back."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.brokers import REPO_ROOT, unique
from support.services import S3Endpoint

from pipeline.archive.policy import PolicyError, load_policy, parse_policy
from pipeline.event import Event
from pipeline.localindex import LocalIndex

TODAY = datetime.now(UTC).date()
AGES = {"fresh": 3, "nearline": 10, "cold": 40, "expired": 200}


def _name(age: int) -> str:
    return f"logs-{TODAY - timedelta(days=age):%Y.%m.%d}"


def _fill(data: Path, docs: int = 25) -> dict[str, int]:
    index = LocalIndex(data / "index")
    counts = {}
    for label, age in AGES.items():
        day = datetime.combine(TODAY - timedelta(days=age), datetime.min.time(), UTC) + timedelta(hours=12)
        events = [Event({"@timestamp": (day + timedelta(seconds=i)).isoformat().replace("+00:00", "Z"),
                         "message": f"{label} event {i}", "n": i}) for i in range(docs)]
        counts[_name(age)] = index.write(_name(age), events)
    index.close()
    return counts


def _pipeline(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], capture_output=True, text=True, timeout=300,
                          cwd=REPO_ROOT, env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin",
                                              "HOME": str(Path.home())})


def _engine_indices(data: Path) -> set[str]:
    return {info.name for info in LocalIndex(data / "index").indices("*")}


def _policy(tmp_path: Path, last_tier: str) -> Path:
    path = tmp_path / "retention.yml"
    path.write_text(f"""
hot: 7d
tiers:
  - name: nas
    type: directory
    path: {tmp_path / "nas"}
    until: 30d
{last_tier}""")
    return path


def _directory_tier(tmp_path: Path) -> str:
    return f"""  - name: cold
    type: directory
    path: {tmp_path / "cold"}
    until: 180d
"""


def test_policy_errors_name_the_file_and_the_problem(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="later than the previous stage"):
        parse_policy({"hot": "7d", "tiers": [{"type": "directory", "path": "/x", "until": "5d"}]}, "r.yml")
    with pytest.raises(PolicyError, match="unknown key"):
        parse_policy({"hot": "7d", "tiers": [{"type": "s3", "bucket": "b", "until": "9d", "endpiont": "x"}]}, "r.yml")
    path = tmp_path / "r.yml"
    path.write_text("hot: 7d\ntiers:\n  - {type: s3, bucket: b, until: 30d, access_key_id: '${NO_SUCH_VAR_X}'}\n")
    with pytest.raises(PolicyError, match="NO_SUCH_VAR_X"):
        load_policy(path)


def test_indices_move_through_the_tiers_and_come_back(tmp_path: Path) -> None:
    data = tmp_path / "data"
    counts = _fill(data)
    policy = _policy(tmp_path, _directory_tier(tmp_path))
    run = _pipeline("archive", "--policy", str(policy), "--path.data", str(data))
    assert run.returncode == 0, run.stderr
    assert _engine_indices(data) == {_name(3)}
    nas = json.loads((tmp_path / "nas" / "manifest.json").read_text())["indices"]
    cold = json.loads((tmp_path / "cold" / "manifest.json").read_text())["indices"]
    assert [e["index"] for e in nas] == [_name(10)]
    assert [e["index"] for e in cold] == [_name(40)]
    assert cold[0]["count"] == counts[_name(40)]
    assert not list((tmp_path / "nas").glob(f"{_name(40)}*")), "moved on: no copy left in the previous tier"
    assert _name(200) not in run.stdout or "deleted" in run.stdout
    with gzip.open(tmp_path / "cold" / cold[0]["file"]) as handle:
        first = json.loads(handle.readline())
    assert first["_source"]["message"] == "cold event 0"

    again = _pipeline("archive", "--policy", str(policy), "--path.data", str(data))
    assert again.returncode == 0 and "is where" in again.stdout, again.stdout + again.stderr

    back = _pipeline("restore", "--policy", str(policy), "--path.data", str(data), _name(40))
    assert back.returncode == 0, back.stderr
    assert "25 documents restored from tier cold" in back.stdout
    assert LocalIndex(data / "index").count(index=_name(40)) == counts[_name(40)]


def test_a_run_interrupted_after_the_copy_finishes_on_the_next_run(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _fill(data)
    policy = _policy(tmp_path, _directory_tier(tmp_path))
    dry = _pipeline("archive", "--policy", str(policy), "--path.data", str(data), "--dry-run")
    assert "would-move" in dry.stdout and _engine_indices(data) == {_name(a) for a in AGES.values()}
    # The state a crash leaves after the copy to the NAS and before the index was deleted.
    from pipeline.archive.engines import LocalIndexEngine
    from pipeline.archive.stores import DirectoryStore

    engine = LocalIndexEngine(data / "index")
    (tmp_path / "work").mkdir()
    entry = engine.export(_name(10), tmp_path / "work")
    DirectoryStore("nas", tmp_path / "nas").put(tmp_path / "work" / entry.file, entry)
    run = _pipeline("archive", "--policy", str(policy), "--path.data", str(data))
    assert run.returncode == 0, run.stderr
    assert _engine_indices(data) == {_name(3)}


def test_a_damaged_copy_is_never_trusted_and_the_source_is_kept(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _fill(data)
    policy = _policy(tmp_path, _directory_tier(tmp_path))
    from pipeline.archive.engines import LocalIndexEngine
    from pipeline.archive.stores import DirectoryStore

    engine = LocalIndexEngine(data / "index")
    (tmp_path / "work").mkdir()
    entry = engine.export(_name(10), tmp_path / "work")
    nas = DirectoryStore("nas", tmp_path / "nas")
    nas.put(tmp_path / "work" / entry.file, entry)
    (tmp_path / "nas" / entry.file).write_bytes(b"\x1f\x8b damaged on the NAS")
    run = _pipeline("archive", "--policy", str(policy), "--path.data", str(data))
    assert run.returncode == 1
    assert f"{_name(10)}: failed" in run.stderr and "sha256" in run.stderr
    assert _name(10) in _engine_indices(data)


def test_object_storage_tier_on_a_real_s3_server(tmp_path: Path, s3_endpoint: S3Endpoint) -> None:
    import boto3

    bucket = unique("archive")
    s3 = boto3.client("s3", endpoint_url=s3_endpoint.url, aws_access_key_id=s3_endpoint.access_key,
                      aws_secret_access_key=s3_endpoint.secret_key, region_name=s3_endpoint.region)
    s3.create_bucket(Bucket=bucket)
    data = tmp_path / "data"
    counts = _fill(data)
    policy = _policy(tmp_path, f"""  - name: object-storage
    type: s3
    bucket: {bucket}
    prefix: pipeline/logs
    endpoint: {s3_endpoint.url}
    region: {s3_endpoint.region}
    force_path_style: true
    access_key_id: {s3_endpoint.access_key}
    secret_access_key: {s3_endpoint.secret_key}
    until: 180d
""")
    run = _pipeline("archive", "--policy", str(policy), "--path.data", str(data))
    assert run.returncode == 0, run.stderr
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert keys == {"pipeline/logs/manifest.json", f"pipeline/logs/{_name(40)}.ndjson.gz"}
    manifest = json.loads(s3.get_object(Bucket=bucket, Key="pipeline/logs/manifest.json")["Body"].read())
    assert manifest["indices"][0]["count"] == counts[_name(40)]
    back = _pipeline("restore", "--policy", str(policy), "--path.data", str(data), _name(40), "--index", "logs-restored")
    assert back.returncode == 0, back.stderr
    assert LocalIndex(data / "index").count(index="logs-restored") == counts[_name(40)]


def test_an_index_written_by_worker_processes_moves_and_comes_back_whole(tmp_path: Path) -> None:
    """Process workers each write a shard (<index>#<n>.sqlite): archived together, ids kept apart, and gone
    from the local index together."""
    data = tmp_path / "data"
    counts = _fill(data, docs=10)  # the plain files
    name = _name(40)
    day = datetime.combine(TODAY - timedelta(days=40), datetime.min.time(), UTC) + timedelta(hours=13)
    for shard in (0, 1):
        writer = LocalIndex(data / "index", shard=shard)
        writer.write(name, [Event({"@timestamp": (day + timedelta(seconds=i)).isoformat(),
                                   "message": f"worker {shard} event {i}"}) for i in range(5)])
        writer.close()
    assert sorted(p.name for p in (data / "index").glob(f"{name}*.sqlite")) == [
        f"{name}#0.sqlite", f"{name}#1.sqlite", f"{name}.sqlite"]
    policy = _policy(tmp_path, _directory_tier(tmp_path))
    run = _pipeline("archive", "--policy", str(policy), "--path.data", str(data))
    assert run.returncode == 0, run.stderr
    assert not list((data / "index").glob(f"{name}*")), "every shard left the local index"
    (cold,) = json.loads((tmp_path / "cold" / "manifest.json").read_text())["indices"]
    assert cold["count"] == counts[name] + 10
    with gzip.open(tmp_path / "cold" / cold["file"]) as handle:
        ids = [json.loads(line)["_id"] for line in handle]
    assert len(set(ids)) == len(ids) == counts[name] + 10  # ids are per file: a shard's carry its number
    assert "5#1" in ids and "5" in ids
    back = _pipeline("restore", "--policy", str(policy), "--path.data", str(data), name)
    assert back.returncode == 0, back.stderr
    assert LocalIndex(data / "index").count(index=name, query="worker") == 10
