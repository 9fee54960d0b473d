"""Conditions: a truth table for every operator, type mismatches, precedence, compile-once."""

from __future__ import annotations

import pytest

from pipeline.config import conditions
from pipeline.config.conditions import BoolOp, Compare, Field, Literal, Regex, RegexMatch, compile_condition
from pipeline.config.loader import parse_text
from pipeline.config.parser import parse_condition
from pipeline.errors import ConfigErrors
from pipeline.event import Event
from pipeline.fieldref import parse as ref
from pipeline.timestamp import Timestamp

EVENT = {
    "message": "disk full on /dev/sda1",
    "status": 503,
    "ratio": 0.5,
    "name": "web-1",
    "type": "nginx",
    "tags": ["prod", "eu", "_grokparsefailure"],
    "flag": False,
    "nothing": None,
    "empty": "",
    "zero": 0,
    "nested": {"level": "ERROR", "code": 42, "list": [1, 2, 3]},
    "codes": [200, 404],
    "numstr": "500",
    "@metadata": {"target": "alerts"},
}


def evaluate(text: str, data: dict | None = None) -> tuple[bool, int]:
    """(result, number of type errors) of a condition on a copy of EVENT (or ``data``)."""
    type_errors = []
    check = compile_condition(parse_condition(text), lambda: type_errors.append(1))
    event = Event(dict(EVENT) if data is None else data, copy_data=True)
    return check(event), len(type_errors)


