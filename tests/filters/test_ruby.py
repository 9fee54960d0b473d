"""ruby filter: code, init, path + script_params, tag_on_exception, tag_with_exception_message, new events,
the Event API and Timestamps, worker restarts, a missing interpreter.

The ``code`` of the tests marked "public config" is copied from public Logstash configs found with the
search tools (find_string ids in brackets), to check that users' code runs unchanged.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from pipeline.errors import ConfigErrors
from pipeline.testing import build_plugin, run_filters, run_pipeline
from pipeline.timestamp import Timestamp


# -- real snippets from public configs -------------------------------------------------------------
def test_public_config_split_message_into_level_and_text() -> None:
    # public config, a Kubernetes ConfigMap for Logstash [27416344248]: split + early return
    code = """
            ss = event.get('message').split(' ')
            len = ss.length()
            if len == 0 || len < 2
              event.set('level','invalid')
              return
            end
            if ss[1][0] == '['
              l = ss[1].length()
              event.set('level', ss[1][1..l-2])
            else
              event.set('level', 'info')
            end
    """
    out = run_filters(f'ruby {{ code => "{code}" }}', ["12:00 [warn] disk", "alone", "12:00 plain"])
    assert [e.get("level") for e in out] == ["warn", "invalid", "info"]


def test_public_config_zip_names_with_split_values_and_append() -> None:
    # public config, nginx log split on "|" [12047557624]: init array, Hash[zip], Event.new, append
    config = """ruby {
        init => "@kname = ['remote_addr','request','status']"
        code => "
            new_event = LogStash::Event.new(Hash[@kname.zip(event.get('message').split('|'))])
            new_event.remove('@timestamp')
            event.append(new_event)
        "
    }"""
    [event] = run_filters(config, [{"message": "10.0.0.1|GET / HTTP/1.1|200", "@timestamp": "2024-01-02T03:04:05Z"}])
    assert (event.get("remote_addr"), event.get("request"), event.get("status")) == ("10.0.0.1", "GET / HTTP/1.1", "200")
    assert event.timestamp == Timestamp.parse("2024-01-02T03:04:05Z")


def test_public_config_key_value_pairs_with_each_and_next() -> None:
    # public blog config splitting "k=v;,;k=v" [24942773533]
    code = """
            array1 = event.get('message').split(';,;')
            array1.each do |temp1|
                if temp1.nil? then
                    next
                end
                array2 = temp1.split('=')
                key = array2[0]
                value = array2[1]
                if key.nil? then
                    next
                end
                event.set(key, value)
            end
    """
    [event] = run_filters(f'ruby {{ code => "{code}" remove_field => [ "message" ] }}', ["a=1;,;b=2;,;=x"])
    assert event.get("a") == "1" and event.get("b") == "2" and event.get("message") is None


def test_public_config_index_date_from_local_time() -> None:
    # public configs (kafka → ES) [38565405015, 13388361592]: timestamp.time.localtime.strftime
    config = """ruby { code => "event.set('[@metadata][date]', event.timestamp.time.localtime.strftime('%Y-%m-%d'))" }
                ruby { code => 'event.set("daytag", event.timestamp.time.localtime.strftime("%Y-%m-%d %H:%M:%S"))' }"""
    os.environ["TZ"] = "UTC"
    [event] = run_filters(config, [{"@timestamp": "2024-05-06T07:08:09.123Z"}])
    assert event.get("[@metadata][date]") == "2024-05-06"
    assert event.get("daytag") == "2024-05-06 07:08:09"


def test_public_config_cancel_with_conditions() -> None:
    # Logstash docs and public configs [34563518960]: event.cancel if ...
    config = """ruby { code => "event.cancel if event.get('[log_ERROR][rate_5m]') < 100" }"""
    out = run_filters(config, [{"log_ERROR": {"rate_5m": 5}}, {"log_ERROR": {"rate_5m": 500}}])
    assert [e.get("[log_ERROR][rate_5m]") for e in out] == [500]
    assert run_filters('ruby { code => "event.cancel if rand <= 1.1" }', ["x"]) == []


def test_public_config_moves_fields_under_a_prefix_with_to_hash() -> None:
    # public SensorFleet docs [597982461]: event.to_hash.each { set + remove }
    code = """
            event.to_hash.each { |k, v|
                unless [ "@timestamp", "@version", "host"].include?(k)
                    event.set("[_sensorfleet_event][#{k}]", v)
                    event.remove(k)
                end
            }
    """
    [event] = run_filters(f"ruby {{ code => '{code}' }}", [{"a": 1, "b": {"c": [1, 2]}, "host": "h"}])
    assert event.get("_sensorfleet_event") == {"a": 1, "b": {"c": [1, 2]}}
    assert event.get("host") == "h" and event.get("a") is None


def test_public_config_suricata_prefix_skips_at_fields() -> None:
    # public install script [31778714398]: build a hash and set it
    code = """
      suricata_eve = {}
      event.to_hash.each do |key, value|
        next if key.start_with?("@") || ["host", "port"].include?(key)
        suricata_eve[key] = value
      end
      event.set("[suricata][eve]", suricata_eve)
    """
    [event] = run_filters(f"ruby {{ code => '{code}' }}", [{"event_type": "alert", "port": 1, "@version": "1"}])
    assert event.get("[suricata][eve]") == {"event_type": "alert"}


def test_public_script_file_lowercases_keys(tmp_path: Path) -> None:
    # public script file for `path` [66619046984]: helper methods, register(params), filter returns [event]
    script = tmp_path / "lowercase.rb"
    script.write_text("""
