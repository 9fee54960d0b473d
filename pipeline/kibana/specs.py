"""Dashboard specs: the YAML files in ``dashboards/specs/``, loaded and validated with file:line errors.

A spec describes one dashboard: its data view, time range, query and a grid of panels
(time series, bar, metric, pie, table of top values, saved search). Everything Kibana
needs beyond that (visState, panelsJSON, references ...) is derived by ``builder``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipeline.kibana.errors import SpecError

PANEL_TYPES = ("timeseries", "bar", "metric", "pie", "table", "search")
METRIC_AGGS = ("count", "sum", "avg", "max", "min", "cardinality")
CHARTS = ("bar", "line", "area")
GRID_COLUMNS = 48  # Kibana's dashboard grid is 48 columns wide
_INTERVAL = re.compile(r"^(auto|\d+(ms|s|m|h|d|w|M|y))$")
_REFRESH = re.compile(r"^(\d+)(s|m|h)$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True)
class DataView:
    pattern: str
    time_field: str = "@timestamp"


@dataclass(frozen=True)
class Metric:
    agg: str = "count"
    field: str | None = None
    label: str | None = None


@dataclass(frozen=True)
class Panel:
    key: str
    type: str
    title: str
    line: int
    width: int = 24
    height: int = 15
    query: str = ""
    language: str = "kuery"
    field: str | None = None
    size: int = 10
    metrics: tuple[Metric, ...] = (Metric(),)
    interval: str = "auto"
    split: str | None = None
    split_size: int = 5
    split_filters: tuple[tuple[str, str], ...] = ()
    chart: str = "bar"
    columns: tuple[str, ...] = ()
    sort: tuple[str, str] = ("@timestamp", "desc")


@dataclass(frozen=True)
class Dashboard:
    name: str
    title: str
    data_view: DataView
    source: str
    description: str = ""
    time_from: str = "now-24h"
    time_to: str = "now"
    refresh_seconds: int | None = None
    query: str = ""
    language: str = "kuery"
    panels: tuple[Panel, ...] = field(default_factory=tuple)


class _Mapping(dict):  # type: ignore[type-arg]
    """A YAML mapping that remembers the line of itself and of each key."""

    line: int = 0
    key_lines: dict[str, int]


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _Mapping:
    loader.flatten_mapping(node)
    mapping = _Mapping()
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in mapping:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[key] = key_node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class _Reader:
    """Typed access to one mapping of a spec, with errors pointing at the offending line."""

    def __init__(self, data: Any, source: str, what: str, line: int = 0) -> None:
        if not isinstance(data, _Mapping):
            raise SpecError(f"{what} must be a mapping, got {type(data).__name__}", source, line or None)
        self.data, self.source, self.what = data, source, what
        self.used: set[str] = set()

    def line(self, key: str | None = None) -> int:
        return self.data.key_lines.get(key, self.data.line) if key else self.data.line

    def error(self, key: str | None, message: str) -> SpecError:
        return SpecError(message, self.source, self.line(key))

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = None, *, required: bool = False) -> Any:
        self.used.add(key)
        if key not in self.data or self.data[key] is None:
            if required:
                raise self.error(None, f"{self.what}: '{key}' is required")
            return default
        value = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            names = " or ".join(k.__name__ for k in kinds)
            raise self.error(key, f"{self.what}: '{key}' must be {names}, got {value!r}")
        return value

    def positive(self, key: str, default: int, maximum: int | None = None) -> int:
        value = self.get(key, int, default)
        if value < 1 or (maximum is not None and value > maximum):
            bound = f" and at most {maximum}" if maximum else ""
            raise self.error(key, f"{self.what}: '{key}' must be at least 1{bound}, got {value}")
        return int(value)

    def finish(self) -> None:
        unknown = [k for k in self.data if k not in self.used]
        if unknown:
            raise self.error(unknown[0], f"{self.what}: unknown key '{unknown[0]}' "
                                         f"(known: {', '.join(sorted(self.used))})")


def load_file(path: Path) -> Dashboard:
    """Load and validate one spec file."""
    return parse_text(path.read_text(encoding="utf-8"), str(path))


def parse_text(text: str, source: str = "<spec>") -> Dashboard:
    """Parse and validate the YAML text of one dashboard spec."""
    try:
        data = yaml.load(text, Loader=_LineLoader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise SpecError(f"invalid YAML: {exc.problem or exc}", source, mark.line + 1 if mark else None) from exc
    except yaml.YAMLError as exc:
        raise SpecError(f"invalid YAML: {exc}", source) from exc
    return _dashboard(_Reader(data, source, "dashboard", 1))


def load_dir(directory: Path) -> list[Dashboard]:
    """Every ``*.yml`` spec of ``directory``, sorted by name; names and data views checked across files."""
    files = sorted(directory.glob("*.yml")) + sorted(directory.glob("*.yaml"))
    if not files:
        raise SpecError("no dashboard specs (*.yml) found", str(directory))
    dashboards = [load_file(path) for path in files]
    check_consistency(dashboards)
    return sorted(dashboards, key=lambda d: d.name)


def check_consistency(dashboards: Iterable[Dashboard]) -> None:
    """Names unique across specs; one time field per data view pattern."""
    names: dict[str, str] = {}
    time_fields: dict[str, tuple[str, str]] = {}
    for dash in dashboards:
        if dash.name in names:
            raise SpecError(f"dashboard name '{dash.name}' is also used by {names[dash.name]}", dash.source, 1)
        names[dash.name] = dash.source
        known = time_fields.setdefault(dash.data_view.pattern, (dash.data_view.time_field, dash.source))
        if known[0] != dash.data_view.time_field:
            raise SpecError(f"data view '{dash.data_view.pattern}' has time field '{dash.data_view.time_field}' "
                            f"here but '{known[0]}' in {known[1]}", dash.source, 1)


def _dashboard(spec: _Reader) -> Dashboard:
    name = spec.get("name", str, required=True)
    if not _NAME.match(name):
        raise spec.error("name", f"dashboard: name '{name}' must be lower-case letters, digits, '-' or '_' "
                                 "(it seeds the saved-object ids: never rename a shipped dashboard)")
    data_view = _data_view(spec)
    time = spec.get("time", _Mapping, None)
    time_from, time_to = "now-24h", "now"
    if time is not None:
        reader = _Reader(time, spec.source, "time", spec.line("time"))
        time_from = reader.get("from", str, time_from)
        time_to = reader.get("to", str, time_to)
        reader.finish()
    refresh = spec.get("refresh", str, None)
    refresh_seconds = None
    if refresh is not None:
        match = _REFRESH.match(refresh)
        if not match:
            raise spec.error("refresh", f"dashboard: refresh '{refresh}' must look like 30s, 5m or 1h")
        refresh_seconds = int(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[match.group(2)]
    raw_panels = spec.get("panels", list, required=True)
    if not raw_panels:
        raise spec.error("panels", "dashboard: 'panels' is empty")
    panels = tuple(_panel(_Reader(p, spec.source, f"panel {i + 1}", spec.line("panels")))
                   for i, p in enumerate(raw_panels))
    keys: dict[str, int] = {}
    for panel in panels:
        if panel.key in keys:
            raise SpecError(f"panel key '{panel.key}' is also used by the panel at line {keys[panel.key]} "
                            "(set a distinct 'id')", spec.source, panel.line)
        keys[panel.key] = panel.line
    dashboard = Dashboard(name=name, title=spec.get("title", str, required=True), data_view=data_view,
                          source=spec.source, description=spec.get("description", str, ""),
                          time_from=time_from, time_to=time_to, refresh_seconds=refresh_seconds,
                          query=_query(spec, "query"), language=_language(spec), panels=panels)
    spec.finish()
    return dashboard


def _language(reader: _Reader) -> str:
    """A query's language as Kibana stores it: ``kuery`` (KQL, the default) or ``lucene``."""
    language = reader.get("language", str, "kuery").lower()
    if language == "kql":
        language = "kuery"
    if language not in ("kuery", "lucene"):
        raise reader.error("language", f"{reader.what}: language '{language}' must be kuery (KQL) or lucene")
    return language


