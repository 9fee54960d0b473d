"""Alert subject and text: sandboxed jinja2 templates over the match, the rule and helper values.

Variables: ``rule`` (name, type, priority, owner, description, index, query_key,
filter), ``match`` (the matching or latest event), ``matches`` (every event of an
aggregated alert), ``key`` (query_key value), ``count``, ``num_matches``,
``window_start``/``window_end`` (text in the rule's time zone), ``timeframe``,
``details`` (type-specific: reference_count, metric_value, percentage ...),
``summary`` (one sentence saying why), ``top_counts`` ({field: [[value, n], ...]}),
``summary_table`` ([[values..., n], ...]), ``kibana_url``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jinja2 import ChainableUndefined, TemplateSyntaxError
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from pipeline import serde
from pipeline.errors import ConfigError

# Missing fields (match.kubernetes.pod.name on an event without them) render empty, not fail.
ENV = ImmutableSandboxedEnvironment(undefined=ChainableUndefined, autoescape=False)

DEFAULT_SUBJECT = {
    "en": "[{{ rule.priority }}] {{ rule.name }}{% if key %} ({{ key }}){% endif %}",
    "zh": "【{{ rule.priority }}】告警：{{ rule.name }}{% if key %}（{{ key }}）{% endif %}",
}

DEFAULT_TEXT = {
    "en": """\
{{ summary }}

Rule: {{ rule.name }} ({{ rule.type }})    Priority: {{ rule.priority }}{% if rule.owner %}    \
Owner: {{ rule.owner }}{% endif %}
Window: {{ window_start }} - {{ window_end }}
{% if key %}{{ rule.query_key | join(', ') }}: {{ key }}
{% endif %}{% if rule.description %}Description: {{ rule.description }}
{% endif %}{% if rule.filter %}Filter: {{ rule.filter }}
{% endif %}{% for field, values in top_counts.items() %}Top {{ field }}: \
{% for value, n in values %}{{ value }} ({{ n }}){% if not loop.last %}, {% endif %}{% endfor %}
{% endfor %}{% if num_matches > 1 %}
{{ num_matches }} matches aggregated:
{% for row in summary_table %}  {{ row[:-1] | join(' | ') }}: {{ row[-1] }}
{% endfor %}{% endif %}{% if match %}
Latest event:
{{ match_text }}
{% endif %}{% if kibana_url %}
Kibana: {{ kibana_url }}
{% endif %}""",
    "zh": """\
{{ summary }}

