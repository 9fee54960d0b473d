"""The alert engine: YAML rules (ElastAlert2 keys) over the local index or Elasticsearch,
with email, DingTalk, WeCom, webhook, Slack and stdout/log alerters. See docs/alerts.md."""

from pipeline.alerts.engine import Engine, RunReport
from pipeline.alerts.rule import AlertSettings, Rule, load_rule, load_rules
from pipeline.alerts.scheduler import Scheduler

__all__ = ["AlertSettings", "Engine", "Rule", "RunReport", "Scheduler", "load_rule", "load_rules"]
