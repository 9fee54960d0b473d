"""Running rules: query windows, silences (realert), aggregation, and the outbox of deliveries.

One run of a rule evaluates whole ``run_every`` steps from where the last run ended
(saved in the state) up to ``now - query_delay``; after a downtime at most
``old_query_limit`` is caught up. Each alert becomes one outbox entry per alerter,
delivered and retried on its own (backoff, until ``alert_time_limit``), so a
DingTalk failure never hides behind an email success, and a restart resends only
what was not delivered.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline.alerts import metrics as alert_metrics
from pipeline.alerts.backends.base import Backend
from pipeline.alerts.errors import DeliveryError, QueryError
from pipeline.alerts.messages import render_message
from pipeline.alerts.query import combine, iso, key_filter
from pipeline.alerts.rule import Rule
from pipeline.alerts.state import AGGREGATION, HISTORY, OUTBOX, RULE, SILENCE, StateStore
from pipeline.alerts.templates import AlertMessage
from pipeline.alerts.types.base import Match, Scope, lookup_field
from pipeline.timestamp import Timestamp

log = logging.getLogger("pipeline.alerts")

RETRY_BASE = 30.0           # seconds before the first retry of a failed delivery
RETRY_MAX = 900.0           # backoff cap for retryable failures
RETRY_PERMANENT = 3600.0    # failures that need a config fix are retried hourly (until the age limit)
HISTORY_DAYS = 30
SAVE_EVERY_STEPS = 10


def parse_time(text: str) -> datetime:
    return Timestamp.parse(text).to_datetime()


@dataclass
class RunReport:
    """What one run of a rule did (for the CLI and tests)."""

    rule: str
    steps: int = 0
    matches: list[Match] = field(default_factory=list)
    alerts: list[AlertMessage] = field(default_factory=list)
    silenced: int = 0
    error: str | None = None
    skipped: tuple[datetime, datetime] | None = None


class Engine:
    """Evaluates rules against a backend and manages their state and deliveries.

    With ``dry_run`` nothing is sent: rendered alerts are only collected in the report.
    """

    def __init__(self, backend: Backend, store: StateStore, *, dry_run: bool = False,
                 clock: Callable[[], float] = time.time) -> None:
        self.backend = backend
        self.store = store
        self.dry_run = dry_run
        self.clock = clock
        self.rules: dict[str, Rule] = {}

    # -- evaluating -----------------------------------------------------------
    def rule_state(self, rule: Rule) -> dict[str, Any]:
        return self.store.get(RULE, rule.name, "") or {"memory": {}, "failures": 0}

    def run_rule(self, rule: Rule, now: datetime, *, since: datetime | None = None) -> RunReport:
        """Evaluate every whole step due for ``rule`` up to ``now - query_delay``."""
        report = self._run_rule(rule, now, since=since)
        alert_metrics.record_run(rule.name, len(report.matches), report.error is not None)
        return report

    def _run_rule(self, rule: Rule, now: datetime, *, since: datetime | None = None) -> RunReport:
        opts = rule.options
        report = RunReport(rule.name)
        state = self.rule_state(rule)
        if state.get("disabled"):
            report.error = f"disabled: {state['disabled']}"
            return report
        step = rule.rule_type.step()
        end_limit = now - opts.query_delay.delta
        if since is not None:
            start = since
        elif state.get("last_end"):
            start = parse_time(state["last_end"])
            oldest = end_limit - opts.old_query_limit.delta
            if start < oldest:
                report.skipped = (start, oldest)
                log.warning("rule %s: was not run from %s to %s; catching up only the last %s (old_query_limit)",
                            rule.name, iso(start), iso(oldest), opts.old_query_limit.delta)
                start = oldest
        else:
            start = end_limit - (opts.buffer_time.delta if rule.rule_type.document_based else step)
        if since is None:
            start = rule.rule_type.first_step_start(start, end_limit)
        scope = Scope(self.backend, opts, rule.query)
        unsaved = 0
        while start + step <= end_limit:
            end = start + step
            try:
                matches = rule.rule_type.evaluate(scope, start, end, state.setdefault("memory", {}))
                # Silences run from when the alert is sent (the run's wall clock), as in ElastAlert2;
                # a dry run replaying history (alerts test) sends each step's alerts at the step end.
                self.handle_matches(rule, scope, matches, end, report, sent_at=end if self.dry_run else now)
            except QueryError as exc:
                self._failed(rule, state, str(exc), report)
                return report
            state["last_end"] = iso(end)
            state["failures"] = 0
            state.pop("last_error", None)
            unsaved += 1
            # Saved after every step that matched (its alerts are in the outbox) and every few quiet
            # steps while catching up: a crash then re-evaluates a few quiet steps, never re-alerts.
            if matches or unsaved >= SAVE_EVERY_STEPS:
                self.store.put(RULE, rule.name, "", state)
                unsaved = 0
            report.steps += 1
            start = end
        if unsaved:
            self.store.put(RULE, rule.name, "", state)
        return report

    def _failed(self, rule: Rule, state: dict[str, Any], reason: str, report: RunReport) -> None:
        """Record a failed run; repeated failures disable the rule with the reason kept in the state."""
        state["failures"] = int(state.get("failures", 0)) + 1
        state["last_error"] = reason
        report.error = reason
        if state["failures"] >= rule.options.max_query_failures:
            state["disabled"] = f"{state['failures']} failed runs in a row; last: {reason}"
            log.error("rule %s disabled after %d failed runs: %s (fix it and reload or restart)",
                      rule.name, state["failures"], reason)
        else:
            log.warning("rule %s: run failed (%d/%d), retried next run: %s", rule.name, state["failures"],
                        rule.options.max_query_failures, reason)
        self.store.put(RULE, rule.name, "", state)

    def record_failure(self, rule: Rule, reason: str) -> RunReport:
        report = RunReport(rule.name)
        self._failed(rule, self.rule_state(rule), reason, report)
        return report

    def enable(self, rule: Rule) -> None:
        """Clear a disabled state (a changed rule file gets a fresh start)."""
        state = self.rule_state(rule)
        if state.pop("disabled", None) is not None:
            state["failures"] = 0
            self.store.put(RULE, rule.name, "", state)

    # -- silences and aggregation ---------------------------------------------
    def handle_matches(self, rule: Rule, scope: Scope, matches: list[Match], now: datetime,
                       report: RunReport, sent_at: datetime | None = None) -> None:
        opts = rule.options
        for match in matches:
            report.matches.append(match)
            if self._silenced(rule, match, sent_at or now):
                report.silenced += 1
                continue
            if opts.aggregation is None:
                self.create_alert(rule, scope, [match], report)
                continue
            agg_key = ", ".join(str(lookup_field(match.event, f)) for f in opts.aggregation_key) or "_all"
            pending = self.store.get(AGGREGATION, rule.name, agg_key)
            if pending is None:
                send_at = opts.aggregation.send_time(match.time)
                pending = {"send_at": iso(send_at), "matches": []}
            pending["matches"].append(_match_doc(match))
            self.store.put(AGGREGATION, rule.name, agg_key, pending,
                           due=parse_time(pending["send_at"]).timestamp())
        if opts.aggregation is None:
            return
        # Sent by the first step that ends after the send time (ElastAlert2: ts_now() > aggregate_alert_time).
        for _, agg_key, pending in self.store.list(AGGREGATION, rule.name, due_before=now.timestamp() - 0.001):
            self.store.delete(AGGREGATION, rule.name, agg_key)
            self.create_alert(rule, scope, [_match_from_doc(d) for d in pending["matches"]], report)

    def _silenced(self, rule: Rule, match: Match, sent_at: datetime) -> bool:
        """ElastAlert2's realert: one silence per rule, or per query_key value with query_key, that
        starts when the alert is sent (not at the event's time)."""
        opts = rule.options
        if not opts.realert:
            return False
        key = silence_key(rule, match)
        silence = self.store.get(SILENCE, rule.name, key)
        if silence is not None and sent_at < parse_time(silence["until"]):
            return True
        exponent = 0
        length = float(opts.realert)
        if opts.exponential_realert and silence is not None:
            # ElastAlert2's next_alert_time: alerting again within realert·2^exponent of the last silence's
            # end doubles the silence; each such period without alerts halves it again.
            exponent = int(silence.get("exponent", 0))
            since_end = (sent_at - parse_time(silence["until"])).total_seconds()
            if since_end < float(opts.realert) * 2 ** exponent:
                exponent += 1
            else:
                while since_end > float(opts.realert) * 2 ** exponent and exponent > 0:
                    since_end -= float(opts.realert) * 2 ** exponent
                    exponent -= 1
            length = float(opts.realert) * 2 ** exponent
            if length >= float(opts.exponential_realert):
                length, exponent = float(opts.exponential_realert), exponent - 1
        until = sent_at + timedelta(seconds=length)
        self.store.put(SILENCE, rule.name, key, {"until": iso(until), "exponent": exponent, "length": length},
                       due=until.timestamp())
        return False

    # -- alerts and deliveries ------------------------------------------------
    def top_counts(self, rule: Rule, scope: Scope, matches: list[Match]) -> dict[str, list[list[Any]]]:
        opts = rule.options
        last = matches[-1]
        if not opts.top_count_keys or last.window is None:
            return {}
        extra = key_filter(opts.query_key, last.key) if len(last.key) == len(opts.query_key) else None
        return {f: [[value, n] for value, n in scope.terms(f, *last.window, extra=combine(extra),
                                                           size=opts.top_count_number)]
                for f in opts.top_count_keys}

    def create_alert(self, rule: Rule, scope: Scope, matches: list[Match], report: RunReport) -> None:
        try:
            top_counts = self.top_counts(rule, scope, matches)
        except QueryError as exc:  # the match is silenced already: send it without the extra figures
            log.warning("rule %s: top_count_keys query failed, alert sent without them: %s", rule.name, exc)
            top_counts = {}
        message = render_message(rule, matches, top_counts)
        report.alerts.append(message)
        if self.dry_run:
            return
        now = self.clock()
        for alerter_id, alerter in rule.alerters:
            entry_id = uuid.uuid4().hex
            entry = {"alerter": alerter_id, "payload": alerter.prepare(message), "created": now, "attempts": 0,
                     "subject": message.subject, "match_time": iso(matches[-1].time)}
            self.store.put(OUTBOX, rule.name, entry_id, entry, due=now)

    def deliver_due(self) -> dict[str, int]:
        """Try every outbox entry that is due; returns counts of sent/retry/expired/dropped."""
        now = self.clock()
        counts = {"sent": 0, "retry": 0, "expired": 0, "dropped": 0}
        for rule_name, entry_id, entry in self.store.list(OUTBOX, due_before=now):
            rule = self.rules.get(rule_name)
            alerter = dict(rule.alerters).get(entry["alerter"]) if rule else None
            if rule is None or alerter is None:
                self._finish(rule_name, entry_id, entry, "dropped",
                             "the rule or its alerter no longer exists", counts)
                continue
            if now - entry["created"] > float(rule.options.alert_time_limit):
                self._finish(rule_name, entry_id, entry, "expired",
                             f"not delivered within alert_time_limit; last error: {entry.get('error')}", counts)
                continue
            try:
                alerter.deliver(entry["payload"])
            except DeliveryError as exc:
                entry["attempts"] += 1
                entry["error"] = str(exc)
                delay = exc.retry_after or (min(RETRY_BASE * 2 ** (entry["attempts"] - 1), RETRY_MAX)
                                            if exc.retryable else RETRY_PERMANENT)
                alert_metrics.record_delivery(rule_name, entry["alerter"], sent=False)
                log.error("rule %s: alerter %s failed (attempt %d, next in %.0fs): %s", rule_name,
                          entry["alerter"], entry["attempts"], delay, exc)
                self.store.put(OUTBOX, rule_name, entry_id, entry, due=now + delay)
                counts["retry"] += 1
                continue
            alert_metrics.record_delivery(rule_name, entry["alerter"], sent=True)
            self._finish(rule_name, entry_id, entry, "sent", None, counts)
        alert_metrics.record_outbox(len(self.store.list(OUTBOX)))
        return counts

    def _finish(self, rule_name: str, entry_id: str, entry: dict[str, Any], status: str, error: str | None,
                counts: dict[str, int]) -> None:
        now = self.clock()
        if status != "sent":
            log.error("rule %s: alert %r for %s %s: %s", rule_name, entry.get("subject"), entry["alerter"],
                      status, error)
        self.store.put(HISTORY, rule_name, entry_id,
                       {"time": iso(datetime.fromtimestamp(now, UTC)), "alerter": entry["alerter"],
                        "status": status, "subject": entry.get("subject"), "attempts": entry["attempts"] + 1,
                        "match_time": entry.get("match_time"), "error": error or entry.get("error")},
                       due=now)
        self.store.delete(OUTBOX, rule_name, entry_id)
        counts[status] += 1

    def prune_history(self) -> None:
        for rule_name, key, _ in self.store.list(HISTORY, due_before=self.clock() - HISTORY_DAYS * 86400):
            self.store.delete(HISTORY, rule_name, key)


def silence_key(rule: Rule, match: Match) -> str:
    """The query_key value of a match ("_all" without query_key: the whole rule is silenced)."""
    fields = rule.options.query_key
    if not fields:
        return "_all"
    values = match.key if len(match.key) == len(fields) else tuple(lookup_field(match.event, f) for f in fields)
    return ", ".join(str(v) for v in values)


def _match_doc(match: Match) -> dict[str, Any]:
    return {"time": iso(match.time), "key": list(match.key), "event": match.event, "count": match.count,
            "window": [iso(match.window[0]), iso(match.window[1])] if match.window else None,
            "details": match.details}


def _match_from_doc(doc: dict[str, Any]) -> Match:
    window = doc.get("window")
    return Match(time=parse_time(doc["time"]), key=tuple(doc.get("key") or ()), event=doc.get("event") or {},
                 count=doc.get("count"), details=doc.get("details") or {},
                 window=(parse_time(window[0]), parse_time(window[1])) if window else None)
