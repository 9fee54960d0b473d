"""docs/compatibility.md is generated from the registry and the Logstash plugin list, and stays so."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO_ROOT  # type: ignore[import-not-found]

from pipeline.compat import plugins as compat


def test_compatibility_doc_matches_the_registry_and_the_data() -> None:
    # A fresh process, as users run it: other tests register test-only plugins in this one.
    generated = subprocess.run([sys.executable, "-m", "pipeline", "list", "--compatibility"], capture_output=True,
                               text=True, check=True, timeout=120).stdout
    on_disk = (REPO_ROOT / "docs" / "compatibility.md").read_text()
    assert on_disk.strip() == generated.strip(), "run: pipeline list --compatibility > docs/compatibility.md"


def test_every_documented_logstash_plugin_has_a_status_with_a_reason() -> None:
    rows = compat.statuses()
    assert len(rows) >= 190
    assert {r.status for r in rows} <= {"supported", "partial", "planned", "not planned"}
    for row in rows:
        assert row.detail, row
    by_name = {(r.kind, r.name): r for r in rows}
    assert by_name[("filter", "grok")].status == "supported"
    assert by_name[("input", "jdbc")].status == "supported"
    assert by_name[("filter", "jdbc_static")].status == "not planned" and "Java" in by_name[("filter", "jdbc_static")].detail
    assert "accepted without effect: event_loop_threads" in by_name[("input", "beats")].detail
