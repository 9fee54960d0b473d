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


def test_the_readme_laptop_commands_work_as_written(tmp_path):
    import shlex
    import subprocess
    import sys

    block = README.split("Without Docker, on a laptop", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#", 1)[0].strip() for line in block.strip().splitlines()]
    commands = [c for c in commands if c and "pip install" not in c and "install.sh" not in c]
    assert len(commands) >= 3 and all(c.startswith("pipeline ") for c in commands)
    (tmp_path / "examples").symlink_to(REPO_ROOT / "examples")
    outputs = []
    for command in commands:
        argv, stdin = shlex.split(command.split("<", 1)[0]), None
        if "<" in command:
            stdin = (REPO_ROOT / command.split("<", 1)[1].strip()).read_bytes()
        result = subprocess.run([sys.executable, "-m", *argv], input=stdin, capture_output=True, cwd=tmp_path,
                                timeout=120)
        assert result.returncode == 0, f"{command}: {result.stderr.decode()}"
        outputs.append(result.stdout.decode())
    search_output = next(out for cmd, out in zip(commands, outputs, strict=True) if cmd.startswith("pipeline search"))
    assert "ERROR" in search_output  # the quick start's errors are found
