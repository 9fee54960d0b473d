"""The ``pipeline`` command: parse arguments, call the library, map errors to exit codes.

Each subcommand lives in ``pipeline/commands/<name>.py`` and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to a
function ``(args) -> int``. Commands are discovered by module name, so adding
one never touches this file.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from pipeline import __version__, commands
from pipeline.errors import CONFIG_ERROR_EXIT_CODE, ConfigError, UsageError


def command_names() -> list[str]:
    """Subcommand modules, named like the subcommand they register."""
    return sorted(m.name for m in pkgutil.iter_modules(commands.__path__) if not m.name.startswith("_"))


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; with ``only``, just that subcommand is imported (fast start-up:
    `pipeline run` need not load the Elasticsearch client or aiohttp)."""
    parser = argparse.ArgumentParser(
        prog="pipeline",
        description="A light Logstash-compatible log pipeline (run, check, list, grok, search, alerts ...).",
    )
    parser.add_argument("-V", "--version", action="version", version=f"pipeline {__version__}",
                        help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in command_names():
        if only is not None and name != only:
            continue
        mod = importlib.import_module(f"pipeline.commands.{name}")
        register = getattr(mod, "register", None)
        if register is not None:
            register(sub)
    return parser


def _asks_for_version_only(args: Sequence[str]) -> bool:
    """``pipeline --version`` (or ``-V``, or an abbreviation argparse accepts) before any help flag and
    without a command: the answer needs no subcommand, so none is imported (0.7 s of CPU otherwise)."""
    for arg in args:
        if arg == "-V" or (len(arg) > 2 and "--version".startswith(arg)):
            return True
        if arg in ("-h", "--") or (len(arg) > 2 and "--help".startswith(arg)) or not arg.startswith("-"):
            return False
    return False


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    first = next((a for a in args_list if not a.startswith("-")), None)
    if first is None and _asks_for_version_only(args_list):
        build_parser(only="").parse_args(args_list)  # prints the version and exits, as the full parser would
    parser = build_parser(first if first in command_names() else None)
    args = parser.parse_args(args_list)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return int(func(args) or 0)
    except ConfigError as exc:
        print(exc.render(), file=sys.stderr)
        return CONFIG_ERROR_EXIT_CODE
    except UsageError as exc:
        print(f"pipeline {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
