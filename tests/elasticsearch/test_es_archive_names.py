"""`pipeline archive` against a cluster answering with crafted index names, and `pipeline restore`
of a crafted archive: nothing is written outside --to, each name is refused with a clear error."""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

CRAFTED = ["../../escaped-2020.01.01", "/tmp/absolute-2020.01.01", "logs-2020.01.01/../../up-2020.01.01",
           "Logs-2020.01.02", "logs 2020.01.03"]


class CraftedCluster(BaseHTTPRequestHandler):
    """Answers like Elasticsearch 8 would, except that its index names are hostile."""

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Elastic-Product", "Elasticsearch")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.startswith("/_cat/indices"):
            self._send([{"index": name, "docs.count": "1"} for name in CRAFTED])
        else:
            self._send({"version": {"number": "8.15.0"}, "tagline": "You Know, for Search"})

    def do_POST(self) -> None:
        self.requests_seen.append(self.path)
        self._send({"_scroll_id": "x", "hits": {"hits": [{"_id": "1", "_source": {"message": "m"}}]}})

    requests_seen: list[str] = []


@pytest.fixture
def crafted_cluster():
    server = ThreadingHTTPServer(("127.0.0.1", 0), CraftedCluster)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_archive_refuses_index_names_that_are_not_index_names(pipeline_cmd, tmp_path, crafted_cluster):
    target = tmp_path / "deep" / "archive"
    done = subprocess.run([*pipeline_cmd, "archive", "--es", crafted_cluster, "--older-than", "30d", "--to",
                           str(target)], capture_output=True, text=True, timeout=120)
    output = done.stdout + done.stderr
    assert "Traceback" not in output
    for name in CRAFTED[1:]:  # the first starts with ".": a hidden index, never archived
        assert f"{name}: failed" in output and "refused" in output, output
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert all(target in p.parents for p in written), written
    assert not list(tmp_path.rglob("*.ndjson.gz"))
    assert not CraftedCluster.requests_seen  # no index was even read


def test_restore_refuses_a_crafted_index_name_from_the_manifest(pipeline_cmd, tmp_path, crafted_cluster):
    archive = tmp_path / "logs-2020.01.01.ndjson.gz"
    archive.write_bytes(gzip.compress(b'{"_id": "1", "_source": {"message": "m"}}\n'))
    (tmp_path / "manifest.json").write_text(json.dumps({"format": 1, "indices": [{
        "index": "../../evil", "file": archive.name, "count": 1, "bytes": archive.stat().st_size,
        "sha256": hashlib.sha256(archive.read_bytes()).hexdigest(), "archived_at": "2020-01-02T00:00:00Z"}]}))
    done = subprocess.run([*pipeline_cmd, "restore", str(archive), "--es", crafted_cluster],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "'../../evil' contains '/'" in done.stderr and "Traceback" not in done.stderr
