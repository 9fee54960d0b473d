"""Run Logstash Filter Verifier (LFV) test case files against our filters, with LFV's own rules.

LFV (github.com/magnusbaeck/logstash-filter-verifier, read at b9b4509, v2.x) reads a test case file
(JSON, or YAML as YAML 1.1 through go-yaml v2) with ``codec``, ``fields``, ``ignore``,
``input_plugin``, ``export_metadata``, ``export_outputs`` and ``testcases`` (each: ``input`` lines,
``fields``, ``expected`` events, ``description``); the top-level ``input``/``expected`` of LFV 1.x
are refused by 2.x, and read here as one test case, which is what 1.x did with them.

What LFV does and we copy (internal/testcase/testcase.go, helper.go; internal/logstash/process.go,
parallel_process.go; internal/daemon/session/files.go; internal/app/daemon/run/run.go):

* ``[a][b]`` keys are expanded to nested objects in ``fields`` (global and per test case), and in
  the input lines when the file's ``codec`` is ``json_lines`` (each line is parsed and written
  back compact by Go, so a multi-line JSON in a YAML ``>`` block becomes one line, and numbers go
  through float64). Expected events are *not* expanded (LFV expands them before it collects them).
* A test case without input lines gets the line ``__lfv_dummy_event`` (since 2.0; 1.x fed nothing,
  and suites written for it put the events of one input under the next test case's ``expected``).
* Standalone mode (1.x and ``standalone``): the lines, each followed by ``\\n``, go through a stdin
  (or unix socket) input with the file's ``codec`` (default ``line``) and ``add_field => fields``
  (Logstash's add_field: values are sprintf'd to strings, an existing field becomes an array);
  the input adds ``host`` (legacy) or ``[host][hostname]`` (ECS) when absent. Logstash runs with
  ``TZ=UTC``.
* Daemon mode (2.x ``daemon run``): the configuration's input with id ``input_plugin`` is
  replaced by a generator fed with the lines (its ``codec``, default ``plain``; its ``type``,
  ``add_field`` and ``tags`` are kept); ``host`` and ``sequence`` are removed, then each
  top-level key of ``fields`` is ``event.set``; ``message`` is removed from dummy events; tags
  starting ``__lfv_`` are removed and ``tags`` with them when none is left; with
  ``export_metadata``, ``@metadata`` minus ``__lfv_*``/``__tmp_*`` keys is exported.
* Comparison: ``@version`` and the ``ignore`` fields are removed from the actual events only
  (``[a][b]`` removes a nested key and then every parent left empty); the event counts must be
  equal, then each event is compared to the expected one at the same index as JSON decoded by
  Go into ``interface{}``: every number is a float64, so ``5`` equals ``5.0``, key order is moot.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipeline.config import loader
from pipeline.config.ast import PipelineConfig
from pipeline.decorate import decorate_input
from pipeline.event import METADATA, Event
from pipeline.plugin import PluginContext, PluginSpec, build
from pipeline.runtime.builder import walk_plugins
from pipeline.runtime.compiler import compile_filters
from pipeline.runtime.metrics import PipelineMetrics
from pipeline.serde import event_json

DUMMY_EVENT_INPUT = "__lfv_dummy_event"
DEFAULT_IGNORED = ("@version",)
SOCKET_PATH = "/tmp/lfv/socket"  # the unix socket of LFV --sockets (a temporary path there)


class CaseFileError(ValueError):
    """A test case file LFV refuses too."""


@dataclass
class TestCase:
    inputs: list[str]
    fields: dict[str, Any]
    expected: list[Any]
    description: str = ""


@dataclass
class CaseFile:
    path: Path
    codec: str = "line"
    fields: dict[str, Any] = field(default_factory=dict)
    ignore: list[str] = field(default_factory=list)
    input_plugin: str | None = None
    export_metadata: bool = False
    export_outputs: bool = False
    testcases: list[TestCase] = field(default_factory=list)
    legacy: bool = False  # LFV 1.x top-level input/expected


# -- reading ----------------------------------------------------------------------------------------

class _GoYamlLoader(yaml.SafeLoader):
    """YAML 1.1 as go-yaml v2 resolves it into interface{}: no timestamps, no base-60 numbers."""


_GoYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers
            if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_GoYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"))
_GoYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?"
               r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."))


_UNESCAPED_DOUBLE = re.compile(r'(?<!\\)"')
_UNESCAPED_SINGLE = re.compile(r"(?<!\\)'")
_BRACKETS = re.compile(r"^(\[[^\[\],]+\])+$")
_BRACKET_PART = re.compile(r"\[([^\[\],]+)\]")


def expand_brackets(data: dict[str, Any]) -> dict[str, Any]:
    """LFV's parseAllBracketProperties: ``{"[a][b]": 1}`` -> ``{"a": {"b": 1}}``, recursively."""
    result: dict[str, Any] = {}
    for key, value in data.items():
        keys = _BRACKET_PART.findall(key) if _BRACKETS.match(key) else [key]
        if isinstance(value, dict):
            value = expand_brackets(value)
        target = result
        for part in keys[:-1]:
            if part not in target:
                target[part] = {}
            target = target[part]  # LFV panics when this is not a map; such files do not run there
        target[keys[-1]] = value
    return result


