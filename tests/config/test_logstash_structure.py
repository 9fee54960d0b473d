"""Structure Logstash accepts: conf.d fragments, `.yml` files in Logstash syntax, `-t`, helpful errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pipeline.cli import main


def _check(*args: str) -> tuple[int, str]:
    result = subprocess.run([sys.executable, "-m", "pipeline", *args], capture_output=True, text=True, timeout=120)
    return result.returncode, result.stdout + result.stderr


def test_a_filter_only_fragment_checks_fine_alone(tmp_path) -> None:
    fragment = tmp_path / "10-filter.conf"
    fragment.write_text('filter { mutate { add_tag => ["seen"] } }\n')
    code, out = _check("check", "-f", str(fragment))
    assert code == 0, out
    assert "no input section: valid as a fragment" in out


def test_a_directory_of_fragments_is_one_pipeline(tmp_path) -> None:
    (tmp_path / "01-in.conf").write_text("input { stdin {} }\n")
    (tmp_path / "20-filter.conf").write_text('filter { if [message] =~ /^(?m){.*}$/ { json { source => "message" } } }\n')
    (tmp_path / "90-out.conf").write_text("output { stdout {} }\n")
    code, out = _check("run", "-t", "-f", str(tmp_path))
    assert code == 0, out
    assert "Configuration OK: pipeline main (1 input(s), 1 filter(s), 1 output(s))" in out


def test_run_config_test_and_exit_reports_errors_like_check(tmp_path, capsys) -> None:
    conf = tmp_path / "bad.conf"
    conf.write_text('input { stdin {} }\nfilter { mutate { renmae => { "a" => "b" } } }\n')
    assert main(["run", "--config.test_and_exit", "-f", str(conf)]) == 78
    assert 'unknown option "renmae" (did you mean "rename"?)' in capsys.readouterr().err


def test_a_yml_file_in_logstash_syntax_is_read_as_logstash_syntax(tmp_path) -> None:
    conf = tmp_path / "beats.yml"
    conf.write_text('# pipelines.yml points here\ninput { stdin {} }\nfilter { mutate { add_tag => "x" } }\n')
    code, out = _check("check", "-f", str(conf))
    assert code == 0, out


@pytest.mark.parametrize(("condition", "hint"), [
    ('[type] = "syslog"', "'=' is not a comparison: write [field] == \"value\""),
    ('[type] => "syslog"', "'=>' sets plugin options"),
])
def test_assignment_in_a_condition_is_explained(condition: str, hint: str, capsys) -> None:
    assert main(["check", "-e", f"input {{ stdin {{}} }} filter {{ if {condition} {{ drop {{}} }} }}"]) == 78
    assert hint in capsys.readouterr().err


def test_an_unquoted_variable_is_explained(capsys) -> None:
    assert main(["check", "-e", "input { tcp { port => ${PORT} } }"]) == 78
    assert 'quote it: "${VAR}"' in capsys.readouterr().err


def test_an_unset_variable_is_reported_once_not_again_by_the_option(capsys, monkeypatch) -> None:
    monkeypatch.delenv("COMPAT_UNSET_PORT", raising=False)
    assert main(["check", "-e", 'input { udp { port => "${COMPAT_UNSET_PORT}" } } filter { mutate { renmae => {} } }']) == 78
    err = capsys.readouterr().err
    assert "environment variable COMPAT_UNSET_PORT is not set" in err
    assert "expected an integer" not in err and 'missing required option "port"' not in err
    assert "2 configuration error(s)" in err  # the other plugin is still checked


def test_every_problem_is_reported_even_with_an_unknown_plugin(capsys) -> None:
    config = ('input { stdin {} } filter { no_such_plugin {} mutate { renmae => {} } if [a] =~ /(/ { drop {} } } '
              'output { stdout { codec => no_such_codec } }')
    assert main(["check", "-e", config]) == 78
    err = capsys.readouterr().err
    for expected in ('unknown filter plugin "no_such_plugin"', 'unknown option "renmae"', "invalid regular expression",
                     'unknown codec plugin "no_such_codec"'):
        assert expected in err
