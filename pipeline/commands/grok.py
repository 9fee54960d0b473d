"""``pipeline grok 'PATTERN' [--ecs|--legacy] < lines``: try a grok pattern, like Kibana's Grok Debugger.

Prints one JSON object per input line: the captured fields, or for a line
that does not match, the longest prefix of the pattern that does match and
where in the line it stopped.
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any

from pipeline import serde
from pipeline.grok import Grok, GrokError, GrokTimeout, PatternLibrary, build_library
from pipeline.grok.grok import compile_expression

_REFERENCE = re.compile(r"%\{[^}]*\}")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "grok", help="try a grok pattern on lines from stdin (fields as JSON, or where it stops matching)",
        description=__doc__.split("\n\n")[0])
    parser.add_argument("pattern", help="the grok expression, e.g. '%%{COMBINEDAPACHELOG}'")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--ecs", dest="ecs", action="store_const", const="v8",
                      help="ECS field names (the default, as Logstash 8)")
    mode.add_argument("--legacy", dest="ecs", action="store_const", const="disabled",
                      help="legacy field names (ecs_compatibility => disabled)")
    parser.add_argument("--patterns-dir", action="append", default=[], metavar="DIR",
                        help="extra pattern files (NAME REGEX per line); repeatable")
    parser.add_argument("-d", "--define", action="append", default=[], metavar="NAME=REGEX",
                        help="define an extra pattern; repeatable")
    parser.add_argument("--timeout-millis", type=int, default=30000, help="per-line match timeout (0 = none)")
    parser.set_defaults(func=run, ecs="v8")


def run(args: argparse.Namespace) -> int:
    custom = {}
    for item in args.define:
        name, sep, regex = item.partition("=")
        if not sep:
            print(f"pipeline grok: --define expects NAME=REGEX, got {item!r}", file=sys.stderr)
            return 2
        custom[name] = regex
    try:
        library = build_library(args.ecs, args.patterns_dir, "*", custom)
        grok = Grok(args.pattern, library=library,
                    timeout=args.timeout_millis / 1000 if args.timeout_millis else None)
    except GrokError as exc:
        print(f"pipeline grok: {exc.message}", file=sys.stderr)
        return 78
    failures = 0
    out = sys.stdout
    for raw in sys.stdin:
        line = raw.rstrip("\r\n")
        try:
            fields = grok.match(line)
        except GrokTimeout:
            failures += 1
            out.write(serde.dumps({"match": False, "timeout": True, "line": line}).decode() + "\n")
            continue
        if fields is not None:
            out.write(serde.dumps(fields).decode() + "\n")
            continue
        failures += 1
        out.write(serde.dumps({"match": False, **longest_prefix(args.pattern, line, library)}).decode() + "\n")
    out.flush()
    return 1 if failures else 0


def cut_points(expression: str) -> list[int]:
    """Offsets where the expression can be cut into a valid prefix (after each top-level element)."""
    points = []
    depth = 0
    i, n = 0, len(expression)
    while i < n:
        ch = expression[i]
        if ch == "%" and expression.startswith("%{", i):
            ref = _REFERENCE.match(expression, i)
            i = ref.end() if ref else i + 2
        elif ch == "\\":
            i += 2
        elif ch == "[":
            end = i + 1
            while end < n and expression[end] != "]":
                end += 2 if expression[end] == "\\" else 1
            i = end + 1
        elif ch == "(":
            depth += 1
            i += 1
        elif ch == ")":
            depth -= 1
            i += 1
        else:
            i += 1
        if depth == 0 and (i >= n or expression[i] not in "*+?{"):
            points.append(min(i, n))
    return points


_PLAIN_REFERENCE = re.compile(r"%\{([A-Za-z0-9_]+)\}")


def unfold(expression: str, library: PatternLibrary, depth: int = 4) -> str:
    """Replace references without a field name (``%{HTTPD_COMMONLOG}``) by their definitions, so a
    failing line can be located inside composite patterns such as COMBINEDAPACHELOG."""
    for _ in range(depth):
        def body(ref: re.Match[str]) -> str:
            definition = library.get(ref.group(1))
            return f"(?:{definition.regex})" if definition and "|" in definition.regex else (
                definition.regex if definition else ref.group())
        expanded = _PLAIN_REFERENCE.sub(body, expression)
        if expanded == expression:
            break
        expression = expanded
    return expression


def longest_prefix(expression: str, line: str, library: PatternLibrary) -> dict[str, Any]:
    """The longest prefix of ``expression`` that matches ``line``, what it captured and where it stopped.

    Composite patterns are unfolded first when the expression as written gives no partial match.
    """
    found = _longest_prefix(expression, line, library)
    if found["matched_pattern"] == "" or found["matched_pattern"] == expression:
        unfolded = unfold(expression, library)
        if unfolded != expression:
            deeper = _longest_prefix(unfolded, line, library)
            if deeper["matched_pattern"]:
                return deeper
    return found


def _longest_prefix(expression: str, line: str, library: PatternLibrary) -> dict[str, Any]:
    for end in reversed(cut_points(expression)):
        prefix = expression[:end]
        try:
            compiled = compile_expression(prefix, library)
        except GrokError:
            continue
        found = compiled.search(line, 1.0) if compiled.fast is None else compiled.fast.search(line)
        if found is None:
            continue
        fields = {name: value for name, value in compiled.captures(found) if value not in (None, "")}
        return {"matched_pattern": prefix, "unmatched_pattern": expression[end:],
                "matched_text": found.group(0), "rest_of_line": line[found.end():], "fields": fields}
    return {"matched_pattern": "", "unmatched_pattern": expression, "rest_of_line": line}
