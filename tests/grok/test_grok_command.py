"""`pipeline grok 'PATTERN' [--ecs|--legacy] < lines`."""

from __future__ import annotations

import json
import subprocess

APACHE = ('83.149.9.216 - - [17/May/2015:10:05:03 +0000] "GET /a.png HTTP/1.1" 200 203023 '
          '"http://semicomplete.com/" "Mozilla/5.0"')


def run(cmd: list[str], *args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*cmd, "grok", *args], input=stdin, capture_output=True, text=True, timeout=60)


def test_fields_per_line_legacy_and_ecs(pipeline_cmd: list[str]) -> None:
    out = run(pipeline_cmd, "%{COMBINEDAPACHELOG}", "--legacy", stdin=APACHE + "\n" + APACHE + "\n")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(rows) == 2 and rows[0]["clientip"] == "83.149.9.216" and rows[0]["response"] == "200"
    out = run(pipeline_cmd, "%{COMBINEDAPACHELOG}", "--ecs", stdin=APACHE + "\n")
    assert json.loads(out.stdout)["http"]["response"]["status_code"] == 200


def test_failing_line_shows_longest_matching_prefix(pipeline_cmd: list[str]) -> None:
    out = run(pipeline_cmd, "%{IP:client} %{WORD:verb} %{NUMBER:n}", stdin="1.2.3.4 GET x\n")
    assert out.returncode == 1
    row = json.loads(out.stdout)
    assert row["match"] is False
    assert row["matched_pattern"] == "%{IP:client} %{WORD:verb} "
    assert row["unmatched_pattern"] == "%{NUMBER:n}"
    assert row["rest_of_line"] == "x" and row["fields"] == {"client": "1.2.3.4", "verb": "GET"}


def test_custom_definition_and_bad_pattern(pipeline_cmd: list[str], tmp_path) -> None:
    (tmp_path / "p").write_text("SHOUT [A-Z]+!\n")
    out = run(pipeline_cmd, "%{SHOUT:s} %{NUM2:n:int}", "--patterns-dir", str(tmp_path), "-d", "NUM2=[0-9]{2}",
              stdin="HEY! 42\n")
    assert json.loads(out.stdout) == {"s": "HEY!", "n": 42}
    out = run(pipeline_cmd, "%{NOPE}", stdin="x\n")
    assert out.returncode == 78 and "NOPE" in out.stderr


def test_composite_pattern_is_unfolded_to_locate_the_failure(pipeline_cmd: list[str]) -> None:
    line = '83.149.9.216 - - [17/May/2015:10:05:03 +0000] "GET /a HTTP/1.1" 200 203023 "http://x/" BROKEN'
    row = json.loads(run(pipeline_cmd, "%{COMBINEDAPACHELOG}", "--legacy", stdin=line + "\n").stdout)
    assert row["match"] is False
    assert row["unmatched_pattern"] == "%{QS:agent}" and row["rest_of_line"] == "BROKEN"
    assert row["fields"]["referrer"] == '"http://x/"'


def test_check_suggests_the_pattern_name_meant(pipeline_cmd: list[str], tmp_path) -> None:
    config = tmp_path / "typo.conf"
    config.write_text('input { stdin {} }\nfilter {\n  grok { match => { "message" => "%{COMBINEDAPACHELOGG}" } }\n'
                      '  grok { match => { "message" => "%{ipv4:client}" } }\n}\noutput { stdout {} }\n')
    out = subprocess.run([*pipeline_cmd, "check", "-f", str(config)], capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert f"{config}:3:3:" in out.stderr and "did you mean %{COMBINEDAPACHELOG}?" in out.stderr
    assert f"{config}:4:3:" in out.stderr and "did you mean %{IPV4}?" in out.stderr
