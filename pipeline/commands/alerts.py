"""``pipeline alerts run|test|check``: the alert engine from the command line."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pipeline.errors import CONFIG_ERROR_EXIT_CODE, ConfigError, ConfigErrors
from pipeline.plugin import Duration

DEFAULT_RULES = "rules"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("alerts", help="alert rules over indexed events (run, test, check)",
                            description="Alert rules (ElastAlert2 keys) over the local index or Elasticsearch.")
    actions = parser.add_subparsers(dest="alerts_command", metavar="ACTION")

    run = actions.add_parser("run", help="run the rules (a loop, or one pass with --once)")
    _common(run)
    _backend(run)
    run.add_argument("--once", action="store_true", help="one pass over the due steps, deliver, exit")
    run.add_argument("--metrics.host", dest="metrics_host", default="127.0.0.1",
                     help="address of the Prometheus /metrics endpoint (default 127.0.0.1)")
    run.add_argument("--metrics.port", dest="metrics_port", type=int, default=9611,
                     help="port of the Prometheus /metrics endpoint (default 9611; 0 = off)")
    run.set_defaults(func=run_command)

    test = actions.add_parser("test", help="evaluate one rule over history; print what would fire, send nothing")
    test.add_argument("rule", type=Path, help="the rule file")
    test.add_argument("--settings", type=Path, help="alerts settings file (rule defaults, alerter options)")
    test.add_argument("--since", default="24h", help="how far back to evaluate (e.g. 30m, 24h, 7d)")
    test.add_argument("--max-alerts", type=int, default=20, help="print at most this many messages")
    _backend(test)
    test.set_defaults(func=test_command)

    status = actions.add_parser("status", help="saved state: last run, disabled rules, unsent alerts, history")
    status.add_argument("--settings", type=Path, help="alerts settings file (Elasticsearch credentials)")
    status.add_argument("--history", type=int, default=10, help="show this many recent deliveries")
    _backend(status)
    status.set_defaults(func=status_command)

    check = actions.add_parser("check", help="validate every rule: options, queries, templates, and alerters "
                                             "that cannot send; every problem with file:line:col")
    _common(check)
    check.set_defaults(func=check_command)

    show = actions.add_parser("show", help="print the full ElastAlert2 rule a rule compiles to (YAML)")
    show.add_argument("rule", help="rule name (in --rules) or a rule file")
    _common(show)
    show.set_defaults(func=show_command)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rules", type=Path, default=Path(DEFAULT_RULES), help="rules directory (default ./rules)")
    parser.add_argument("--settings", type=Path, help="alerts settings file (rule defaults, alerter options)")


def _backend(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--path.data", dest="path_data", type=Path, default=Path("data"),
                        help="data directory of the pipeline whose local index the rules read (default ./data)")
    from pipeline.elasticsearch.arguments import add_connection_arguments

    add_connection_arguments(parser, required=False)
    parser.add_argument("--log.level", dest="log_level", default="info", help="log level (default info)")


def _settings(args: argparse.Namespace) -> Any:
    from pipeline.alerts.rule import AlertSettings

    return AlertSettings.load(args.settings)


def _make_backend(args: argparse.Namespace, settings: Any) -> Any:
    es = settings.elasticsearch  # credentials for --es live in the settings file, beside the secrets
    url = args.es
    if url:
        from pipeline.alerts.backends.elasticsearch import ElasticsearchBackend
        from pipeline.commands._credentials import basic_auth
        from pipeline.elasticsearch.client import client_from_url

        user, password = basic_auth(
            args.user or es.get("user") or es.get("username") or os.environ.get("ES_USER"),
            args.password or es.get("password"),
            user_sources="--user (or the settings' elasticsearch.user, or ES_USER)",
            password_sources="--password (or the settings' elasticsearch.password)")
        client = client_from_url(url, user=user, password=password,
                                 api_key=args.api_key or es.get("api_key") or None,
                                 ca_certs=args.ca_cert or es.get("ca_cert"), insecure=args.insecure)
        return ElasticsearchBackend(client)
    from pipeline.alerts.backends.local import LocalBackend

    return LocalBackend(args.path_data)


def run_command(args: argparse.Namespace) -> int:
    from pipeline import logs
    from pipeline.alerts.scheduler import Scheduler

    logs.configure(args.log_level)
    if not args.rules.is_dir():
        print(f"rules directory {args.rules} does not exist", file=sys.stderr)
        return CONFIG_ERROR_EXIT_CODE
    settings = _settings(args)
    backend = _make_backend(args, settings)
    scheduler = Scheduler(args.rules, backend, settings)
    try:
        if args.once:
            reports = scheduler.run_once()
            for error in scheduler.errors:
                print(error.render(), file=sys.stderr)
            for report in reports:
                print(f"{report.rule}: {report.steps} steps, {len(report.matches)} matches, "
                      f"{len(report.alerts)} alerts, {report.silenced} silenced"
                      + (f", error: {report.error}" if report.error else ""))
            # Non-zero when a rule was skipped or failed, so a cron job shows it.
            return 1 if scheduler.errors or any(r.error for r in reports) else 0
        if args.metrics_port:
            from pipeline.alerts import metrics as alert_metrics

            alert_metrics.serve(args.metrics_host, args.metrics_port)
        from pipeline import sdnotify

        stop, alive = threading.Event(), threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        # Type=notify under systemd: ready once the rules loaded, watchdog pings while the loop turns.
        sdnotify.start_watchdog(alive)
        scheduler.reload()
        sdnotify.ready(f"{len(scheduler.rules)} rules from {args.rules}")
        scheduler.run_forever(stop, heartbeat=alive)
        sdnotify.stopping("alert engine stopping")
        return 0
    finally:
        backend.close()


def test_command(args: argparse.Namespace) -> int:
    from pipeline.alerts.engine import Engine
    from pipeline.alerts.rule import load_rule
    from pipeline.alerts.state import SQLiteStateStore

    try:
        since = Duration.parse(args.since)
    except ValueError as exc:
        print(f"--since: {exc}", file=sys.stderr)
        return 2
    settings = _settings(args)
    rule = load_rule(args.rule, settings)
    backend = _make_backend(args, settings)
    engine = Engine(backend, SQLiteStateStore(":memory:"), dry_run=True)
    now = datetime.now(UTC)
    try:
        report = engine.run_rule(rule, now, since=now - rule.options.query_delay.delta - timedelta(seconds=since))
    finally:
        backend.close()
    if report.error:
        print(f"error: {report.error}", file=sys.stderr)
        return 1
    print(f"rule {rule.name}: {report.steps} steps over the last {args.since}: {len(report.matches)} matches, "
          f"{len(report.alerts)} alerts would be sent ({report.silenced} silenced by realert); nothing sent")
    for message in report.alerts[: args.max_alerts]:
        print(f"\n--- to {', '.join(a for a, _ in rule.alerters)}\nSubject: {message.subject}\n{message.text}")
    if len(report.alerts) > args.max_alerts:
        print(f"\n... and {len(report.alerts) - args.max_alerts} more")
    return 0


def check_command(args: argparse.Namespace) -> int:
    from pipeline.alerts.rule import load_rules, rule_files

    try:
        settings = _settings(args)
    except ConfigError as exc:
        print(exc.render(), file=sys.stderr)
        return CONFIG_ERROR_EXIT_CODE
    if not args.rules.is_dir():
        print(f"rules directory {args.rules} does not exist", file=sys.stderr)
        return CONFIG_ERROR_EXIT_CODE
    rules, errors = load_rules(args.rules, settings, strict=True)
    errors.sort(key=lambda e: (e.location.file, e.location.line, e.location.col) if e.location else ("", 0, 0))
    if errors:
        print(ConfigErrors(errors).render(), file=sys.stderr)
    files = rule_files(args.rules)
    print(f"{len(rules)} rules OK in {len(files)} files" + (f", {len(errors)} problem(s)" if errors else ""))
    return CONFIG_ERROR_EXIT_CODE if errors else 0


def show_command(args: argparse.Namespace) -> int:
    from pipeline.alerts.rule import load_rule_file, load_rules
    from pipeline.alerts.show import rule_yaml

    try:
        settings = _settings(args)
        if Path(args.rule).is_file():
            found = {rule.name: rule for rule in load_rule_file(Path(args.rule), settings)}
            errors: list[ConfigError] = []
        elif args.rules.is_dir():
            found, errors = load_rules(args.rules, settings)
        else:
            print(f"{args.rule} is not a file and rules directory {args.rules} does not exist", file=sys.stderr)
            return CONFIG_ERROR_EXIT_CODE
    except ConfigError as exc:
        print(exc.render(), file=sys.stderr)
        return CONFIG_ERROR_EXIT_CODE
    chosen = list(found.values()) if Path(args.rule).is_file() else \
        [found[args.rule]] if args.rule in found else []
    if not chosen:
        import difflib

        hint = difflib.get_close_matches(args.rule, list(found), 1)
        print(f"no rule named {args.rule!r} in {args.rules}" + (f" (did you mean {hint[0]!r}?)" if hint else ""),
              file=sys.stderr)
        for error in errors:
            print(error.render(), file=sys.stderr)
        return CONFIG_ERROR_EXIT_CODE
    print("\n---\n".join(rule_yaml(rule) for rule in chosen), end="")
    return 0


def status_command(args: argparse.Namespace) -> int:
    from pipeline.alerts.state import HISTORY, OUTBOX, RULE

    backend = _make_backend(args, _settings(args))
    try:
        store = backend.state_store()
        rules = store.list(RULE)
        outbox = store.list(OUTBOX)
        history = sorted(store.list(HISTORY), key=lambda r: r[2].get("time", ""))[-args.history:]
    finally:
        backend.close()
    print(f"{len(rules)} rules with state:")
    for name, _, state in sorted(rules):
        flag = f"DISABLED: {state['disabled']}" if state.get("disabled") else \
            (f"failing ({state.get('failures')}): {state.get('last_error')}" if state.get("failures") else "ok")
        print(f"  {name}: evaluated up to {state.get('last_end', 'never')}; {flag}")
    print(f"{len(outbox)} alerts waiting for delivery:")
    for name, _, entry in outbox:
        print(f"  {name} -> {entry['alerter']}: {entry.get('subject')!r}, {entry['attempts']} attempts, "
              f"last error: {entry.get('error')}")
    print(f"last {len(history)} deliveries:")
    for name, _, record in history:
        print(f"  {record.get('time')} {name} -> {record['alerter']}: {record['status']} {record.get('subject')!r}"
              + (f" ({record['error']})" if record.get("error") and record["status"] != "sent" else ""))
    return 0
