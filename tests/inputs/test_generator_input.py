"""The generator input, through the real runtime."""

from pipeline.testing import run_pipeline


def test_generator_emits_count_rounds_with_sequence_numbers():
    events = run_pipeline('input { generator { count => 5 message => "hi" type => "gen" tags => ["t"] '
                          'add_field => { "from" => "%{type}" } } }')
    assert sorted(e.get("sequence") for e in events) == [0, 1, 2, 3, 4]
    assert all(e.get("message") == "hi" and e.get("type") == "gen" and e.tags == ["t"] for e in events)
    assert all(e.get("from") == "gen" for e in events)


def test_generator_decodes_lines_with_its_codec():
    events = run_pipeline('input { generator { count => 1 lines => [\'{"a": 1}\', \'{"a": 2}\'] codec => json } }')
    assert sorted(e.get("a") for e in events) == [1, 2]
