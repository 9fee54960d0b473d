"""Parser of the Logstash configuration language (hand-written recursive descent).

Faithful to Logstash's grammar (``lscl_grammar.treetop``):

* sections ``input {}``, ``filter {}``, ``output {}``, each any number of times;
* plugins ``name { key => value ... }``; attributes separated by whitespace;
* values: double/single-quoted strings, numbers (``-?[0-9]+(\\.[0-9]*)?``), barewords
  (``[A-Za-z_][A-Za-z0-9_]+``), arrays ``[a, "b", 1]`` (commas, no trailing comma),
  hashes ``{ "k" => "v" k2 => 1 }`` (NO commas between entries), nested plugin blocks
  (``codec => json { }``, whose kind is ``codec``);
* ``#`` comments wherever whitespace may appear;
* ``if``/``else if``/``else`` with Logstash's expression language (filter and output only).

Strings are kept verbatim by default, as Logstash does unless ``config.support_escapes``
is set: a backslash-quote does not end a string but stays in the value. With
``support_escapes=True``, ``\\" \\' \\\\ \\n \\r \\t \\0`` are processed.

A hand-written parser rather than a generated one so that every syntax error says, at
``file:line:col``, what was expected in the user's terms.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any, NoReturn

from pipeline import fieldref
from pipeline.config import envsubst
from pipeline.config.ast import Bareword, Branch, IfStatement, PipelineConfig, Statement
from pipeline.errors import ConfigError, ConfigErrors, FieldReferenceError, Location
from pipeline.plugin import PluginSpec

if TYPE_CHECKING:
    from pipeline.config.conditions import Field

SECTIONS = ("input", "filter", "output")

_NAME = re.compile(r"[A-Za-z0-9_-]+")
_BAREWORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]+")
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]*)?")
_SPACE = re.compile(r"[ \t\r\n]+")
_COMMENT = re.compile(r"#[^\r\n]*")
_SELECTOR_ELEMENT = re.compile(r"\[([^\]\[,]+)\]")
_WORD_CHAR = re.compile(r"[A-Za-z0-9_]")
_WORD_OR_DOT = re.compile(r"[A-Za-z0-9_.-]")  # what may not follow a number (1abc, 1.2.3)
_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "r": "\r", "t": "\t", "0": "\0"}
_COMPARE_TOKENS = ("==", "!=", "<=", ">=", "<", ">")


def _conditions() -> ModuleType:
    """The condition nodes, imported with the first condition parsed: a config without ``if`` does not
    pay for their eight dataclasses (~3.5 ms of start-up)."""
    from pipeline.config import conditions

    return conditions


def _assignment_hint(text: str, pos: int) -> str:
    """Why ``if [a] = "x"`` fails: conditions compare with ``==``; ``=`` and ``=>`` assign nothing here."""
    if text.startswith("=>", pos):
        return "'=>' sets plugin options; to compare in a condition write [field] == \"value\""
    if text.startswith("=", pos) and not text.startswith(("==", "=~"), pos):
        return "'=' is not a comparison: write [field] == \"value\" to test equality (or =~ /regex/ to match)"
    return ""


class _SyntaxFailure(Exception):
    """Internal: stops parsing at the first syntax error (converted to ConfigError)."""

    def __init__(self, error: ConfigError) -> None:
        super().__init__(error.message)
        self.error = error


class _Parser:
    def __init__(self, text: str, source: str, env: Mapping[str, str] | None,
                 support_escapes: bool, line_offset: int = 0, col_offset: int = 0) -> None:
        self.text = text
        self.source = source
        self.env = env
        self.support_escapes = support_escapes
        self.pos = 0
        self.errors: list[ConfigError] = []  # non-fatal errors (env vars, regexes, conditions in inputs)
        self._line_starts = [0] + [m.end() for m in re.finditer(r"\n", text)]
        self._line_offset = line_offset
        self._col_offset = col_offset
        self.end_name = "end of file"
        self._plugins: list[tuple[str, str]] = []  # (kind, name) of the plugin blocks being parsed

    # -- positions and errors ---------------------------------------------
    def location(self, pos: int | None = None) -> Location:
        pos = self.pos if pos is None else pos
        line = bisect.bisect_right(self._line_starts, pos) - 1
        col = pos - self._line_starts[line] + 1
        if line == 0:
            col += self._col_offset
        return Location(self.source, line + 1 + self._line_offset, col)

    def found(self) -> str:
        """A short description of what is at the current position."""
        if self.pos >= len(self.text):
            return self.end_name
        word = re.match(r"[A-Za-z0-9_-]+|\S", self.text[self.pos:])
        return f"'{word.group(0)}'" if word else repr(self.text[self.pos])

    def config_error(self, message: str, pos: int | None = None) -> ConfigError:
        """An error at ``pos``, naming the plugin being parsed (``input stdin: ...``)."""
        kind, plugin = self._plugins[-1] if self._plugins else ("", "")
        return ConfigError(message, self.location(pos), kind, plugin)

    def fail(self, expected: str, pos: int | None = None, hint: str = "") -> NoReturn:
        if pos is not None:
            self.pos = pos
        message = f"expected {expected}, found {self.found()}"
        if hint:
            message += f" ({hint})"
        raise _SyntaxFailure(self.config_error(message))

    def error(self, message: str, pos: int) -> None:
        self.errors.append(self.config_error(message, pos))

    def recover(self, start: int, failure: _SyntaxFailure) -> bool:
        """After a syntax error in the block starting at ``start``: note the error, skip the
        block (and the else branches that follow it) and go on, so that one run reports
        every broken plugin. False when the rest of the file cannot be trusted."""
        end = _block_end(self.text, start)
        if end is None:
            return False
        self.errors.append(failure.error)
        self.pos = end
        while True:
            save = self.pos
            self.skip_space()
            if not (self.keyword("else") or self.keyword("elseif")):
                self.pos = save
                return True
            end = _block_end(self.text, self.pos)
            if end is None:
                return False
            self.pos = end

    # -- low-level scanning -----------------------------------------------
    def peek(self, literal: str) -> bool:
        return self.text.startswith(literal, self.pos)

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def skip_space(self) -> bool:
        """Skip whitespace and comments (Logstash's ``cs``); True if anything was skipped."""
        start = self.pos
        while True:
            match = _SPACE.match(self.text, self.pos) or _COMMENT.match(self.text, self.pos)
            if not match:
                return self.pos != start
            self.pos = match.end()

    def expect(self, literal: str, expected: str | None = None, hint: str = "") -> None:
        if not self.peek(literal):
            self.fail(expected or f"'{literal}'", hint=hint)
        self.pos += len(literal)

    def keyword(self, word: str) -> bool:
        """Consume ``word`` if it is here as a whole word."""
        end = self.pos + len(word)
        if self.text.startswith(word, self.pos) and not (
                end < len(self.text) and _WORD_CHAR.match(self.text[end])):
            self.pos = end
            return True
        return False

    def next_is(self, pattern: re.Pattern[str]) -> bool:
        """Whether the text at the current position starts with ``pattern`` (no move)."""
        return pattern.match(self.text, self.pos) is not None

    def match(self, pattern: re.Pattern[str]) -> str | None:
        found = pattern.match(self.text, self.pos)
        if not found:
            return None
        self.pos = found.end()
        return found.group(0)

    # -- config -------------------------------------------------------------
    def parse_config(self) -> PipelineConfig:
        config = PipelineConfig(sources=[self.source])
        self.skip_space()
        while not self.at_end():
            start = self.pos
            try:
                section = self.match(_NAME)
                if section not in SECTIONS:
                    self.fail("a section: 'input', 'filter' or 'output'", start)
                self.skip_space()
                self.expect("{", f"'{{' after '{section}'")
            except _SyntaxFailure as failure:
                if not self.recover(start, failure):
                    raise
                self.skip_space()
                continue
            config.add_section(section, self.parse_block_body(section, start))
            self.skip_space()
        return config

    def parse_block_body(self, section: str, opened_at: int) -> list[Statement]:
        """Plugins and conditionals up to the closing ``}`` of a section or branch."""
        statements: list[Statement] = []
        self.skip_space()
        while not self.peek("}"):
            if self.at_end():
                self.fail(f"'}}' to close the block opened at line {self.location(opened_at).line}")
            start = self.pos
            try:
                if self.keyword("if"):
                    branch = self.parse_if(section, start)
                    if section == "input":
                        self.error("conditionals are not allowed in the input section "
                                   "(put them in filter or output)", start)
                    else:
                        statements.append(branch)
                elif self.keyword("else"):
                    self.fail("a plugin or 'if'", start, "'else' without a matching 'if'")
                else:
                    statements.append(self.parse_plugin(section))
            except _SyntaxFailure as failure:
                if not self.recover(start, failure):
                    raise
            self.skip_space()
        self.pos += 1
        return statements

    def parse_if(self, section: str, start: int) -> IfStatement:
        branches = [self.parse_branch_rest(section, start)]
        while True:
            save = self.pos
            self.skip_space()
            else_at = self.pos
            # Logstash's grammar is "else" cs "if": the space may be missing ("elseif").
            if self.keyword("elseif"):
                branches.append(self.parse_branch_rest(section, else_at))
                continue
            if not self.keyword("else"):
                self.pos = save
                break
            self.skip_space()
            if self.keyword("if"):
                branches.append(self.parse_branch_rest(section, else_at))
                continue
            self.skip_space()
            self.expect("{", "'{' or 'if' after 'else'")
            body = self.parse_block_body(section, else_at)
            branches.append(Branch(None, tuple(body), self.location(else_at)))
            break
        return IfStatement(tuple(branches), self.location(start))

    def parse_branch_rest(self, section: str, start: int) -> Branch:
        """After ``if``: condition, then the ``{ ... }`` body."""
        self.skip_space()
        condition = self.parse_condition()
        self.skip_space()
        self.expect("{", "'{' after the condition, or a boolean operator (and, or, xor, nand)",
                    hint=_assignment_hint(self.text, self.pos))
        body = self.parse_block_body(section, start)
        return Branch(condition, tuple(body), self.location(start))

    # -- plugins and values -------------------------------------------------
    def parse_name(self, what: str) -> tuple[str, int]:
        start = self.pos
        if self.peek('"') or self.peek("'"):
            return self.parse_string(substitute=False), start
        name = self.match(_NAME)
        if name is None:
            self.fail(what)
        return name, start

    def parse_plugin(self, kind: str) -> PluginSpec:
        name, start = self.parse_name("a plugin name like 'stdin' or 'if'")
        self.skip_space()
        self.expect("{", f"'{{' after plugin name '{name}'",
                    hint="a plugin is written name { option => value }")
        options: list[tuple[str, Any, Location]] = []
        self._plugins.append((kind, name))
        try:
            self.skip_space()
            while not self.peek("}"):
                if self.at_end():
                    self.fail(f"'}}' to close plugin '{name}' opened at line {self.location(start).line}")
                key, key_at = self.parse_name(f"an option name or '}}' to close plugin '{name}'")
                self.skip_space()
                self.expect("=>", f"'=>' after option name '{key}'")
                self.skip_space()
                value = self.parse_value(f"a value for option '{key}'")
                options.append((key, value, self.location(key_at)))
                self.skip_space()
        finally:
            self._plugins.pop()
        self.pos += 1
        return PluginSpec(kind, name, tuple(options), self.location(start))

    def parse_value(self, what: str) -> Any:
        char = self.text[self.pos] if not self.at_end() else ""
        if char in ('"', "'"):
            return self.parse_string()
        if char == "[":
            return self.parse_array()
        if char == "{":
            return self.parse_hash()
        start = self.pos
        name = self.match(_NAME)
        if name is not None:
            self.skip_space()
            if self.peek("{"):  # a nested plugin block: codec => json { ... }
                self.pos = start
                return self.parse_plugin("codec")
        self.pos = start
        number = self.match(_NUMBER)
        if number is not None and not self.next_is(_WORD_OR_DOT):
            return float(number) if "." in number else int(number)
        self.pos = start
        word = self.match(_BAREWORD)
        if word is not None and not self.next_is(_NAME):
            return Bareword(word)
        self.pos = start
        hint = ("quote it: an unquoted word needs 2+ letters, digits or _ and must start with a letter"
                if name else "")
        if self.text.startswith("${", start):
            hint = 'quote it: "${VAR}"; variables are substituted in quoted strings only (Logstash refuses this too)'

        self.fail(f"{what} (a string, number, bareword, array, hash or plugin block)", hint=hint)

    def parse_string(self, substitute: bool = True) -> str:
        start = self.pos
        quote = self.text[self.pos]
        index = self.pos + 1
        text = self.text
        while True:
            if index >= len(text):
                self.pos = start
                raise _SyntaxFailure(self.config_error(
                    f"unterminated string: no closing {quote} (note that a backslash before a quote "
                    "keeps the string open)", start))
            char = text[index]
            if char == "\\" and index + 1 < len(text) and text[index + 1] == quote:
                index += 2
                continue
            if char == quote:
                break
            index += 1
        raw = text[start + 1:index]
        self.pos = index + 1
        value = _process_escapes(raw) if self.support_escapes else raw
        if substitute:
            try:
                value = envsubst.substitute(value, self.location(start), self.env)
            except ConfigError as exc:
                self.error(exc.message, start)
                return envsubst.Unresolved(value)
        return value

    def parse_array(self) -> list[Any]:
        start = self.pos
        self.pos += 1
        items: list[Any] = []
        self.skip_space()
        if self.peek("]"):
            self.pos += 1
            return items
        while True:
            if self.at_end():
                self.fail(f"']' to close the array opened at line {self.location(start).line}")
            items.append(self.parse_value("an array element"))
            self.skip_space()
            if self.peek(","):
                self.pos += 1
                self.skip_space()
                if self.peek("]"):
                    self.fail("an array element after ','", hint="Logstash does not allow a trailing comma")
                continue
            if self.peek("]"):
                self.pos += 1
                return items
            self.fail("',' or ']' in array", hint="array elements are separated by commas")

    def parse_hash(self) -> dict[Any, Any]:
        start = self.pos
        self.pos += 1
        entries: dict[Any, Any] = {}
        self.skip_space()
        while not self.peek("}"):
            if self.at_end():
                self.fail(f"'}}' to close the hash opened at line {self.location(start).line}")
            if self.peek(","):
                self.fail("a hash key or '}'", hint='hash entries are separated by whitespace, not commas: '
                          '{ "a" => 1 "b" => 2 }')
            key_at = self.pos
            key = self.parse_hash_key()
            self.skip_space()
            self.expect("=>", f"'=>' after hash key {key!r}")
            self.skip_space()
            value = self.parse_value(f"a value for hash key {key!r}")
            if key in entries:
                self.error(f"duplicate key {key!r} in hash", key_at)
            entries[key] = value
            self.skip_space()
        self.pos += 1
        return entries

    def parse_hash_key(self) -> Any:
        if self.peek('"') or self.peek("'"):
            return self.parse_string(substitute=False)  # Logstash substitutes values, not keys
        start = self.pos
        number = self.match(_NUMBER)
        if number is not None and not self.next_is(_NAME):
            return float(number) if "." in number else int(number)
        self.pos = start
        word = self.match(_NAME)  # a little wider than Logstash's bareword: also "-" and 1-letter keys
        if word is None:
            self.fail("a hash key (a string, number or bareword) or '}'")
        return Bareword(word)

    # -- conditions ---------------------------------------------------------
    def parse_condition(self) -> Any:
        """``expression (boolean_operator expression)*`` with and/nand above or/xor."""
        operands = [self.parse_expression()]
        operators: list[tuple[str, int]] = []
        while True:
            save = self.pos
            self.skip_space()
            op_at = self.pos
            op = next((o for o in ("nand", "and", "xor", "or") if self.keyword(o)), None)
            if op is None:
                self.pos = save
                break
            self.skip_space()
            operators.append((op, op_at))
            operands.append(self.parse_expression())
        return self._fold(operands, operators)

    def _fold(self, operands: list[Any], operators: list[tuple[str, int]]) -> Any:
        """Left-associative precedence climbing over a flat list (and/nand before or/xor)."""
        if not operators:
            return operands[0]
        output: list[Any] = [operands[0]]
        pending: list[tuple[str, int]] = []

        def reduce() -> None:
            op, at = pending.pop()
            right = output.pop()
            left = output.pop()
            output.append(_conditions().BoolOp(op, left, right, self.location(at)))

        precedence = _conditions().BOOLEAN_PRECEDENCE
        for (op, at), operand in zip(operators, operands[1:], strict=True):
            while pending and precedence[pending[-1][0]] >= precedence[op]:
                reduce()
            pending.append((op, at))
            output.append(operand)
        while pending:
            reduce()
        return output[0]

    def parse_expression(self) -> Any:
        start = self.pos
        if self.peek("("):
            self.pos += 1
            self.skip_space()
            inner = self.parse_condition()
            self.skip_space()
            self.expect(")", "')' or a boolean operator (and, or, xor, nand)")
            return inner
        if self.peek("!") and not self.peek("!=") and not self.peek("!~"):
            self.pos += 1
            self.skip_space()
            if self.peek("("):
                self.pos += 1
                self.skip_space()
                inner = self.parse_condition()
                self.skip_space()
                self.expect(")", "')' or a boolean operator (and, or, xor, nand)")
                return _conditions().Not(inner, self.location(start))
            if self.peek("["):
                return _conditions().Not(self.parse_selector(), self.location(start))
            self.fail("a field reference like [field] or '(' after '!'")
        left = self.parse_rvalue()
        save = self.pos
        self.skip_space()
        op_at = self.pos
        if self.keyword("in"):
            self.skip_space()
            return _conditions().In(left, self.parse_rvalue(), False, self.location(op_at))
        if self.text.startswith("not", self.pos) and re.match(r"not\s", self.text[self.pos:self.pos + 4]):
            self.pos += 3
            self.skip_space()
            if not self.keyword("in"):
                self.fail("'in' after 'not'")
            self.skip_space()
            return _conditions().In(left, self.parse_rvalue(), True, self.location(op_at))
        for op in ("=~", "!~"):
            if self.peek(op):
                self.pos += 2
                self.skip_space()
                return _conditions().RegexMatch(left, self.parse_regex_operand(), op == "!~", self.location(op_at))
        for op in _COMPARE_TOKENS:
            if self.peek(op):
                self.pos += len(op)
                self.skip_space()
                return _conditions().Compare(op, left, self.parse_rvalue(), self.location(op_at))
        self.pos = save
        return left

    def parse_regex_operand(self) -> Any:
        start = self.pos
        if self.peek("/"):
            pattern = self.parse_regex_literal()
        elif self.peek('"') or self.peek("'"):
            pattern = self.parse_string()
        else:
            self.fail("a regular expression like /^error/ or a string after '=~' / '!~'")
        try:
            return _conditions().make_regex(pattern, self.location(start))
        except ConfigError as exc:
            self.errors.append(exc)
            return _conditions().make_regex("(?!)", self.location(start))  # placeholder; the error is reported

    def parse_regex_literal(self) -> str:
        start = self.pos
        index = self.pos + 1
        text = self.text
        while True:
            if index >= len(text) or text[index] == "\n":
                raise _SyntaxFailure(self.config_error("unterminated regular expression: no closing '/'",
                                                       start))
            if text[index] == "\\" and index + 1 < len(text) and text[index + 1] == "/":
                index += 2
                continue
            if text[index] == "/":
                break
            index += 1
        self.pos = index + 1
        return text[start + 1:index]

    def parse_rvalue(self) -> Any:
        start = self.pos
        char = self.text[self.pos] if not self.at_end() else ""
        if char in ('"', "'"):
            return _conditions().Literal(self.parse_string(), self.location(start))
        if char == "/":
            pattern = self.parse_regex_literal()
            self.error(f"a regular expression such as /{pattern}/ can only follow =~ or !~", start)
            return _conditions().Literal(pattern, self.location(start))
        if char == "[":
            if _SELECTOR_ELEMENT.match(self.text, self.pos) and not _looks_like_list(self.text, self.pos):
                return self.parse_selector()
            return _conditions().Literal(self.parse_array(), self.location(start))
        number = self.match(_NUMBER)
        if number is not None:
            return _conditions().Literal(float(number) if "." in number else int(number), self.location(start))
        word = self.match(_BAREWORD)
        if word is not None:
            self.skip_space()
            if self.peek("("):
                self.error(f"method calls such as {word}(...) are not supported in conditions "
                           "(Logstash does not implement them either)", start)
                depth = 0
                while not self.at_end():  # skip the call to keep parsing
                    depth += {"(": 1, ")": -1}.get(self.text[self.pos], 0)
                    self.pos += 1
                    if depth == 0:
                        break
                return _conditions().Literal(None, self.location(start))
            self.pos = start
            self.fail("a field reference like [field], a string, a number, a list or a /regex/",
                      hint=f"write [{word}] for the field or \"{word}\" for the string")
        self.fail("a field reference like [field], a string, a number, a list or a /regex/")

    def parse_selector(self) -> Field:
        start = self.pos
        parts = []
        while True:
            element = _SELECTOR_ELEMENT.match(self.text, self.pos)
            if element is None:
                break
            parts.append(element.group(0))
            self.pos = element.end()
        if not parts:
            self.fail("a field reference like [field] or [a][b]")
        text = "".join(parts)
        junk = re.match(r"[^\s()]*", self.text[self.pos:]).group(0)  # type: ignore[union-attr]
        # Logstash's grammar needs no space before an operator, the block's { or an array's , or ].
        if junk and not junk.startswith(("==", "!=", "=~", "!~", "<", ">", "{", ",", "]")):
            raise _SyntaxFailure(ConfigError(
                f"invalid field reference '{text}{junk}': expected bracketed names like [a][b]",
                self.location(start)))
        try:
            ref = fieldref.parse(text)
        except FieldReferenceError as exc:
            raise _SyntaxFailure(self.config_error(exc.message, start)) from None
        return _conditions().Field(ref, self.location(start))


def _block_end(text: str, start: int) -> int | None:
    """The index just after the ``{...}`` block that follows ``start`` (strings, comments and
    regexes skipped), or None when there is no balanced block."""
    depth = 0
    index = start
    while index < len(text):
        char = text[index]
        if char in ('"', "'", "/"):
            index += 1
            while index < len(text) and text[index] != char:
                if char == "/" and text[index] == "\n":
                    return None
                index += 2 if text[index] == "\\" and text[index + 1:index + 2] == char else 1
            if index >= len(text):
                return None
        elif char == "#":
            newline = text.find("\n", index)
            index = len(text) if newline < 0 else newline
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth < 0:
                return None
            if depth == 0:
                return index + 1
        index += 1
    return None


def _looks_like_list(text: str, pos: int) -> bool:
    """``["a"]`` or ``[1]`` is a one-element list, not a field named with quotes or a digit."""
    element = _SELECTOR_ELEMENT.match(text, pos)
    inner = element.group(1).strip() if element else ""
    return bool(re.fullmatch(r"\"[^\"]*\"|'[^']*'|-?[0-9]+(\.[0-9]*)?", inner))


def _process_escapes(raw: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(0)), raw, flags=re.S)


