"""Real users' Logstash Filter Verifier test cases give, through our filters, the events their Logstash gave.

tests/compat/filter_verifier holds LFV test case files and the configurations they test, from public
repositories (MANIFEST.csv: repository, path, commit, licence, sha256 of every kept file). SUITES.csv
says how the suite's authors ran LFV (mode, LFV major version, ECS mode, the deployment paths their
container mounted, plugins we do not have, which tests/support/filter_verifier.py replaces as LFV's
plugin mocks do). tests/support/filter_verifier.py reads the files and compares as LFV does.

EXPECT.csv lists every case that does not pass (``case``: the n-th expected event of the file, or
``*`` when the event counts differ) with a reason token:

* ``plugin:KIND/NAME``: reaches a filter we do not have (mocked out), or uses such a codec;
* ``file:PATH``: needs a file the suite's repository does not ship with a licence we can keep;
* ``key-order``: Logstash wrote a hash field as JSON in its own map's order (ConvertedMap is not
  insertion-ordered), which no reimplementation reproduces;
* ``clone-order``: Logstash puts the events that took an ``if``'s branch before those that did
  not (its compiled pipeline concatenates branch outputs); we keep batch order by design
  (pipeline/runtime/compiler.py);
* ``env:WHAT``: depends on the machine (e.g. an /etc/hosts entry); such a case may also pass.

Any other failure fails the test, and so does a listed case that now passes (update EXPECT.csv).
"""

from __future__ import annotations

import csv
import hashlib
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.filter_verifier import Runner, Suite, compare, load_case_file

from pipeline.errors import ConfigErrors

CORPUS = Path(__file__).parent / "filter_verifier"
MANIFEST = list(csv.DictReader((CORPUS / "MANIFEST.csv").open(encoding="utf-8")))
SUITES = list(csv.DictReader((CORPUS / "SUITES.csv").open(encoding="utf-8")))
EXPECT = list(csv.DictReader((CORPUS / "EXPECT.csv").open(encoding="utf-8")))
REASON = re.compile(r"(plugin:(?:filter|codec)/\w+|file:\S+|key-order|clone-order|env:\S+)")


def suite_of(row: dict[str, str]) -> Suite:
    configs = sorted(p for pattern in row["configs"].split() for p in CORPUS.glob(pattern))
    mounts = {}
    for mount in row["mounts"].split():
        target, _, local = mount.partition("=")
        mounts[target] = (CORPUS / local).resolve()
    return Suite(configs, row["mode"], row["ecs"], mounts, tuple(row["mocks"].split()))


def case_files(row: dict[str, str]) -> list[Path]:
    return sorted(CORPUS.glob(row["cases"]))


def test_the_corpus_is_kept_as_recorded() -> None:
    kept = {row["file"] for row in MANIFEST if row["kept"] == "kept"}
    for row in MANIFEST:
        assert re.fullmatch(r"[0-9a-f]{40}", row["commit"]), row
        if row["kept"] == "kept":
            data = (CORPUS / row["file"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == row["sha256"], f"{row['file']} differs from its source"
            assert row["licence"].startswith(("MIT", "Apache-2.0", "BSD", "CC0")), row
    on_disk = {str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*") if p.is_file()}
    assert on_disk == kept | {"MANIFEST.csv", "SUITES.csv", "EXPECT.csv"}
    for row in EXPECT:
        assert REASON.fullmatch(row["expect"]), row
        assert (CORPUS / row["case_file"]).is_file(), row
    assert sum(len(case_files(row)) for row in SUITES) >= 40


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """LFV runs Logstash with TZ=UTC."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("row", SUITES, ids=[row["suite"] for row in SUITES])
def test_the_suite_gives_the_events_its_logstash_gave(row: dict[str, str], monkeypatch: pytest.MonkeyPatch,
                                                        request: pytest.FixtureRequest, utc: None) -> None:
    for assignment in row["env"].split():
        name, _, value = assignment.partition("=")
        monkeypatch.setenv(name, value)
    runner = Runner(suite_of(row))
    expected = {(e["case_file"], e["case"]): e["expect"] for e in EXPECT}
    new, fixed = [], []
    request.addfinalizer(runner.close)
    for path in case_files(row):
        rel = str(path.relative_to(CORPUS))
        case_file = load_case_file(path, lfv_major=int(row["lfv"]))
        try:
            failing = compare(case_file, runner.run(case_file))
        except ConfigErrors as exc:  # e.g. a codec we do not have: LFV's Logstash runs nothing either
            failing = {"*": f"configuration refused: {exc}"}
        for case, difference in failing.items():
            if (rel, case) not in expected:
                new.append(f"{rel}#{case}: {difference[:600]}")
        fixed += [f"{rel}#{case}" for (file, case), reason in expected.items()
                  if file == rel and case not in failing and not reason.startswith("env:")]  # env: may pass
    assert not new, "new divergences from the users' Logstash:\n" + "\n".join(new)
    assert not fixed, f"these pass now (remove them from EXPECT.csv): {fixed}"
