"""``pipeline list``: every plugin and its options, generated from the declarations."""

from __future__ import annotations

import argparse

from pipeline import docs, serde
from pipeline import plugin as plugins


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("list", help="list plugins and their options")
    parser.add_argument("kind", nargs="?", choices=plugins.KINDS, help="only this kind of plugin")
    parser.add_argument("--verbose", "-v", action="store_true", help="also list each plugin's options")
    parser.add_argument("--markdown", action="store_true", help="the plugin reference as Markdown")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--compatibility", action="store_true",
                        help="every plugin Logstash documents and its status here, as Markdown")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    kinds = (args.kind,) if args.kind else plugins.KINDS
    if args.compatibility:
        from pipeline.compat import plugins as compat_plugins

        print(compat_plugins.markdown())
    elif args.json:
        print(serde.dumps_str([plugins.describe(c) for c in plugins.all_plugins(kinds)], pretty=True))
    elif args.markdown:
        print(docs.markdown(kinds))
    else:
        print(docs.text(kinds, verbose=args.verbose))
    return 0