def _query(reader: _Reader, key: str) -> str:
    """The query at ``key``, checked with the parser of its language (a bad one fails at build, not in Kibana)."""
    text = reader.get(key, str, "")
    language = reader.data.get("language") or "kuery"
    _check_query(reader, key, text, "lucene" if str(language).lower() == "lucene" else "kuery", reader.what)
    return text


def _check_query(reader: _Reader, key: str, text: str, language: str, what: str) -> None:
    from pipeline.localindex import QueryError, parse_query_text

    try:
        parse_query_text(text, language)
    except QueryError as exc:
        raise reader.error(key, f"{what}: the {language} query does not parse: {exc}") from None


def _data_view(spec: _Reader) -> DataView:
    value = spec.get("data_view", (str, _Mapping), "logs-*")
    if isinstance(value, str):
        return DataView(value)
    reader = _Reader(value, spec.source, "data_view", spec.line("data_view"))
    view = DataView(reader.get("pattern", str, required=True), reader.get("time_field", str, "@timestamp"))
    reader.finish()
    return view


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "panel"


def _metric(value: Any, reader: _Reader, key: str) -> Metric:
    if isinstance(value, str):
        value = _Mapping(agg=value) if value == "count" else None
        if value is None:
            raise reader.error(key, f"{reader.what}: a metric other than count needs a field, "
                                    "e.g. {agg: sum, field: http.response.body.bytes}")
        value.line, value.key_lines = reader.line(key), {}
    sub = _Reader(value, reader.source, f"{reader.what} metric", reader.line(key))
    agg = sub.get("agg", str, "count")
    if agg not in METRIC_AGGS:
        raise sub.error("agg", f"{reader.what}: metric agg '{agg}' is not one of {', '.join(METRIC_AGGS)}")
    metric = Metric(agg, sub.get("field", str, None), sub.get("label", str, None))
    if agg != "count" and not metric.field:
        raise sub.error("agg", f"{reader.what}: metric '{agg}' needs a 'field'")
    sub.finish()
    return metric