def _run(parser: _Parser, action: Callable[[], Any]) -> Any:
    try:
        result = action()
    except _SyntaxFailure as failure:
        raise ConfigErrors([*parser.errors, failure.error]) from None
    except RecursionError:
        raise ConfigErrors([*parser.errors, ConfigError(
            "nesting is too deep (arrays, hashes, blocks or parentheses hundreds of levels deep)",
            parser.location())]) from None
    if parser.errors:
        errors = ConfigErrors(parser.errors)
        # What could be parsed around the errors, so that `pipeline check` can also validate
        # the plugins that are fine and report their problems in the same run.
        errors.partial = result  # type: ignore[attr-defined]
        raise errors
    return result


def parse_config(text: str, source: str = "<config>", *, env: Mapping[str, str] | None = None,
                 support_escapes: bool = False) -> PipelineConfig:
    """Parse a whole config in Logstash syntax; ConfigErrors (file:line:col) on any problem."""
    parser = _Parser(text, source, env, support_escapes)
    return _run(parser, parser.parse_config)  # type: ignore[no-any-return]


def parse_condition(text: str, location: Location | None = None, *,
                    env: Mapping[str, str] | None = None, support_escapes: bool = False) -> Any:
    """Parse one condition such as ``[status] >= 500 and [type] == "web"`` (the YAML form uses it).

    ``location`` is where ``text`` starts, so errors point into the enclosing file.
    """
    loc = location or Location()
    parser = _Parser(text, loc.file, env, support_escapes, max(loc.line - 1, 0), max(loc.col - 1, 0))

    parser.end_name = "end of condition"

    def whole() -> Any:
        parser.skip_space()
        expr = parser.parse_condition()
        parser.skip_space()
        if not parser.at_end():
            parser.fail("end of condition or a boolean operator (and, or, xor, nand)")
        return expr

    return _run(parser, whole)
