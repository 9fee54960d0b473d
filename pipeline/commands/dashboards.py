"""``pipeline dashboards``: build the Kibana saved objects from the specs, check them, import them."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.commands._credentials import basic_auth
from pipeline.kibana import fields, ndjson, specs, validate
from pipeline.kibana.builder import REPO_DASHBOARDS, build_objects
from pipeline.kibana.errors import KibanaError, KibanaNotReadyError, SpecError
from pipeline.kibana.importer import DEFAULT_TIMEOUT, import_dashboards
from pipeline.kibana.targets import DEFAULT_TARGET, TARGETS, Target

EXIT_UNREACHABLE = 69  # EX_UNAVAILABLE, as `pipeline setup`


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("dashboards", help="build, check and import the Kibana dashboards",
                            description="Kibana saved objects (data views, searches, visualizations, "
                                        "dashboards) generated from the YAML specs in dashboards/specs.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    targets = sorted(TARGETS)

    build = actions.add_parser("build", help="write the NDJSON files from the specs")
    build.add_argument("--target", choices=[*targets, "all"], default=DEFAULT_TARGET,
                       help="kibana8 (Kibana 8.8+, default), kibana7 (Kibana 7.10+, OpenSearch Dashboards) or all")
    build.add_argument("--out", type=Path, help="output directory (default dashboards/<target>; with "
                                                "--target all, one sub-directory per target)")
    build.add_argument("--specs", type=Path, default=REPO_DASHBOARDS / "specs", help="spec directory")
    build.set_defaults(func=run_build)

    check = actions.add_parser("check", help="validate the specs and objects; fail if the NDJSON files drifted")
    check.add_argument("--specs", type=Path, default=REPO_DASHBOARDS / "specs", help="spec directory")
    check.add_argument("--dir", type=Path, default=REPO_DASHBOARDS,
                       help="directory holding <target>/*.ndjson to compare (default dashboards/)")
    check.set_defaults(func=run_check)

    imp = actions.add_parser("import", help="import the dashboards into Kibana (overwriting earlier imports)")
    imp.add_argument("--kibana", required=True, metavar="URL", help="Kibana URL, e.g. http://127.0.0.1:5601")
    imp.add_argument("--user", help="basic auth user (e.g. elastic)")
    imp.add_argument("--password", help="basic auth password (or set ES_PASSWORD)")
    imp.add_argument("--api-key", help="API key as id:key or its base64 encoding")
    imp.add_argument("--space", help="Kibana space id (default: the default space)")
    imp.add_argument("--ca-cert", help="CA certificate (PEM) to verify Kibana's TLS certificate")
    imp.add_argument("--insecure", action="store_true", help="do not verify TLS certificates")
    imp.add_argument("--target", choices=[*targets, "auto"], default="auto",
                     help="flavour to import; auto (default) picks it from the version Kibana reports")
    imp.add_argument("--dir", type=Path, help="import these NDJSON files (or specs) instead of dashboards/<target>")
    imp.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                     help=f"seconds to wait for Kibana to be ready (default {DEFAULT_TIMEOUT:g})")
    imp.set_defaults(func=run_import)


def _load(spec_dir: Path) -> list[specs.Dashboard] | None:
    try:
        dashboards = specs.load_dir(spec_dir)
    except SpecError as exc:
        print(f"dashboards: {exc}", file=sys.stderr)
        return None
    problems = [p for d in dashboards for p in fields.check_dashboard(d)]
    for problem in problems:
        print(f"dashboards: {problem}", file=sys.stderr)
    return None if problems else dashboards


def _targets(name: str) -> list[Target]:
    return list(TARGETS.values()) if name == "all" else [TARGETS[name]]


def run_build(args: argparse.Namespace) -> int:
    dashboards = _load(args.specs)
    if dashboards is None:
        return 1
    for target in _targets(args.target):
        out = (args.out / target.name if args.target == "all" else args.out) if args.out else REPO_DASHBOARDS / target.name
        for path in ndjson.write_all(dashboards, target, out):
            print(f"wrote {path}")
    return 0


def run_check(args: argparse.Namespace) -> int:
    dashboards = _load(args.specs)
    if dashboards is None:
        return 1
    failures = 0
    for target in TARGETS.values():
        seen: dict[tuple[str, str], dict[str, object]] = {}
        for dashboard in dashboards:
            for obj in build_objects(dashboard, target):
                seen.setdefault((str(obj["type"]), str(obj["id"])), obj)
        for problem in validate.check_objects(list(seen.values())):
            print(f"dashboards: {target.name}: {problem}", file=sys.stderr)
            failures += 1
        failures += _drift(dashboards, target, args.dir / target.name)
    if failures:
        print(f"dashboards: {failures} problem(s); rebuild with: pipeline dashboards build --target all",
              file=sys.stderr)
        return 1
    print(f"dashboards: {len(dashboards)} specs valid, {' and '.join(TARGETS)} NDJSON up to date")
    return 0


def _drift(dashboards: list[specs.Dashboard], target: Target, directory: Path) -> int:
    expected = {ndjson.file_name(d): ndjson.render(d, target) for d in dashboards}
    actual = {p.name: p.read_text(encoding="utf-8") for p in directory.glob("*.ndjson")} if directory.is_dir() else {}
    drifted = sorted(n for n in expected if actual.get(n) != expected[n]) + sorted(set(actual) - set(expected))
    for name in drifted:
        state = "missing" if name not in actual else "stale (no spec)" if name not in expected else "differs from spec"
        print(f"dashboards: {directory / name}: {state}", file=sys.stderr)
    return len(drifted)


def run_import(args: argparse.Namespace) -> int:
    user, password = basic_auth(args.user, args.password)
    try:
        summary = import_dashboards(args.kibana, user=user, password=password,
                                    api_key=args.api_key, space=args.space, target=args.target,
                                    source_dir=args.dir, timeout=args.timeout, raise_on_error=False,
                                    verify=False if args.insecure else (args.ca_cert or True))
    except (SpecError, ValueError, FileNotFoundError) as exc:
        print(f"dashboards: {exc}", file=sys.stderr)
        return 2
    except KibanaNotReadyError as exc:
        print(f"dashboards: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except KibanaError as exc:
        print(f"dashboards: {exc}", file=sys.stderr)
        return 1
    return 0 if summary["success"] else 1
