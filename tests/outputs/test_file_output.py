"""The file output: sprintf paths, codecs, unresolved paths, gzip."""

from __future__ import annotations

import gzip
import json

from pipeline.event import Event
from pipeline.testing import build_plugin


def test_events_go_to_files_named_by_their_fields_and_date(tmp_path):
    out = build_plugin("output", f'file {{ path => "{tmp_path}/%{{[service][name]}}-%{{+YYYY-MM-dd}}.log" }}')
    out.receive([Event({"service": {"name": "auth"}, "n": 1, "@timestamp": "2026-11-21T10:00:00Z"}),
                 Event({"service": {"name": "pay"}, "n": 2, "@timestamp": "2026-11-21T10:00:00Z"}),
                 Event({"service": {"name": "auth"}, "n": 3, "@timestamp": "2026-11-22T10:00:00Z"})])
    out.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["auth-2026-11-21.log", "auth-2026-11-22.log",
                                                         "pay-2026-11-21.log"]
    assert json.loads((tmp_path / "pay-2026-11-21.log").read_text())["n"] == 2


def test_unresolved_or_escaping_paths_go_to_the_failure_file(tmp_path):
    out = build_plugin("output", f'file {{ path => "{tmp_path}/logs/%{{name}}.log" }}')
    out.receive([Event({"message": "no name field"}), Event({"name": "../../etc/evil", "message": "x"})])
    out.close()
    failures = (tmp_path / "logs" / "_filepath_failures").read_text().splitlines()
    assert len(failures) == 2
    assert not (tmp_path / "etc").exists()


def test_line_codec_and_gzip(tmp_path):
    out = build_plugin("output", f'file {{ path => "{tmp_path}/o.gz" gzip => true '
                                 'codec => line { format => "%{message}" } }')
    out.receive([Event({"message": "a"}), Event({"message": "b"})])
    out.close()
    assert gzip.decompress((tmp_path / "o.gz").read_bytes()) == b"a\nb\n"


def test_overwrite_truncates_on_open(tmp_path):
    target = tmp_path / "o.log"
    target.write_text("old\n")
    out = build_plugin("output", f'file {{ path => "{target}" write_behavior => "overwrite" }}')
    out.receive([Event({"message": "new"})])
    out.close()
    assert "old" not in target.read_text()


def test_a_constant_path_gets_each_event_on_its_own_line_in_order_without_metadata(tmp_path):
    out = build_plugin("output", f'file {{ path => "{tmp_path}/all.log" }}')
    events = [Event({"n": n, "@metadata": {"_id": f"id-{n}"}, "@timestamp": "2026-11-21T10:00:00.5Z"})
              for n in range(300)]
    out.receive(events[:125])
    out.receive(events[125:])
    out.receive([])
    out.close()
    lines = (tmp_path / "all.log").read_text().splitlines()
    assert [json.loads(line)["n"] for line in lines] == list(range(300))
    assert json.loads(lines[0]) == {"n": 0, "@timestamp": "2026-11-21T10:00:00.500Z"}
    assert events[0].get("[@metadata][_id]") == "id-0"  # the events themselves are untouched
