"""Real Logstash configs from public repositories pass ``pipeline check`` (tests/config/corpus).

Each kept file (licence allows redistribution; see MANIFEST.csv for repository, path, commit,
licence and sha256) either passes, or fails only for reasons outside the file, recorded in the
manifest's ``expect`` column as ``;``-separated tokens:

* ``env:NAME``: a ``${NAME}`` the deployment sets;
* ``file:PATH``: a patterns_dir, dictionary, Ruby script or database the deployment ships;
* ``geoip-database``: geoip without ``database`` for ASN (only the City database is bundled: extra geolite2);
* ``ecs-disabled``: written for ``pipeline.ecs_compatibility: disabled`` (logstash.yml, outside the file):
  under Logstash 8's default (v8) Logstash refuses it too (geoip in ECS mode without target);
* ``plugin:KIND/NAME``: a plugin we do not have (yet: see docs/compatibility.md);
* ``es-option:NAME``: an elasticsearch output option owned by the template/ILM work, not merged yet;
* ``not-a-config``: a fragment of a plugin block, included by its project's build; Logstash refuses it too;
* ``grok-pattern``: a grok expression that does not compile (Onigmo refuses it too: manifest note);
* ``unquoted-env``: ``${VAR}`` outside quotes, which Logstash's grammar refuses too;
* ``deploy-template:NAME``: a placeholder its project's deployment replaces before Logstash runs (Cargill's
  ``VAR_...``) where the plugin checks the value at load (an Event Hubs connection string): Logstash refuses
  the file as kept too.

Any other error fails the test, so a new failure mode is noticed; so does a reason that
disappears, except ``plugin:`` and ``es-option:`` ones, which vanish as that work is merged
(then update the manifest).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import re
from pathlib import Path

import pytest

from pipeline.commands.run import build_all
from pipeline.errors import ConfigErrors

CORPUS = Path(__file__).with_name("corpus")
ROWS = list(csv.DictReader((CORPUS / "MANIFEST.csv").open(encoding="utf-8")))
KEPT = [row for row in ROWS if row["kept"] == "kept"]

_REASONS = [
    (re.compile(r"environment variable (\S+) is not set"), "env:{0}"),
    (re.compile(r"unknown (input|filter|output|codec) plugin \"([^\"]+)\""), "plugin:{0}/{1}"),
    (re.compile(r"patterns_dir (\S+) does not exist"), "file:{0}"),
    (re.compile(r"cannot read dictionary (\S+?):"), "file:{0}"),
    (re.compile(r"Ruby script (\S+) does not exist"), "file:{0}"),
    (re.compile(r"No such file or directory @ rb_sysopen - (\S+)"), "file:{0}"),  # a ruby filter's init code
    (re.compile(r"no such file '([^']+)'"), "file:{0}"),
    (re.compile(r"option \"database\": no such file (\S+)"), "file:{0}"),
    (re.compile(r"geoip.*option \"database\" is required"), "geoip-database"),
    (re.compile(r"geoip.*option \"target\" is required in ECS mode"), "ecs-disabled"),
    (re.compile(r"output elasticsearch.*: unknown option \"(\w+)\""), "es-option:{0}"),
    (re.compile(r"expected a section: 'input', 'filter' or 'output'"), "not-a-config"),
    (re.compile(r"grok expression .* does not compile"), "grok-pattern"),
    (re.compile(r"found '\$' \(quote it: \"\$\{VAR\}\""), "unquoted-env"),
    (re.compile(r"Error parsing event hub string name for connection: '(VAR_\w+)'"), "deploy-template:{0}"),
]


def reasons(message: str) -> str:
    """The manifest token for one error message (the message itself when it is none of them)."""
    for pattern, token in _REASONS:
        match = pattern.search(message)
        if match:
            return token.format(*match.groups())
    return f"unexpected: {message}"


def check_reasons(path: Path) -> set[str]:
    args = argparse.Namespace(path_config=[str(path)], config_string=None, path_settings=None)
    try:
        build_all(args, require_inputs=False)
    except ConfigErrors as exc:
        return {reasons(error.render()) for error in exc.errors}
    return set()


def test_the_corpus_is_real_and_broad() -> None:
    assert len(ROWS) >= 50
    assert len({row["repo"] for row in ROWS}) >= 25
    assert len(KEPT) >= 50
    for row in ROWS:
        assert re.fullmatch(r"[0-9a-f]{40}", row["commit"]), row
        assert row["licence"], row
        if row["kept"] == "kept":
            data = (CORPUS / row["file"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == row["sha256"], f"{row['file']} differs from its source"
            assert row["licence"].startswith(("MIT", "Apache-2.0", "BSD", "CC0")), row
    assert {p.name for p in CORPUS.iterdir()} == {row["file"] for row in KEPT} | {"MANIFEST.csv"}


MAY_VANISH = ("plugin:", "es-option:")  # work of other engineers, merged independently


@pytest.mark.parametrize("row", KEPT, ids=[row["file"][:90] for row in KEPT])
def test_pipeline_check_passes_or_fails_only_for_the_recorded_reasons(row: dict[str, str], monkeypatch) -> None:
    expected = set() if row["expect"] == "pass" else set(row["expect"].split(";"))
    for token in expected:
        if token.startswith("env:"):  # the deployment's variables are never set here
            monkeypatch.delenv(token[4:], raising=False)
    got = check_reasons(CORPUS / row["file"])
    assert got <= expected, f"new problems: {sorted(got - expected)}"
    still_expected = {t for t in expected - got if not t.startswith(MAY_VANISH)}
    assert not still_expected, f"no longer reported (update the manifest): {sorted(still_expected)}"