def _go_number(value: Any) -> Any:
    """A JSON number after Go's float64 round trip, as Logstash then reads it back."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    number = float(value)
    if number.is_integer() and abs(number) < 1e21:
        return int(number)  # Go writes 5.0 as 5; Logstash reads an integer
    return number


def _go_json_roundtrip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _go_json_roundtrip(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_go_json_roundtrip(v) for v in value]
    return _go_number(value)


def _json_lines_input(line: str) -> str:
    """LFV's parseAllBracketPropertiesInJSON: parse, expand ``[a][b]`` keys, write back on one line."""
    try:
        parsed = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CaseFileError(f"json_lines input is not JSON ({exc}): {line[:80]!r}") from exc
    if not isinstance(parsed, dict):
        raise CaseFileError(f"json_lines input is not a JSON object: {line[:80]!r}")
    return json.dumps(_go_json_roundtrip(expand_brackets(parsed)), sort_keys=True, ensure_ascii=False)


def load_case_file(path: Path, *, lfv_major: int = 2) -> CaseFile:
    """A test case file as LFV reads it (CaseFileError where LFV 2 refuses it).

    ``lfv_major=1``: LFV 1.x, which fed no line for a test case without input (2.x feeds a dummy)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        raw = json.loads(text)
    elif path.suffix in (".yaml", ".yml"):
        raw = yaml.load(text, Loader=_GoYamlLoader)
    else:
        raise CaseFileError(f"{path.name}: LFV reads .json, .yaml and .yml test case files")
    if not isinstance(raw, dict):
        raise CaseFileError(f"{path.name}: a test case file holds one object")
    fields = raw.get("fields") or {}
    if raw.get("fields", {}) is None:
        raise CaseFileError('Fields must not be "null".')
    case_file = CaseFile(
        path=path, codec=raw.get("codec") or "line", fields=expand_brackets(fields),
        ignore=list(raw.get("ignore") or []), input_plugin=raw.get("input_plugin"),
        export_metadata=bool(raw.get("export_metadata")), export_outputs=bool(raw.get("export_outputs")),
    )
    if raw.get("input") or raw.get("expected"):
        case_file.legacy = True
        case_file.testcases.append(TestCase(list(raw.get("input") or []), {}, list(raw.get("expected") or [])))
    for entry in raw.get("testcases") or []:
        case_file.testcases.append(TestCase(
            inputs=list(entry.get("input") or []), fields=expand_brackets(entry.get("fields") or {}),
            expected=list(entry.get("expected") or []), description=entry.get("description") or ""))
    for case in case_file.testcases:
        if case_file.codec == "json_lines":
            case.inputs = [_json_lines_input(line) for line in case.inputs]
        if not case.inputs and lfv_major >= 2:  # after the expansion above, as in LFV (the dummy is not JSON)
            case.inputs = [DUMMY_EVENT_INPUT]
    return case_file


# -- running ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Suite:
    """Configuration files (whose filters run in file-name order) and how LFV ran them."""

    configs: list[Path]
    mode: str = "standalone"  # "sockets" (standalone --sockets: unix input) or "daemon"
    ecs: str = "disabled"  # pipeline.ecs_compatibility of the Logstash the suite's authors ran
    mounts: dict[str, Path] = field(default_factory=dict)  # deployment path -> local folder
    # Plugins we do not have, replaced as LFV's plugin mocks do; the stand-in tags the events that
    # reach it ``_lfv_mock_<name>`` so a case they decide is told apart from our own divergences.
    mocks: tuple[str, ...] = ()

    def config_text(self) -> str:
        parts = []
        for path in self.configs:
            text = path.read_text(encoding="utf-8")
            for target, local in self.mounts.items():
                text = text.replace(target, str(local))
            parts.append(text)
        return "\n".join(parts)


def _logstash_literal(value: Any) -> str:
    """A field value as LFV writes it into the add_field hash (FieldSet.LogstashHash)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_logstash_literal(v) for v in value) + "]"
    if isinstance(value, int | float):
        return repr(_go_number(value))
    return json.dumps(str(value))