规则：{{ rule.name }}（{{ rule.type }}）    级别：{{ rule.priority }}{% if rule.owner %}    \
负责人：{{ rule.owner }}{% endif %}
时间窗口：{{ window_start }} 至 {{ window_end }}
{% if key %}{{ rule.query_key | join('、') }}：{{ key }}
{% endif %}{% if rule.description %}说明：{{ rule.description }}
{% endif %}{% if rule.filter %}过滤条件：{{ rule.filter }}
{% endif %}{% for field, values in top_counts.items() %}{{ field }} 最多的值：\
{% for value, n in values %}{{ value }}（{{ n }} 次）{% if not loop.last %}，{% endif %}{% endfor %}
{% endfor %}{% if num_matches > 1 %}
共聚合 {{ num_matches }} 次匹配：
{% for row in summary_table %}  {{ row[:-1] | join(' | ') }}：{{ row[-1] }} 次
{% endfor %}{% endif %}{% if match %}
最新事件：
{{ match_text }}
{% endif %}{% if kibana_url %}
在 Kibana 中查看：{{ kibana_url }}
{% endif %}""",
}

# One sentence per rule type saying why it fired; fields come from the context and details.
SUMMARIES = {
    "en": {
        "any": "Event matched the filter{% if key %} for {{ key }}{% endif %}.",
        "frequency": "{{ count }} events{% if key %} for {{ key }}{% endif %} within {{ timeframe }} "
                     "(threshold: {{ details.num_events }}).",
        "spike": "Spike {{ details.direction }}: {{ details.spike_count }} events in the last {{ timeframe }}"
                 " against {{ details.reference_count }} in the {{ timeframe }} before"
                 "{% if key %} for {{ key }}{% endif %}.",
        "flatline": "Only {{ count }} events{% if key %} for {{ key }}{% endif %} within {{ timeframe }} "
                    "(expected at least {{ details.threshold }}).",
        "blacklist": "Blacklisted value {{ details.value }} in {{ details.field }}.",
        "whitelist": "Value {{ details.value }} of {{ details.field }} is not whitelisted.",
        "change": "{{ details.field }} changed from {{ details.old_value }} to {{ details.new_value }}"
                  "{% if key %} for {{ key }}{% endif %}.",
        "new_term": "New value {{ details.new_value }} in {{ details.new_field }}.",
        "cardinality": "{{ details.cardinality }} distinct values of {{ details.cardinality_field }}"
                       "{% if key %} for {{ key }}{% endif %} within {{ timeframe }}.",
        "metric_aggregation": "{{ details.metric_agg_type }}({{ details.metric_agg_key }}) = "
                              "{{ details.metric_value }}{% if key %} for {{ key }}{% endif %}.",
        "percentage_match": "{{ details.percentage }}% of {{ details.denominator }} events matched"
                            "{% if key %} for {{ key }}{% endif %}.",
    },
    "zh": {
        "any": "有事件符合过滤条件{% if key %}（{{ key }}）{% endif %}。",
        "frequency": "{% if key %}{{ key }} {% endif %}在 {{ timeframe }}内出现 {{ count }} 次事件"
                     "（阈值 {{ details.num_events }} 次）。",
        "spike": "事件量突{{ '增' if details.direction == 'up' else '降' }}：最近 {{ timeframe }}"
                 " {{ details.spike_count }} 次，之前 {{ timeframe }} {{ details.reference_count }} 次"
                 "{% if key %}（{{ key }}）{% endif %}。",
        "flatline": "{% if key %}{{ key }} {% endif %}在 {{ timeframe }}内只有 {{ count }} 次事件"
                    "（至少应有 {{ details.threshold }} 次）。",
        "blacklist": "{{ details.field }} 出现黑名单中的值 {{ details.value }}。",
        "whitelist": "{{ details.field }} 的值 {{ details.value }} 不在白名单中。",
        "change": "{% if key %}{{ key }} 的 {% endif %}{{ details.field }} 由 {{ details.old_value }} "
                  "变为 {{ details.new_value }}。",
        "new_term": "{{ details.new_field }} 出现新值 {{ details.new_value }}。",
        "cardinality": "{% if key %}{{ key }} {% endif %}在 {{ timeframe }}内 {{ details.cardinality_field }}"
                       " 有 {{ details.cardinality }} 个不同的值。",
        "metric_aggregation": "{{ details.metric_agg_key }} 的 {{ details.metric_agg_type }} 为 "
                              "{{ details.metric_value }}{% if key %}（{{ key }}）{% endif %}。",
        "percentage_match": "{{ details.denominator }} 次事件中 {{ details.percentage }}% 符合条件"
                            "{% if key %}（{{ key }}）{% endif %}。",
    },
}

_UNITS = {"en": (("day", "days", 86400), ("hour", "hours", 3600), ("minute", "minutes", 60),
                 ("second", "seconds", 1)),
          "zh": (("天", "天", 86400), ("小时", "小时", 3600), ("分钟", "分钟", 60), ("秒", "秒", 1))}


@dataclass
class AlertMessage:
    """A rendered alert: what every alerter sends, in its own format."""

    subject: str
    text: str
    link: str | None
    context: dict[str, Any]


def compile_template(source: str, what: str) -> Any:
    """Compile a user template; ConfigError with the template line on syntax errors."""
    try:
        return ENV.from_string(source)
    except TemplateSyntaxError as exc:
        raise ConfigError(f"{what}: template error at template line {exc.lineno}: {exc.message}") from exc


def render(template: Any, context: dict[str, Any], what: str) -> str:
    """Render in the sandbox; a failing template gives a readable marker, not a lost alert."""
    try:
        return str(template.render(context))
    except (SecurityError, UndefinedError, TypeError, ValueError, AttributeError, KeyError,
            ZeroDivisionError) as exc:
        return f"[{what} could not be rendered: {type(exc).__name__}: {exc}]"


def human_period(seconds: float, language: str = "en") -> str:
    """``300`` → ``5 minutes`` / ``5 分钟``."""
    for singular, plural, size in _UNITS.get(language, _UNITS["en"]):
        if seconds >= size and seconds % size == 0:
            n = int(seconds // size)
            if language == "zh":
                return f"{n} {singular}"
            return f"{n} {singular if n == 1 else plural}"
    return f"{seconds:g}s"


def format_time(moment: datetime, tz: Any) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z")


def event_text(event: dict[str, Any], limit: int = 2000) -> str:
    """An event as ``field: value`` lines (flattened), cut at ``limit`` characters."""
    lines: list[str] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif isinstance(value, list):
            lines.append(f"{prefix}: {serde.dumps_str(value)}")
        else:
            lines.append(f"{prefix}: {value}")

    walk("", event)
    text = "\n".join(lines)
    return text if len(text) <= limit else text[:limit] + " …"
