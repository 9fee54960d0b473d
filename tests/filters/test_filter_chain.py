"""A realistic filter section over real Apache lines: grok, date, mutate, useragent, fingerprint, prune."""

from __future__ import annotations

import hashlib
from pathlib import Path

from pipeline.testing import run_filters

CONFIG = '''
grok { match => { "message" => "%{COMBINEDAPACHELOG}" } ecs_compatibility => disabled }
date { match => ["timestamp", "dd/MMM/yyyy:HH:mm:ss Z"] }
mutate {
  convert => { "bytes" => "integer" "response" => "integer" }
  remove_field => ["timestamp"]
}
if [response] >= 400 { mutate { add_tag => ["error"] } }
useragent { source => "agent" target => "ua" ecs_compatibility => disabled }
fingerprint { source => ["clientip", "request", "@timestamp"] concatenate_sources => true
              target => "[@metadata][id]" method => "SHA256" }
prune { blacklist_names => ["^ident$", "^auth$"] }
'''


def test_apache_lines_through_the_filters(shared_data: Path) -> None:
    lines = (shared_data / "access" / "apache_logs").read_text(encoding="utf-8").splitlines()[:300]
    out = run_filters(CONFIG, lines)
    assert len(out) == 300
    parsed = [e for e in out if "_grokparsefailure" not in e.tags]
    assert len(parsed) >= 295
    first = parsed[0]
    assert first.timestamp.iso() == "2015-05-17T10:05:03.000Z"  # 17/May/2015:10:05:03 +0000
    assert not first.includes("timestamp") and not first.includes("ident") and not first.includes("auth")
    assert all(isinstance(e.get("response"), int) for e in parsed)
    assert all(isinstance(e.get("bytes"), int) or e.get("bytes") is None for e in parsed)
    assert all(e.has_tag("error") == (e.get("response") >= 400) for e in parsed)
    assert all(e.get("[ua][name]") for e in parsed)
    assert not any(t.startswith("_") and t != "_grokparsefailure" for e in out for t in e.tags)
    ids = {e.get("[@metadata][id]") for e in parsed}
    assert len(ids) > 250  # nearly one per distinct request
    expected = hashlib.sha256(
        f"|@timestamp|{first.timestamp.iso()}|clientip|{first.get('clientip')}|request|{first.get('request')}|"
        .encode()).hexdigest()
    assert first.get("[@metadata][id]") == expected
