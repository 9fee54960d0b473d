"""Every option Logstash documents for a plugin we implement is declared here (pipeline/compat data)."""

from __future__ import annotations

import logging

import pytest

from pipeline import plugin as plugins
from pipeline.compat import logstash_options
from pipeline.errors import ConfigError
from pipeline.testing import build_plugin

WITH_DATA = [cls for cls in plugins.all_plugins() if logstash_options.options(cls.kind, cls.name) is not None]

# Options other engineers' plugins still lack (their areas; merged independently). Listed exactly, so
# a plugin losing another option fails here; entries may be removed as they are implemented.
OWNED_ELSEWHERE: dict[tuple[str, str], set[str]] = {}


def test_every_plugin_logstash_also_has_keeps_its_option_list() -> None:
    names = {(cls.kind, cls.name) for cls in WITH_DATA}
    assert len(names) >= 50
    for kind, name in names:
        assert "@ " in (logstash_options.source(kind, name) or ""), f"{kind}-{name}: no source commit"


@pytest.mark.parametrize("cls", WITH_DATA, ids=[f"{c.kind}-{c.name}" for c in WITH_DATA])
def test_every_logstash_option_is_declared(cls: type[plugins.Plugin]) -> None:
    declared = {name for info in cls.option_infos() for name in (info.name, *info.aliases)}
    missing = {o.name for o in logstash_options.current(cls.kind, cls.name) if o.name not in declared}
    missing -= OWNED_ELSEWHERE.get((cls.kind, cls.name), set())
    assert not missing, f"{cls.kind} {cls.name}: Logstash options not declared: {sorted(missing)}"


def test_obsolete_options_we_still_implement_run_with_logstash_message_as_a_warning(caplog) -> None:
    # Configs written for older Logstash 8 carry them; refusing would stop a working pipeline.
    with caplog.at_level(logging.WARNING, logger="pipeline.plugin"):
        plugin = build_plugin("input", 'tcp { port => 5000 ssl_cert => "/c.pem" }', register=False)
    assert str(plugin.options.ssl_certificate) == "/c.pem"
    assert ("The setting `ssl_cert` in plugin `tcp` is obsolete and is no longer available. Use 'ssl_certificate' "
            "instead.; still accepted here") in caplog.text


def test_common_obsolete_options_are_refused_on_every_filter() -> None:
    with pytest.raises(ConfigError, match="The setting `type` in plugin `mutate` is obsolete.*if \\[type\\] =="):
        build_plugin("filter", 'mutate { type => "syslog" add_tag => ["x"] }')


def test_an_option_without_meaning_here_is_accepted_with_one_warning(caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="pipeline.plugin"):
        build_plugin("output", 'file { path => "/tmp/x.log" workers => 4 }', register=False)
    warnings = [r.getMessage() for r in caplog.records if "workers" in r.getMessage()]
    assert len(warnings) == 1
    assert 'option "workers" has no effect here' in warnings[0]


def test_an_option_we_cannot_honour_is_refused_with_the_reason() -> None:
    with pytest.raises(ConfigError, match='option "ssl_verification_mode" is not supported: client mode does not use '
                                          "TLS here"):
        build_plugin("input", 'tcp { port => 5000 ssl_verification_mode => "full" }', register=False)


def test_a_one_element_array_is_unwrapped_for_a_single_value_option() -> None:
    tcp = build_plugin("input", 'tcp { port => [5000] host => ["127.0.0.1"] }', register=False)
    assert tcp.options.port == 5000 and tcp.options.host == "127.0.0.1"
    with pytest.raises(ConfigError, match="expected"):
        build_plugin("input", 'tcp { port => [5000, 5001] }', register=False)


def test_list_shows_logstash_coverage_per_plugin() -> None:
    from pipeline.docs import logstash_coverage, text

    beats, tcp = plugins.lookup("input", "beats"), plugins.lookup("input", "tcp")
    assert beats is not None and tcp is not None
    assert logstash_coverage(beats) == "23/24 Logstash options implemented (1 accepted without effect)"
    assert logstash_coverage(tcp) == "22/23 Logstash options implemented (1 refused)"
    assert "accepted without effect" in text(("output",))
