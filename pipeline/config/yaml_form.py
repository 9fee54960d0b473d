"""The YAML form of a pipeline: the same model as the Logstash language, in YAML.

    input:
      - beats: { port: 5044 }
    filter:
      - grok: { match: { message: "%{COMBINEDAPACHELOG}" } }
      - if: '[status] >= 500'
        then:
          - mutate: { add_tag: [error] }
        else_if:
          - condition: '[status] >= 400'
            then: [ { mutate: { add_tag: [warn] } } ]
        else:
          - drop: {}
    output:
      - stdout: { codec: rubydebug }
      - file: { path: /tmp/out.json, codec: { json_lines: { charset: UTF-8 } } }

Each plugin is a one-key mapping ``name: {options}`` (or ``name:`` / just ``- name`` with
no options).
``codec`` takes a name or a one-key mapping ``{name: {options}}`` (the ``codec => json {}``
block). Conditions use the Logstash expression syntax. Errors carry the line and column of
the YAML node they come from.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from pipeline.config import envsubst, parser
from pipeline.config.ast import Branch, IfStatement, PipelineConfig, Statement
from pipeline.errors import ConfigError, ConfigErrors, Location
from pipeline.plugin import PluginSpec

SECTIONS = ("input", "filter", "output")
_BRANCH_KEYS = ("if", "then", "else_if", "else")


class _YamlReader:
    def __init__(self, text: str, source: str, env: Mapping[str, str] | None) -> None:
        self.text = text
        self.source = source
        self.env = env
        self.errors: list[ConfigError] = []
        self._loader = yaml.SafeLoader(text)
        self._plugins: list[tuple[str, str]] = []  # (kind, name) of the plugins being read

    def location(self, node: Node) -> Location:
        mark = node.start_mark
        return Location(self.source, mark.line + 1, mark.column + 1)

    def error(self, message: str, node: Node) -> None:
        kind, plugin = self._plugins[-1] if self._plugins else ("", "")  # name the plugin at fault
        self.errors.append(ConfigError(message, self.location(node), kind, plugin))

    # -- the document ------------------------------------------------------
    def read(self) -> PipelineConfig:
        config = PipelineConfig(sources=[self.source])
        try:
            root = self._loader.get_single_node()
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
            loc = Location(self.source, mark.line + 1, mark.column + 1) if mark else Location(self.source)
            problem = getattr(exc, "problem", None) or str(exc)
            raise ConfigErrors([ConfigError(f"invalid YAML: {problem}", loc)]) from None
        finally:
            self._loader.dispose()
        if root is None:
            return config
        if not isinstance(root, MappingNode):
            self.error("expected a mapping with input:, filter: and output: sections", root)
            return config
        for key_node, value_node in root.value:
            section = self.name(key_node)
            if section not in SECTIONS:
                self.error(f"unknown section {section!r}: expected input, filter or output", key_node)
                continue
            config.add_section(section, self.statements(value_node, section))
        return config

    def statements(self, node: Node, section: str) -> list[Statement]:
        if isinstance(node, ScalarNode) and node.value in ("", "~", "null"):
            return []
        if not isinstance(node, SequenceNode):
            self.error(f"{section}: expected a list of plugins (- name: {{options}})", node)
            return []
        out: list[Statement] = []
        for item in node.value:
            statement = self.statement(item, section)
            if statement is not None:
                out.append(statement)
        return out

    def statement(self, node: Node, section: str) -> Statement | None:
        if isinstance(node, ScalarNode) and isinstance(node.value, str) and node.value.strip():
            return PluginSpec(section, node.value.strip(), (), self.location(node))  # "- stdin"
        if not isinstance(node, MappingNode) or not node.value:
            self.error("expected a plugin as a one-key mapping like '- stdin: {}' or an 'if:' block", node)
            return None
        keys = [self.name(k) for k, _ in node.value]
        if "if" in keys:
            branch = self.if_statement(node, section)
            if section == "input":
                self.error("conditionals are not allowed in the input section (put them in filter "
                           "or output)", node)
                return None
            return branch
        if len(node.value) != 1:
            self.error(f"a plugin is a one-key mapping (name: {{options}}), found keys {keys}", node)
            return None
        name_node, options_node = node.value[0]
        return self.plugin(self.name(name_node), options_node, section, name_node)

    def plugin(self, name: str, node: Node, kind: str, name_node: Node) -> PluginSpec:
        options: list[tuple[str, Any, Any]] = []
        self._plugins.append((kind, name))
        try:
            self._read_options(name, node, options)
        finally:
            self._plugins.pop()
        return PluginSpec(kind, name, tuple(options), self.location(name_node))

    def _read_options(self, name: str, node: Node, options: list[tuple[str, Any, Any]]) -> None:
        if isinstance(node, MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                key = self.name(key_node)
                loc = self.location(key_node)
                if key in seen:  # YAML keys are unique; a repeat is a mistake, not a merge
                    self.error(f"duplicate option {key!r}", key_node)
                seen.add(key)
                if key == "codec" and _is_plugin_block(value_node):
                    codec_name_node, codec_options = value_node.value[0]
                    value: Any = self.plugin(self.name(codec_name_node), codec_options, "codec",
                                             codec_name_node)
                else:
                    value = self.value(value_node)
                options.append((key, value, loc))
        elif not (isinstance(node, ScalarNode) and node.value in ("", "~", "null")):
            self.error("options must be a mapping (key: value), e.g. '- stdout: { codec: rubydebug }'", node)

    def if_statement(self, node: MappingNode, section: str) -> IfStatement:
        parts = {self.name(k): (k, v) for k, v in node.value}
        for key, (key_node, _) in parts.items():
            if key not in _BRANCH_KEYS:
                self.error(f"unknown key {key!r} in an if block: expected one of {', '.join(_BRANCH_KEYS)}",
                           key_node)
        branches = [self.branch(parts["if"][1], parts.get("then"), section, node)]
        if "else_if" in parts:
            else_ifs = parts["else_if"][1]
            if not isinstance(else_ifs, SequenceNode):
                self.error("else_if: expected a list of {condition: ..., then: [...]}", else_ifs)
            else:
                for item in else_ifs.value:
                    sub = {self.name(k): (k, v) for k, v in item.value} if isinstance(
                        item, MappingNode) else {}
                    condition = sub.get("condition") or sub.get("if")
                    if condition is None:
                        self.error("else_if entry: expected 'condition:' and 'then:'", item)
                        continue
                    branches.append(self.branch(condition[1], sub.get("then"), section, item))
        if "else" in parts:
            _, else_node = parts["else"]
            branches.append(Branch(None, tuple(self.statements(else_node, section)),
                                   self.location(else_node)))
        return IfStatement(tuple(branches), self.location(node))

    def branch(self, condition_node: Node, then: tuple[Node, Node] | None, section: str,
               owner: Node) -> Branch:
        condition: Any = None
        if not isinstance(condition_node, ScalarNode) or not condition_node.value.strip():
            self.error("expected a condition string like '[status] >= 500'", condition_node)
        else:
            try:
                condition = parser.parse_condition(condition_node.value, self._condition_location(
                    condition_node), env=self.env)
            except ConfigErrors as exc:
                self.errors.extend(exc.errors)
        if then is None:
            self.error("an if block needs 'then:' with a list of plugins", owner)
            body: list[Statement] = []
        else:
            body = self.statements(then[1], section)
        return Branch(condition, tuple(body), self.location(condition_node))

    def _condition_location(self, node: ScalarNode) -> Location:
        loc = self.location(node)
        if node.style in ("'", '"'):  # the expression starts after the quote
            return Location(loc.file, loc.line, loc.col + 1)
        return loc

    # -- values --------------------------------------------------------------
    def name(self, node: Node) -> str:
        """A section, plugin or option name: the text as written (``null``, ``on`` stay names)."""
        if not isinstance(node, ScalarNode):
            self.error("expected a name here", node)
            return ""
        return str(node.value)

    def hash_key(self, node: Node) -> Any:
        """Hash keys: numbers stay numbers (as ``200 => "OK"``); anything else is the text."""
        value = self.scalar(node)
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else str(
            getattr(node, "value", ""))

    def scalar(self, node: Node) -> Any:
        if not isinstance(node, ScalarNode):
            self.error("expected a plain value here", node)
            return ""
        if node.tag.endswith(":timestamp"):  # keep dates as written; plugins parse them
            return node.value
        return self._loader.construct_object(node, deep=True)

    def value(self, node: Node) -> Any:
        if isinstance(node, ScalarNode):
            value = self.scalar(node)
            if type(value) is str:
                try:
                    value = envsubst.substitute(value, self.location(node), self.env)
                except ConfigError as exc:
                    self.error(exc.message, node)
            return value
        if isinstance(node, SequenceNode):
            return [self.value(item) for item in node.value]
        if isinstance(node, MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self.hash_key(key_node)
                if key in out:
                    self.error(f"duplicate key {key!r} in hash", key_node)
                out[key] = self.value(value_node)
            return out
        self.error("unsupported YAML value", node)
        return None


def _is_plugin_block(node: Node) -> bool:
    """``{json: {charset: UTF-8}}`` or ``{json: }``: a one-key mapping whose value is a mapping/empty."""
    if not isinstance(node, MappingNode) or len(node.value) != 1:
        return False
    _, inner = node.value[0]
    return isinstance(inner, MappingNode) or (isinstance(inner, ScalarNode) and inner.value in ("", "~", "null"))


def parse_yaml(text: str, source: str = "<config>", *, env: Mapping[str, str] | None = None) -> PipelineConfig:
    """Parse the YAML form; ConfigErrors with every problem (file:line:col)."""
    reader = _YamlReader(text, source, env)
    config = reader.read()
    if reader.errors:
        errors = ConfigErrors(reader.errors)
        errors.partial = config  # type: ignore[attr-defined]  # see parser._run
        raise errors
    return config