def register(params)
  @ignore = [ "path", "@timestamp", "@metadata", "host", "@version" ]
end
def processArray(a)
  newArray = []
  a.each { |x| newArray << processObject(x) }
  return newArray
end
def processHash(h)
  newHash = {}
  h.each { |k, v| newHash[k.downcase] = processObject(v) }
  return newHash
end
def processObject(v)
  if v.kind_of?(Array)
    return processArray(v)
  elsif v.kind_of?(Hash)
    return processHash(v)
  else
    return v
  end
end
def filter(event)
  event.to_hash.each { |k, v|
    unless @ignore.include?(k)
      event.remove(k)
      event.set(k.downcase, processObject(v))
    end
  }
  return [event]
end
""")
    [event] = run_filters(f'ruby {{ path => "{script}" }}', [{"User": {"Name": "A", "Roles": [{"ID": 1}]}, "host": "H"}])
    assert event.get("user") == {"name": "A", "roles": [{"id": 1}]} and event.get("User") is None


def test_public_script_file_reads_script_params(tmp_path: Path) -> None:
    # public script file [6914779773]: @category from params, split on ","
    script = tmp_path / "mikrotik.rb"
    script.write_text("""
def register(params)
    @category = params["category"]
end
def filter(event)
    arr1 = event.get('message').split(',')
    event.set('debug_field2', @category)
    if arr1[0] == 'hotspot'
        event.set('user', arr1[2].split(':')[1])
    end
    return [event]