TRUTH_TABLE = [
    # field truthiness: exists and is not null/false
    ("[status]", True, 0), ("[missing]", False, 0), ("[flag]", False, 0), ("[nothing]", False, 0),
    ("[empty]", True, 0), ("[zero]", True, 0), ("[nested][level]", True, 0), ("[nested][nope]", False, 0),
    ("[nested][list][0]", True, 0), ("[nested][list][9]", False, 0), ("[@metadata][target]", True, 0),
    # ==
    ("[status] == 503", True, 0), ("[status] == 503.0", True, 0), ("[status] == 500", False, 0),
    ("[type] == \"nginx\"", True, 0), ("[type] == 'nginx'", True, 0), ("[type] == \"NGINX\"", False, 0),
    ("[numstr] == 500", False, 0), ("[status] == \"503\"", False, 0), ("[missing] == \"x\"", False, 0),
    ("[missing] == [other_missing]", True, 0), ("[nested][code] == 42", True, 0),
    ("[codes] == [200, 404]", True, 0), ("\"a\" == \"a\"", True, 0), ("[flag] == 0", False, 0),
    ("[nested][level] == [nested][level]", True, 0),
    # !=
    ("[status] != 503", False, 0), ("[status] != 500", True, 0), ("[missing] != \"x\"", True, 0),
    ("[numstr] != 500", True, 0), ("[type] != \"apache\"", True, 0),
    # < > <= >= on numbers
    ("[status] > 500", True, 0), ("[status] >= 503", True, 0), ("[status] < 503", False, 0),
    ("[status] <= 503", True, 0), ("[ratio] < 1", True, 0), ("[ratio] > -1.5", True, 0),
    ("[nested][code] >= 42.0", True, 0), ("[status] > [nested][code]", True, 0),
    # ... on strings (lexicographic)
    ("[type] > \"apache\"", True, 0), ("[type] < \"apache\"", False, 0), ("[name] >= \"web-1\"", True, 0),
    # ... type mismatches: false and counted, never raised
    ("[numstr] > 5", False, 1), ("[type] < 5", False, 1), ("[status] >= \"abc\"", False, 1),
    ("[tags] > 1", False, 1), ("[nested] < 1", False, 1), ("[flag] > 0", False, 1),
    ("[nothing] > 1", False, 1),
    # ... missing fields: false, not a type error
    ("[missing] > 1", False, 0), ("[missing] <= 1", False, 0), ("1 < [missing]", False, 0),
    # =~ and !~
    ("[message] =~ /disk/", True, 0), ("[message] =~ /^disk full/", True, 0), ("[message] =~ /^full/", False, 0),
    ("[message] =~ /sda\\d$/", True, 0), ("[message] =~ \"on /dev\"", True, 0), ("[message] !~ /disk/", False, 0),
    ("[message] !~ /cpu/", True, 0), ("[missing] =~ /x/", False, 0), ("[missing] !~ /x/", True, 0),
    ("[nested][level] =~ /^ERR/", True, 0), ("[message] =~ /(?<dev>sd[a-z])/", True, 0),
    ("[message] =~ /\\/dev\\//", True, 0),
    ("[status] =~ /^5/", False, 1), ("[tags] =~ /prod/", False, 1), ("[status] !~ /^5/", False, 1),
    # in / not in: lists
    ("\"prod\" in [tags]", True, 0), ("\"dev\" in [tags]", False, 0), ("\"prod\" not in [tags]", False, 0),
    ("\"dev\" not in [tags]", True, 0), ("\"_grokparsefailure\" in [tags]", True, 0),
    ("404 in [codes]", True, 0), ("\"404\" in [codes]", False, 0), ("2 in [nested][list]", True, 0),
    ("[type] in [\"nginx\", \"apache\"]", True, 0), ("[type] in [\"iis\", \"apache\"]", False, 0),
    ("[type] not in [\"iis\", \"apache\"]", True, 0), ("[status] in [500, 503]", True, 0),
    ("[type] in [\"nginx\"]", True, 0), ("[missing] in [\"a\"]", False, 0),
    # in / not in: substrings
    ("\"full\" in [message]", True, 0), ("\"cpu\" in [message]", False, 0), ("\"cpu\" not in [message]", True, 0),
    ("[type] in \"nginx-plus\"", True, 0), ("[type] in [message]", False, 0), ("\"web\" in [name]", True, 0),
    # in / not in: missing right side and type errors
    ("\"x\" in [missing]", False, 0), ("\"x\" not in [missing]", True, 0), ("[missing] in [message]", False, 0),
    ("5 in [message]", False, 1), ("5 not in [message]", False, 1), ("\"x\" in [status]", False, 1),
    ("\"level\" in [nested]", True, 0), ("\"nope\" in [nested]", False, 0),
    # ! and parentheses
    ("![missing]", True, 0), ("![status]", False, 0), ("!([status] > 500)", False, 0),
    ("!([status] > 600)", True, 0), ("! ( [type] == \"nginx\" and [status] == 503 )", False, 0),
    ("!([numstr] > 5)", True, 1), ("([status] == 503)", True, 0), ("(([status] == 503))", True, 0),
    # boolean operators
    ("[status] and [type]", True, 0), ("[status] and [missing]", False, 0), ("[missing] or [type]", True, 0),
    ("[missing] or [flag]", False, 0), ("[status] xor [type]", False, 0), ("[status] xor [missing]", True, 0),
    ("[missing] xor [flag]", False, 0), ("[status] nand [type]", False, 0), ("[status] nand [missing]", True, 0),
    ("[missing] nand [flag]", True, 0),
    # literals
    ("\"x\"", True, 0), ("1", True, 0),
]


@pytest.mark.parametrize(("text", "expected", "type_errors"), TRUTH_TABLE)
def test_truth_table(text, expected, type_errors):
    assert evaluate(text) == (expected, type_errors)


@pytest.mark.parametrize(("text", "expected"), [
    # and binds tighter than or: true or (false and false) = true; (true or false) and false = false
    ("[status] or [missing] and [flag]", True),
    ("[missing] and [flag] or [status]", True),
    ("([status] or [missing]) and [flag]", False),
    # nand binds like and, xor like or; all left-associative
    ("[status] xor [status] and [missing]", True),      # T xor (T and F) = T
    ("[status] nand [status] or [status]", True),       # (T nand T) or T = T
    ("[missing] or [status] nand [status]", False),     # F or (T nand T) = F
    ("[status] nand [status] nand [status]", True),     # (T nand T) nand T = F nand T = T
    ("[status] xor [status] xor [status]", True),       # (T xor T) xor T = T
    ("[status] == 503 and [type] == \"nginx\" or [missing]", True),
    ("[status] == 1 or [type] == \"nginx\" and \"eu\" in [tags]", True),
    ("[status] == 1 or [type] == \"nginx\" and \"us\" in [tags]", False),
    ("!([status] == 1 or [missing]) and ![flag]", True),
])
def test_precedence_and_grouping(text, expected):
    assert evaluate(text)[0] is expected