def _flatten_fields(fields: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """LFV's LogstashHash: nested objects become ``[a][b]`` keys; arrays stay arrays."""
    for key, value in fields.items():
        ref = f"{prefix}[{key}]" if prefix else key
        if isinstance(value, dict):
            yield from _flatten_fields(value, f"[{key}]" if not prefix else ref)
        else:
            yield ref, value


class Runner:
    """Builds a suite's filters (once per case file, or once for all with --sockets) and runs them."""

    def __init__(self, suite: Suite) -> None:
        self.suite = suite
        self.config: PipelineConfig = loader.parse_text(suite.config_text(), "<lfv-suite>")
        self.settings = {"pipeline.ecs_compatibility": suite.ecs}
        self._built: tuple[Any, dict[int, Any]] | None = None
        self._data = tempfile.TemporaryDirectory(prefix="pipeline-lfv-")  # path.data, removed with the runner

    def _context(self, plugin_id: str = "") -> PluginContext:
        return PluginContext(path_data=Path(self._data.name), plugin_id=plugin_id, settings=self.settings)

    def _codec(self, codec: PluginSpec | str | None, default: str) -> Any:
        if isinstance(codec, PluginSpec):
            return build(codec, self._context())
        text = codec or default
        spec_config = loader.parse_text(f"input {{ stdin {{ codec => {text} }} }}", "<lfv-codec>")
        value = spec_config.inputs[0].option("codec")
        spec = value if isinstance(value, PluginSpec) else PluginSpec("codec", str(value), (), None)
        return build(spec, self._context())

    @staticmethod
    def _mock(name: str) -> PluginSpec:
        text = f'filter {{ mutate {{ add_tag => ["_lfv_mock_{name}"] }} }}'
        [mock] = walk_plugins(loader.parse_text(text, "<lfv-mock>").filters)
        return mock

    def _build(self) -> tuple[Any, dict[int, Any]]:
        plugins: dict[int, Any] = {}
        for original in walk_plugins(self.config.filters):
            spec = self._mock(original.name) if original.name in self.suite.mocks else original
            plugin = build(spec, self._context(spec.option("id") or spec.name))
            plugin.register()
            plugins[id(original)] = plugin
        return compile_filters(self.config.filters, plugins, PipelineMetrics("lfv")), plugins

    def run(self, case_file: CaseFile) -> list[dict[str, Any]]:
        """The actual events of the file, in order, as LFV sees them before comparing.

        With --sockets LFV runs every file through one Logstash (filter state such as throttle's
        is shared, and nothing is flushed between files); otherwise it starts one per file."""
        daemon = self.suite.mode == "daemon"
        decoded = self._daemon_inputs(case_file) if daemon else self._standalone_inputs(case_file)
        shared = self.suite.mode == "sockets"
        if self._built is None or not shared:
            self._built = self._build()
        step, plugins = self._built
        outputs = [step(events) if events else [] for events in decoded]
        if not shared:
            for plugin in plugins.values():
                outputs[-1].extend(plugin.flush(final=True) or [])
            self.close()
        return [self._as_lfv_sees_it(event, case_file) for events in outputs for event in events]

    def close(self) -> None:
        if self._built is not None:
            for plugin in self._built[1].values():
                plugin.close()
        self._built = None

    def _standalone_inputs(self, case_file: CaseFile) -> list[list[Event]]:
        """LFV's ``stdin { codec => <codec> add_field => <fields> }``, through our stdin input's own code."""
        fields = " ".join(f"{json.dumps(name)} => {_logstash_literal(value)}"
                          for name, value in sorted(_flatten_fields(case_file.fields)))
        text = f"input {{ stdin {{ codec => {case_file.codec} add_field => {{ {fields} }} }} }}"
        [spec] = loader.parse_text(text, "<lfv-input>").inputs
        stdin = build(spec, self._context("stdin"))
        stdin.register()
        codec = stdin.codec.clone()
        per_case: list[list[Event]] = []
        for case in case_file.testcases:
            data = "".join(line + "\n" for line in case.inputs).encode("utf-8")
            per_case.append(list(codec.decode(data)))
        per_case[-1].extend(codec.flush())
        for events in per_case:
            stdin._decorate_host(events)  # what stdin pushes: decorated, then the host when absent
            if self.suite.mode == "sockets":  # the unix input's path (ECS: [file][path]) when absent
                path_field = "path" if self.suite.ecs == "disabled" else "[file][path]"
                for event in events:
                    if not event.includes(path_field):
                        event.set(path_field, SOCKET_PATH)
        return per_case

    def _daemon_inputs(self, case_file: CaseFile) -> list[list[Event]]:
        wanted = case_file.input_plugin
        inputs = [spec for spec in self.config.inputs if spec.option("id") == wanted]
        if len(inputs) != 1:
            raise CaseFileError(f"input_plugin {wanted!r}: no input with that id in the configuration")
        source = inputs[0]
        codec = self._codec(source.option("codec"), "plain")
        codec.register() if hasattr(codec, "register") else None
        per_case: list[list[Event]] = []
        for case in case_file.testcases:
            events: list[Event] = []
            for line in case.inputs:  # the generator decodes each line alone
                if _UNESCAPED_DOUBLE.search(line) and _UNESCAPED_SINGLE.search(line):
                    # LFV writes the line into the generator's config as a quoted string (session.go
                    # createInput, astutil.Quote): with both quotes unescaped it single-quotes it and
                    # escapes ' as \'; Logstash keeps the backslash (no config.support_escapes).
                    line = _UNESCAPED_SINGLE.sub("\\\\'", line)
                for event in codec.decode(line.encode("utf-8")):
                    events.append(self._daemon_prepare(event, case_file.fields | case.fields))
            per_case.append(events)
        per_case[-1].extend(self._daemon_prepare(e, case_file.fields | case_file.testcases[-1].fields)
                            for e in codec.flush())
        for events in per_case:
            for event in events:
                self._decorate_like(source, event)
        return per_case

    def _daemon_prepare(self, event: Event, fields: dict[str, Any]) -> Event:
        if self.suite.ecs != "disabled":
            event.set("[event][sequence]", 0)  # the generator's; LFV removes only the legacy "sequence"
        event.data.pop("host", None)
        event.data.pop("sequence", None)
        for key, value in fields.items():
            event.set(key, json.loads(json.dumps(value)))
        if event.get("message") == DUMMY_EVENT_INPUT:
            event.remove("message")
        return event

    @staticmethod
    def _decorate_like(source: Any, event: Event) -> None:
        """The pipeline input LFV puts in place of the input keeps its type, add_field and tags."""
        tags = source.option("tags") or []
        decorate_input(event, source.option("type"), source.option("add_field"),
                       [tags] if isinstance(tags, str) else tags)

    def _as_lfv_sees_it(self, event: Event, case_file: CaseFile) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(event_json(event))
        if self.suite.mode == "sockets" and data.get("path") == SOCKET_PATH:
            del data["path"]  # LFV removes the unix input's path when it is still the socket's
        if self.suite.mode != "daemon":
            return data
        if case_file.export_metadata:
            meta = json.loads(event_json(Event(dict(event.data.get(METADATA) or {}))))
            meta = {k: v for k, v in meta.items()
                    if not k.startswith(("__lfv_", "__tmp_")) and k not in ("@timestamp", "@version")}
            if meta:
                data[METADATA] = meta
        if "tags" in data:
            raw = data["tags"]
            tags = [t for t in (raw if isinstance(raw, list) else [raw]) if not str(t).startswith("__lfv_")]
            if tags:
                data["tags"] = tags
            else:
                del data["tags"]
        return data


# -- comparing --------------------------------------------------------------------------------------

def remove_field(name: str, data: dict[str, Any]) -> None:
    """LFV's removeFields: ``[a][b]`` removes b, then a when it is left empty."""
    keys = _BRACKET_PART.findall(name) if _BRACKETS.match(name) else [name]

    def remove(keys: list[str], data: dict[str, Any]) -> None:
        if len(keys) == 1:
            data.pop(keys[0], None)
            return
        value = data.get(keys[0])
        if not isinstance(value, dict):
            return
        remove(keys[1:], value)
        if not value:
            del data[keys[0]]

    remove(keys, data)


def as_go_json(value: Any) -> Any:
    """A value as Go's encoding/json decodes it into interface{}: every number a float64."""
    if isinstance(value, dict):
        return {str(k): as_go_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [as_go_json(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return float(value)
    return str(value)


def compare(case_file: CaseFile, actual: list[dict[str, Any]]) -> dict[str, str]:
    """What differs, by case: ``"*"`` when the event counts differ (LFV compares no event then),
    else ``"<n>"`` for the n-th expected event of the file (LFV's "Comparing message n of N")."""
    expected = [event for case in case_file.testcases for event in case.expected]
    if len(actual) != len(expected):
        return {"*": f"expected {len(expected)} event(s), got {len(actual)}: "
                     f"{json.dumps(actual, default=str)[:1500]}"}
    ignored = sorted({*case_file.ignore, *DEFAULT_IGNORED})
    problems = {}
    for index, (got, want) in enumerate(zip(actual, expected, strict=True), start=1):
        got = json.loads(json.dumps(got))
        for name in ignored:
            remove_field(name, got)
        if as_go_json(got) != as_go_json(want):
            problems[str(index)] = describe_difference(as_go_json(want), as_go_json(got))
    return problems


def describe_difference(want: Any, got: Any, path: str = "") -> str:
    """The first few differing paths, short."""
    if isinstance(want, dict) and isinstance(got, dict):
        out = []
        for key in sorted(set(want) | set(got)):
            sub = f"{path}[{key}]"
            if key not in got:
                out.append(f"{sub} missing (want {json.dumps(want[key])[:120]})")
            elif key not in want:
                out.append(f"{sub} unexpected ({json.dumps(got[key])[:120]})")
            elif want[key] != got[key]:
                out.append(describe_difference(want[key], got[key], sub))
        return ", ".join(out[:6])
    return f"{path or '.'}: want {json.dumps(want)[:160]}, got {json.dumps(got)[:160]}"
