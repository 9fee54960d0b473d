"""The alerts loop: reload changed rule files, run the rules that are due, deliver the outbox.

A rule that fails to load is reported (file:line) and left out; a rule whose run
raises is recorded as a failed run; neither stops the others.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from pipeline.alerts.backends.base import Backend
from pipeline.alerts.engine import Engine, RunReport
from pipeline.alerts.rule import AlertSettings, Rule, load_rules, rule_files
from pipeline.errors import ConfigError

log = logging.getLogger("pipeline.alerts")

TICK_SECONDS = 5.0
PRUNE_EVERY_SECONDS = 3600.0


class Scheduler:
    """Runs every rule of a directory against one backend, keeping state in that backend."""

    def __init__(self, rules_dir: Path, backend: Backend, settings: AlertSettings | None = None,
                 *, clock: Callable[[], float] = time.time) -> None:
        self.rules_dir = Path(rules_dir)
        self.settings = settings or AlertSettings()
        self.backend = backend
        self.engine = Engine(backend, backend.state_store(), clock=clock)
        self.clock = clock
        self.errors: list[ConfigError] = []
        self._fingerprint: tuple[tuple[str, float], ...] | None = None
        self._pruned_at = float("-inf")

    @property
    def rules(self) -> dict[str, Rule]:
        return self.engine.rules

    def reload(self) -> bool:
        """Load the rules again when a file was added, changed or removed; True when reloaded."""
        fingerprint = tuple((str(p), p.stat().st_mtime) for p in rule_files(self.rules_dir))
        if fingerprint == self._fingerprint:
            return False
        self._fingerprint = fingerprint
        rules, self.errors = load_rules(self.rules_dir, self.settings)
        for error in self.errors:
            log.error("rule skipped: %s", error.render())
        for name, rule in rules.items():
            old = self.engine.rules.get(name)
            if old is None or old.mtime != rule.mtime:
                self.engine.enable(rule)  # a new or edited rule starts without its old disabled state
        self.engine.rules = rules
        log.info("alerts: %d rules loaded, %d skipped", len(rules), len(self.errors))
        return True

    def run_once(self, now: datetime | None = None) -> list[RunReport]:
        """One pass: reload, run every enabled rule for its due steps, deliver due alerts."""
        self.reload()
        moment = now or datetime.fromtimestamp(self.clock(), UTC)
        reports = []
        for rule in list(self.rules.values()):
            if not rule.options.is_enabled:
                continue
            try:
                reports.append(self.engine.run_rule(rule, moment))
            except Exception as exc:  # one broken rule must not stop the others
                log.exception("rule %s: run failed", rule.name)
                reports.append(self.engine.record_failure(rule, f"{type(exc).__name__}: {exc}"))
        self.engine.deliver_due()
        if self.clock() - self._pruned_at >= PRUNE_EVERY_SECONDS:
            self.engine.prune_history()
            self._pruned_at = self.clock()
        return reports

    def run_forever(self, stop: threading.Event, tick: float = TICK_SECONDS,
                    heartbeat: threading.Event | None = None) -> None:
        """Run the due steps every ``tick`` until ``stop``; ``heartbeat`` is set once per pass (the systemd
        watchdog pings only while it keeps being set)."""
        while not stop.is_set():
            if heartbeat is not None:
                heartbeat.set()
            try:
                self.run_once()
            except ConfigError as exc:
                log.error("alerts: %s", exc.render())
            except Exception:  # the loop keeps going; the state store may be back next tick
                log.exception("alerts: run failed; retrying in %.0fs", tick)
            stop.wait(tick)