end
""")
    config = f'ruby {{ path => "{script}" script_params => {{ "category" => "net" }} }}'
    [event] = run_filters(config, ["hotspot,info,x: bob"])
    assert event.get("debug_field2") == "net" and event.get("user") == " bob"


# -- options ------------------------------------------------------------------------------------------
def test_init_state_persists_across_events_and_common_options_apply() -> None:
    config = """ruby { init => "@count = 0" code => "@count += 1; event.set('n', @count)"
                      add_tag => ["counted"] add_field => { "by" => "ruby" } }"""
    out = run_filters(config, ["a", "b", "c"])
    assert [e.get("n") for e in out] == [1, 2, 3]
    assert all(e.has_tag("counted") and e.get("by") == "ruby" for e in out)


def test_exception_tags_the_event_keeps_earlier_changes_and_skips_common_options() -> None:
    config = """ruby { code => "event.set('before', true); raise 'boom' if event.get('bad'); event.set('after', 1)"
                      add_tag => ["ok"] }"""
    bad, good = run_filters(config, [{"bad": True}, {"bad": False}])
    assert bad.has_tag("_rubyexception") and not bad.has_tag("ok") and bad.get("before") is True
    assert bad.get("after") is None
    assert good.has_tag("ok") and good.get("after") == 1 and not good.has_tag("_rubyexception")


def test_tag_on_exception_and_tag_with_exception_message() -> None:
    config = """ruby { code => "event.get('missing').upcase" tag_on_exception => "_rubyfail"
                      tag_with_exception_message => true }"""
    [event] = run_filters(config, ["x"])
    assert event.has_tag("_rubyfail")
    assert any(t.startswith("_rubyfail: undefined method `upcase' for nil") for t in event.tags)


def test_exception_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        run_filters('ruby { id => "r1" code => "raise ArgumentError, \'nope\'" }', ["x"])
    assert "ArgumentError: nope" in caplog.text and "r1" in caplog.text


def test_code_and_path_are_mutually_exclusive(tmp_path: Path) -> None:
    with pytest.raises(ConfigErrors, match='give either "code"'):
        build_plugin("filter", "ruby { }")
    (tmp_path / "s.rb").write_text("def filter(event) [event] end")
    with pytest.raises(ConfigErrors, match='give either "code"'):
        build_plugin("filter", f'ruby {{ code => "1" path => "{tmp_path / "s.rb"}" }}')


def test_syntax_error_in_code_is_a_config_error() -> None:
    with pytest.raises(ConfigErrors, match="the Ruby code failed to load: SyntaxError"):
        build_plugin("filter", 'ruby { code => "event.set(\'a\', " }')


def test_exception_in_init_is_a_config_error() -> None:
    with pytest.raises(ConfigErrors, match="failed to load: RuntimeError: no db"):
        build_plugin("filter", """ruby { init => "raise 'no db'" code => "1" }""")


def test_missing_script_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigErrors, match="does not exist"):
        build_plugin("filter", f'ruby {{ path => "{tmp_path / "nope.rb"}" }}')


def test_missing_interpreter_is_a_config_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ConfigErrors, match="needs a Ruby interpreter.*apt-get install ruby"):
        build_plugin("filter", 'ruby { code => "1" }')


def test_pipeline_check_reports_bad_ruby_code(tmp_path: Path) -> None:
    import subprocess
    import sys

    config = tmp_path / "bad.conf"
    config.write_text('input { stdin {} } filter { ruby { code => "def (" } } output { stdout {} }')
    result = subprocess.run([sys.executable, "-m", "pipeline", "check", "-f", str(config)], capture_output=True,
                            text=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})
    assert result.returncode != 0
    assert "SyntaxError" in result.stdout + result.stderr


# -- script files --------------------------------------------------------------------------------------
def test_script_returning_new_events_drops_the_original_unless_returned(tmp_path: Path) -> None:
    script = tmp_path / "split.rb"
    script.write_text("""
def register(params)
  @field = params["field"]
end
def filter(event)
  event.get(@field).split(",").map { |part| e = event.clone; e.set(@field, part); e }
end
test "splits" do
  in_event { { "message" => "a,b" } }
  expect("two") { |events| events.size == 2 }