def test_and_binds_tighter_than_or_in_the_tree():
    tree = parse_condition("[a] or [b] and [c]")
    assert isinstance(tree, BoolOp) and tree.op == "or"
    assert tree.right == BoolOp("and", Field(ref("[b]")), Field(ref("[c]")))


@pytest.mark.parametrize("text", [
    "[missing] and [numstr] > 1",
    "[status] or [numstr] > 1",
    "[missing] nand [numstr] > 1",
])
def test_boolean_operators_short_circuit(text):
    # the right side would count a type error if it were evaluated
    assert evaluate(text)[1] == 0
    assert evaluate(text.replace("[missing]", "[status]").replace("[status] or", "[missing] or"))[1] == 1


def test_regex_nodes_built_by_hand_are_compiled_too():
    tree = RegexMatch(Field(ref("[a]")), Regex("^x\\d"))
    assert compile_condition(tree)(Event({"a": "x1"})) is True


def test_timestamps_compare_with_timestamps():
    data = {"@timestamp": Timestamp(2000), "other": Timestamp(1000)}
    assert evaluate("[@timestamp] > [other]", data) == (True, 0)
    assert evaluate("[@timestamp] == [other]", data) == (False, 0)
    assert evaluate("[@timestamp] > \"1970\"", data) == (False, 1)


def test_compiled_once_regex_compiled_at_parse_time():
    tree = parse_condition("[message] =~ /^a+$/")
    assert tree.regex.compiled.pattern == "^a+$"
    check = compile_condition(tree)
    assert [check(Event({"message": m})) for m in ("aaa", "ab", "")] == [True, False, False]


def test_ruby_regex_syntax_is_translated():
    assert evaluate("[name] =~ /\\A(?<host>[a-z]+)-\\h\\z/")[0] is True


def test_on_type_error_is_optional():
    assert compile_condition(parse_condition("[a] > 1"))(Event({"a": "x"})) is False


def test_conditions_in_config_branches():
    config = parse_text("""
    filter {
      if [status] >= 500 { a1 {} }
      else if [status] >= 400 { a2 {} }
      else if "x" in [tags] { a3 {} if [nested] { a4 {} } }
      else { a5 {} }
    }
    output { if [@metadata][target] == "alerts" { o1 {} } }
    """)
    (statement,) = config.filters
    conds = [b.condition for b in statement.branches]
    assert conds[0] == Compare(">=", Field(ref("[status]")), Literal(500))
    assert conds[3] is None
    assert statement.branches[2].body[1].branches[0].condition == Field(ref("[nested]"))
    assert [b.location.line for b in statement.branches] == [3, 4, 5, 6]
    assert config.outputs[0].branches[0].condition == Compare(
        "==", Field(ref("[@metadata][target]")), Literal("alerts"))


def test_env_substitution_in_condition_strings():
    tree = parse_condition('[env] == "${DEPLOY_ENV:staging}"', env={})
    assert tree.right == Literal("staging")


def test_list_literal_forms():
    assert parse_condition('[a] in ["x", "y"]').right == Literal(["x", "y"])
    assert parse_condition('[a] in [ "x" ]').right == Literal(["x"])
    assert parse_condition("[a] in [1]").right == Literal([1])
    assert parse_condition("[a] in [b]").right == Field(ref("[b]"))
    assert parse_condition("[a] in []").right == Literal([])


def test_condition_errors_point_into_the_enclosing_text():
    from pipeline.errors import Location

    with pytest.raises(ConfigErrors) as caught:
        parse_condition("[a] == ", Location("p.yml", 7, 10))
    assert str(caught.value.errors[0].location) == "p.yml:7:17"
    assert "end of condition" in caught.value.errors[0].message


@pytest.mark.parametrize(("text", "expected", "type_errors"), TRUTH_TABLE)
def test_describe_writes_an_equivalent_condition(text, expected, type_errors):
    written = conditions.describe(parse_condition(text))
    assert conditions.describe(parse_condition(written)) == written
    assert evaluate(written) == (expected, type_errors)
