"""The generator input, through the real runtime."""

from support.push_sizes import run_into_small_queue

from pipeline.testing import build_plugin, run_pipeline


def test_generator_emits_count_rounds_with_sequence_numbers():
    events = run_pipeline('input { generator { count => 5 message => "hi" type => "gen" tags => ["t"] '
                          'add_field => { "from" => "%{type}" } } }')
    assert sorted(e.get("sequence") for e in events) == [0, 1, 2, 3, 4]
    assert all(e.get("message") == "hi" and e.get("type") == "gen" and e.tags == ["t"] for e in events)
    assert all(e.get("from") == "gen" for e in events)


def test_generator_decodes_lines_with_its_codec():
    events = run_pipeline('input { generator { count => 1 lines => [\'{"a": 1}\', \'{"a": 2}\'] codec => json } }')
    assert sorted(e.get("a") for e in events) == [1, 2]


def test_generator_lines_are_whole_for_line_delimited_codecs():
    # Each line is one event: before, json_lines held every line back waiting for a newline (no event).
    events = run_pipeline('input { generator { count => 2 lines => [\'{"a": 1}\', \'{"a": 2}\'] '
                          'codec => json_lines } }')
    assert sorted(e.get("a") for e in events) == [1, 1, 2, 2]


def test_pushes_stay_within_the_queues_push_limit_and_count_stays_exact():
    plugin = build_plugin("input", 'generator { count => 15 lines => ["a", "b", "c"] }')
    sizes, events = run_into_small_queue(plugin, capacity=20)  # pushes of at most 10; rounds of 3 lines
    assert sizes and max(sizes) <= 10 and sum(sizes) == 45
    assert [e.get("sequence") for e in events] == list(range(45))
    assert [e.get("message") for e in events[:4]] == ["a", "b", "c", "a"]


def test_add_field_host_wins_and_the_sequence_wins_over_add_field():
    # Logstash's generator: decorate(event); host set unless present; sequence set over anything
    # (logstash-input-generator generator.rb, decorate_and_set_fields). We decorated last, so both became arrays.
    [event] = run_pipeline('input { generator { count => 1 message => "hi" ecs_compatibility => disabled '
                           'add_field => { "host" => "x" "sequence" => "s" } } }')
    assert event.get("host") == "x" and event.get("sequence") == 0
    [ecs] = run_pipeline('input { generator { count => 1 add_field => { "[host][name]" => "n" } } }')
    assert ecs.get("[host][name]") == "n"
    [ip_only] = run_pipeline('input { generator { count => 1 add_field => { "[host][ip]" => "i" } } }')
    assert ip_only.get("[host][ip]") == "i" and ip_only.get("[host][name]")