def _panel(reader: _Reader) -> Panel:
    kind = reader.get("type", str, required=True)
    if kind not in PANEL_TYPES:
        raise reader.error("type", f"{reader.what}: type '{kind}' is not one of {', '.join(PANEL_TYPES)}")
    title = reader.get("title", str, required=True)
    reader.what = f"panel '{title}'"
    common: dict[str, Any] = {
        "key": reader.get("id", str, None) or slug(title), "type": kind, "title": title, "line": reader.line(),
        "width": reader.positive("width", 24, GRID_COLUMNS), "height": reader.positive("height", 15),
        "query": _query(reader, "query"), "language": _language(reader),
    }
    if kind == "search":
        columns = reader.get("columns", list, required=True)
        if not columns or not all(isinstance(c, str) for c in columns):
            raise reader.error("columns", f"{reader.what}: 'columns' must be a non-empty list of field names")
        sort = reader.get("sort", list, ["@timestamp", "desc"])
        if len(sort) != 2 or sort[1] not in ("asc", "desc") or not isinstance(sort[0], str):
            raise reader.error("sort", f"{reader.what}: 'sort' must be [field, asc|desc]")
        panel = Panel(**common, columns=tuple(columns), sort=(sort[0], sort[1]))
        reader.finish()
        return panel
    metrics = tuple(_metric(m, reader, "metrics") for m in reader.get("metrics", list, ["count"]))
    if not metrics:
        raise reader.error("metrics", f"{reader.what}: 'metrics' is empty")
    if kind in ("bar", "pie", "metric") and len(metrics) > 1:
        raise reader.error("metrics", f"{reader.what}: a {kind} panel shows one metric")
    if kind == "timeseries":
        interval = str(reader.get("interval", (str, int), "auto"))
        if not _INTERVAL.match(interval):
            raise reader.error("interval", f"{reader.what}: interval '{interval}' must be auto or like 30s, 5m, 1h")
        chart = reader.get("chart", str, "bar")
        if chart not in CHARTS:
            raise reader.error("chart", f"{reader.what}: chart '{chart}' is not one of {', '.join(CHARTS)}")
        split = reader.get("split", (str, _Mapping), None)
        split_field, split_size = None, 5
        filters: tuple[tuple[str, str], ...] = ()
        if isinstance(split, str):
            split_field = split
        elif split is not None:
            sub = _Reader(split, reader.source, f"{reader.what} split", reader.line("split"))
            split_field = sub.get("field", str, None)
            split_size = sub.positive("size", 5, 500)
            raw = sub.get("filters", _Mapping, None)
            if raw is not None:
                if not all(isinstance(v, str) for v in raw.values()):
                    raise sub.error("filters", f"{reader.what}: split filters map a label to a KQL query")
                filters = tuple((str(k), v) for k, v in raw.items())
                for label, text in filters:
                    _check_query(sub, "filters", text, "kuery", f"{reader.what} split filter '{label}'")
            if bool(split_field) == bool(filters):
                raise sub.error(None, f"{reader.what}: split needs either 'field' or 'filters'")
            sub.finish()
        panel = Panel(**common, metrics=metrics, interval=interval, chart=chart, split=split_field,
                      split_size=split_size, split_filters=filters)
    elif kind == "metric":
        panel = Panel(**common, metrics=metrics)
    else:  # bar, pie, table: top values of a field
        panel = Panel(**common, metrics=metrics, field=reader.get("field", str, required=True),
                      size=reader.positive("size", 10, 500))
    reader.finish()
    return panel
