import pytest

from pipeline import fieldref
from pipeline.errors import ConfigError, FieldReferenceError


@pytest.mark.parametrize("text,path", [
    ("message", ("message",)),
    ("[message]", ("message",)),
    ("[a][b]", ("a", "b")),
    ("[a][0]", ("a", "0")),
    ("@timestamp", ("@timestamp",)),
    ("[@metadata][beat]", ("@metadata", "beat")),
    ("[log][file][path]", ("log", "file", "path")),
    ("a.b", ("a.b",)),  # dots are part of the name, as in Logstash
    # an embedded reference filling a whole segment flattens, as Logstash's strict tokenizer reads it
    ("[[process][name]]", ("process", "name")),
    ("[x][[a][b]]", ("x", "a", "b")),
    ("[[a]]", ("a",)),
])
def test_valid_references_parse_to_paths(text, path):
    assert fieldref.parse(text).path == path


@pytest.mark.parametrize("text", ["", "[a]b", "a[b]", "[a", "a]", "[]", "[a][]", "[a]]", "[[a]b]", "[a[b]]"])
def test_malformed_references_are_config_errors(text):
    with pytest.raises(FieldReferenceError) as info:
        fieldref.parse(text)
    assert isinstance(info.value, ConfigError)


def test_get_set_delete_on_nested_dicts():
    data: dict = {}
    ref = fieldref.parse("[a][b][c]")
    ref.set(data, 1)
    assert data == {"a": {"b": {"c": 1}}}
    assert ref.get(data) == 1
    assert ref.includes(data)
    assert ref.delete(data) == 1
    assert not ref.includes(data)
    assert data == {"a": {"b": {}}}


def test_list_index_reads_and_writes_lists():
    data = {"a": [10, {"x": 1}]}
    assert fieldref.parse("[a][0]").get(data) == 10
    assert fieldref.parse("[a][-1][x]").get(data) == 1
    assert fieldref.parse("[a][5]").get(data, "missing") == "missing"
    fieldref.parse("[a][0]").set(data, 11)
    assert data["a"][0] == 11
    fieldref.parse("[a][2]").set(data, 12)  # append at the end
    assert data["a"] == [11, {"x": 1}, 12]


def test_numeric_segment_on_a_dict_is_a_key():
    data = {"a": {"0": "zero"}}
    assert fieldref.parse("[a][0]").get(data) == "zero"


def test_set_through_a_scalar_replaces_it_with_a_dict():
    data = {"a": "text"}
    fieldref.parse("[a][b]").set(data, 1)
    assert data == {"a": {"b": 1}}


def test_references_are_cached():
    assert fieldref.parse("[x][y]") is fieldref.parse("[x][y]")
