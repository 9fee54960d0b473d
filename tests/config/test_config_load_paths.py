"""load_paths: files, directories in alphabetical order, globs, YAML files, all errors at once."""

from __future__ import annotations

import pytest

from pipeline.config.loader import expand_paths, load_paths
from pipeline.errors import ConfigErrors


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def names(statements):
    return [s.name for s in statements]


def test_directory_files_are_concatenated_alphabetically(tmp_path):
    write(tmp_path / "20-filter.conf", "filter { second {} }")
    write(tmp_path / "10-input.conf", "input { stdin {} } filter { first {} }")
    write(tmp_path / "30-output.conf", "output { stdout {} }")
    write(tmp_path / "25-more.yml", "filter:\n  - from_yaml: {}\n")
    (tmp_path / "subdir").mkdir()
    write(tmp_path / "subdir" / "ignored.conf", "filter { nested {} }")
    config = load_paths([str(tmp_path)])
    assert names(config.inputs) == ["stdin"]
    assert names(config.filters) == ["first", "second", "from_yaml"]
    assert names(config.outputs) == ["stdout"]
    assert config.sources == [str(tmp_path / n) for n in
                              ("10-input.conf", "20-filter.conf", "25-more.yml", "30-output.conf")]
    assert config.filters[1].location.file == str(tmp_path / "20-filter.conf")


def test_several_files_keep_the_given_order(tmp_path):
    b = write(tmp_path / "b.conf", "filter { from_b {} }")
    a = write(tmp_path / "a.conf", "filter { from_a {} }")
    assert names(load_paths([str(b), str(a)]).filters) == ["from_b", "from_a"]
    assert names(load_paths([b, a, b]).filters) == ["from_b", "from_a"]  # a file is loaded once


def test_globs_are_sorted(tmp_path):
    for name in ("x2.conf", "x1.conf", "y.txt"):
        write(tmp_path / name, f"filter {{ f_{name.split('.')[0]} {{}} }}")
    assert names(load_paths([str(tmp_path / "x*.conf")]).filters) == ["f_x1", "f_x2"]
    assert [p.name for p in expand_paths([str(tmp_path / "*")])] == ["x1.conf", "x2.conf", "y.txt"]


def test_missing_path_is_a_config_error(tmp_path):
    with pytest.raises(ConfigErrors) as caught:
        load_paths([str(tmp_path / "nope.conf")])
    assert "no config file found" in caught.value.errors[0].message


def test_errors_of_every_file_are_reported_together(tmp_path):
    write(tmp_path / "a.conf", "filter { x { a => } }")
    write(tmp_path / "b.yml", "filter:\n  - x: [1]\n")
    (tmp_path / "c.conf").write_bytes(b"filter { x { a => \"\xff\" } }")
    write(tmp_path / "d.conf", "filter { ok {} }")
    with pytest.raises(ConfigErrors) as caught:
        load_paths([str(tmp_path)])
    where = [(e.location.file.rsplit("/", 1)[-1], e.location.line) for e in caught.value.errors]
    assert where == [("a.conf", 1), ("b.yml", 2), ("c.conf", 0)]
    assert "not valid UTF-8" in caught.value.errors[2].message


def test_byte_order_mark_is_ignored(tmp_path):
    (tmp_path / "bom.conf").write_bytes("\ufeffinput { stdin {} }".encode())
    assert names(load_paths([str(tmp_path / "bom.conf")]).inputs) == ["stdin"]


def test_env_is_passed_through(tmp_path):
    write(tmp_path / "e.conf", 'input { x { port => "${P}" } }')
    write(tmp_path / "e.yml", "input:\n  - y: { port: '${P}' }\n")
    config = load_paths([str(tmp_path / "e.conf"), str(tmp_path / "e.yml")], env={"P": "7"})
    assert [s.option("port") for s in config.inputs] == ["7", "7"]


def test_errors_carry_the_partial_config_for_further_checks(tmp_path):
    write(tmp_path / "a.conf", "input { stdin { port 5044 } beats { port => 1 } }")
    write(tmp_path / "b.yml", "filter:\n  - x: [1]\n  - mutate: {}\n")
    with pytest.raises(ConfigErrors) as caught:
        load_paths([str(tmp_path)])
    partial = caught.value.partial
    assert names(partial.inputs) == ["beats"]
    assert names(partial.filters) == ["x", "mutate"]
