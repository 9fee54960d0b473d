"""The docs stay true: generated plugin reference, README plugin table, the README's commands."""

from __future__ import annotations

import re

from conftest import REPO_ROOT  # type: ignore[import-not-found]

from pipeline import plugin as plugins

README = (REPO_ROOT / "README.md").read_text()


def test_plugin_reference_matches_the_declarations():
    import subprocess
    import sys

    # A fresh process, as users run it: other tests register test-only plugins in this one.
    generated = subprocess.run([sys.executable, "-m", "pipeline", "list", "--markdown"], capture_output=True,
                               text=True, check=True, timeout=120).stdout
    on_disk = (REPO_ROOT / "docs" / "plugins.md").read_text()
    assert on_disk.strip() == generated.strip(), "run: pipeline list --markdown > docs/plugins.md"


def test_readme_names_every_plugin():
    for cls in plugins.all_plugins():
        if cls.name.startswith("test_"):
            continue
        assert f"`{cls.name}`" in README, f"README does not mention {cls.kind} {cls.name}"


def test_ci_runs_exactly_the_readme_test_command():
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    test_command = "bash scripts/test.sh"
    assert test_command in README
    assert re.search(r"^exec bash scripts/test\.sh$", ci, re.M)


def test_readme_quick_start_config_exists():
    match = re.search(r"pipeline run -f (\S+) < (\S+)", README)
    assert match
    assert (REPO_ROOT / match.group(1)).is_file() and (REPO_ROOT / match.group(2)).is_file()


def test_every_document_the_readme_links_exists():
    links = re.findall(r"\]\(((?:docs|bench)/[^)#]+)\)", README)
    assert len(links) >= 8
    for link in links:
        assert (REPO_ROOT / link).is_file(), f"README links to missing {link}"


def test_every_subcommand_is_described_in_the_readme():
    import argparse

    from pipeline.cli import build_parser

    parser = build_parser()
    [subparsers] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    commands = list(subparsers.choices)
    assert "run" in commands and "alerts" in commands
    for command in commands:
        assert f"pipeline {command}" in README, f"README does not show `pipeline {command}`"