end
""")
    out = run_filters(f'ruby {{ path => "{script}" script_params => {{ "field" => "message" }} }}', ["a,b,c"])
    assert [e.get("message") for e in out] == ["a", "b", "c"]


def test_script_returning_nothing_drops_the_event_and_bad_returns_tag(tmp_path: Path) -> None:
    drop = tmp_path / "drop.rb"
    drop.write_text("def filter(event)\n  []\nend\n")
    assert run_filters(f'ruby {{ path => "{drop}" }}', ["x"]) == []
    bad = tmp_path / "bad.rb"
    bad.write_text("def filter(event)\n  'oops'\nend\n")
    [event] = run_filters(f'ruby {{ path => "{bad}" }}', ["x"])
    assert event.has_tag("_rubyexception")


def test_script_test_blocks_are_skipped_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    script = tmp_path / "t.rb"
    script.write_text('def filter(event) [event] end\ntest "one" do\n  raise "never run"\nend\n')
    with caplog.at_level(logging.WARNING):
        [event] = run_filters(f'ruby {{ path => "{script}" }}', ["x"])
    assert "1 inline test block(s) are not run" in caplog.text and not event.tags


# -- Event API ------------------------------------------------------------------------------------------
def test_new_event_block_emits_events_after_their_parent() -> None:
    config = """ruby { code => "new_event_block.call(event.clone); new_event_block.call(LogStash::Event.new('message' => 'extra'))" }"""
    out = run_filters(config, ["a", "b"])
    assert [e.get("message") for e in out] == ["a", "a", "extra", "b", "b", "extra"]


def test_get_returns_a_copy_and_set_creates_nested_fields() -> None:
    code = """tags = event.get('tags'); tags << 'not-kept'
              event.set('[a][b][c]', 1); event.set('[list][1]', 'y')
              event.set('sym', :value); event.set('when', Time.at(0))
              event.set('inc', event.include?('[a][b]')); event.set('gone', event.remove('[drop][me]'))"""
    [event] = run_filters(f'ruby {{ code => "{code}" }}', [{"tags": ["t"], "list": ["x", "z"], "drop": {"me": 5}}])
    assert event.get("tags") == ["t"]
    assert event.get("[a][b][c]") == 1 and event.get("list") == ["x", "y"] and event.get("sym") == "value"
    assert event.get("when") == "1970-01-01T00:00:00.000Z" and event.get("inc") is True and event.get("gone") == 5
    assert event.get("drop") == {}


def test_tag_metadata_sprintf_and_to_hash() -> None:
    code = """event.tag('seen'); event.tag('seen')
              event.set('[@metadata][index]', event.sprintf('logs-%{[app][name]}-%{+YYYY.MM.dd}'))
              event.set('has_meta', event.to_hash.key?('@metadata'))
              event.set('meta_kept', event.to_hash_with_metadata['@metadata']['index'])"""
    [event] = run_filters(f'ruby {{ code => "{code}" }}',
                          [{"app": {"name": "web"}, "@timestamp": "2024-02-03T00:00:00Z"}])
    assert event.tags == ["seen"]
    assert event.get("[@metadata][index]") == "logs-web-2024.02.03"
    assert event.get("has_meta") is False and event.get("meta_kept") == "logs-web-2024.02.03"


def test_timestamps_behave_like_logstash_timestamps() -> None:
    code = """ts = event.get('@timestamp')
              event.set('secs', ts.to_i); event.set('iso', event.timestamp.to_iso8601)
              event.set('year', ts.time.year); event.set('age', (ts - LogStash::Timestamp.at(0)).to_i)
              event.set('[@metadata][new]', LogStash::Timestamp.new(Time.at(86400)))
              event.set('@timestamp', LogStash::Timestamp.at(ts.to_i + 60))"""
    [event] = run_filters(f'ruby {{ code => "{code}" }}', [{"@timestamp": "2024-02-03T04:05:06.789Z"}])
    assert event.get("secs") == 1706933106 and event.get("iso") == "2024-02-03T04:05:06.789Z"
    assert event.get("year") == 2024 and event.get("age") == 1706933106
    assert event.get("[@metadata][new]") == "1970-01-02T00:00:00.000Z"
    assert event.timestamp == Timestamp.parse("2024-02-03T04:06:06Z")


def test_setting_timestamp_to_garbage_tags_the_event() -> None:
    [event] = run_filters("""ruby { code => "event.set('@timestamp', 'not a time')" }""", ["x"])
    assert event.has_tag("_rubyexception") and isinstance(event.timestamp, Timestamp)


def test_logger_and_puts_go_to_our_log(caplog: pytest.LogCaptureFixture) -> None:
    config = """ruby { code => "@logger.warn('slow event', :ms => 5); logger.info('hello'); puts 'printed'" }"""
    with caplog.at_level(logging.INFO):
        run_filters(config, ["x"])
    assert 'slow event {:ms=>5}' in caplog.text and "hello" in caplog.text
    build_plugin("filter", """ruby { code => "1" }""").close()


# -- the worker process ---------------------------------------------------------------------------------
def test_dead_ruby_process_is_restarted_and_the_batch_retried(tmp_path: Path) -> None:
    marker = tmp_path / "died-once"
    code = f"""if !File.exist?('{marker}') then File.write('{marker}', 'x'); Process.kill('KILL', Process.pid) end
               event.set('done', true)"""
    out = run_filters(f'ruby {{ code => "{code}" }}', ["a", "b"])
    assert [e.get("done") for e in out] == [True, True] and marker.exists()


def test_batch_that_kills_ruby_twice_is_tagged_and_the_next_batch_works(caplog: pytest.LogCaptureFixture) -> None:
    plugin = build_plugin("filter", """ruby { code => "exit!(3) if event.get('message') == 'die'; event.set('ok', 1)" }""")
    from pipeline.event import Event

    try:
        with caplog.at_level(logging.WARNING):
            first = plugin.filter_batch([Event({"message": "die"}), Event({"message": "fine"})])
        assert all(e.has_tag("_rubyexception") for e in first)
        assert "restarting it and retrying" in caplog.text
        [second] = plugin.filter_batch([Event({"message": "fine"})])
        assert second.get("ok") == 1
    finally:
        plugin.close()


def test_runs_in_a_whole_pipeline_with_several_workers() -> None:
    events = [{"message": f"m{i}"} for i in range(300)]
    config = """filter { ruby { code => "event.set('len', event.get('message').length)" } }
                output { null {} }"""
    out = run_pipeline(config, events, workers=2, batch_size=50)
    assert len(out) == 300 and all(e.get("len") == len(e.get("message")) for e in out)
