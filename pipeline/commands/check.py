"""``pipeline check``: validate configs like ``logstash -t``; every error at once, file:line:col."""

from __future__ import annotations

import argparse
import sys

from pipeline.commands.run import build_all
from pipeline.errors import CONFIG_ERROR_EXIT_CODE, ConfigErrors
from pipeline.runtime.sources import add_arguments


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("check", help="validate a config and exit (like logstash -t)",
                            description="Parse and validate every pipeline; report all errors; start nothing.")
    add_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Logstash's ``-t``: every error at once, exit 78 on errors; "Configuration OK" and 0 otherwise."""
    try:
        pipelines = build_all(args, require_inputs=False)
    except ConfigErrors as exc:
        print(exc.render(), file=sys.stderr)
        print(f"{len(exc.errors)} configuration error(s)", file=sys.stderr)
        return CONFIG_ERROR_EXIT_CODE
    for settings, built in pipelines:
        fragment = "" if built.inputs else "; no input section: valid as a fragment, as with logstash -t"
        outputs = "default output" if built.uses_default_output else f"{len(built.outputs)} output(s)"
        print(f"Configuration OK: pipeline {settings.pipeline_id} ({len(built.inputs)} input(s), "
              f"{len(built.filters)} filter(s), {outputs}{fragment})")
    return 0
