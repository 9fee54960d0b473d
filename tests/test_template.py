import pytest

from pipeline.errors import TemplateError
from pipeline.event import Event
from pipeline.template import Template


@pytest.fixture
def event():
    return Event({"@timestamp": "2026-11-21T23:30:05.123Z", "message": "hi", "a": {"b": "deep"},
                  "list": [1, "two"], "map": {"x": 1}, "n": 5, "flag": True})


@pytest.mark.parametrize("text,expected", [
    ("%{message}", "hi"),
    ("%{[a][b]}", "deep"),
    ("%{list}", "1,two"),
    ('%{map}', '{"x":1}'),
    ("%{n}", "5"),
    ("%{flag}", "true"),
    ("%{missing}", "%{missing}"),
    ("%{[a][missing]}-x", "%{[a][missing]}-x"),
    ("logs-%{+YYYY.MM.dd}", "logs-2026.11.21"),
    ("%{+%s}", "1795303805"),
    ("%{{yyyy-MM-dd HH:mm:ss}}", "2026-11-21 23:30:05"),
    ("%{+HH:mm:ss.SSS}", "23:30:05.123"),
    ("no refs at all", "no refs at all"),
    ("%{message} and %{[a][b]}", "hi and deep"),
])
def test_render(event, text, expected):
    assert Template(text).render(event) == expected


def test_index_timezone_moves_the_daily_rollover(event):
    assert Template("logs-%{+YYYY.MM.dd}").render(event) == "logs-2026.11.21"
    assert Template("logs-%{+YYYY.MM.dd}", "Asia/Shanghai").render(event) == "logs-2026.11.22"


def test_unknown_timezone_is_a_template_error():
    with pytest.raises(TemplateError):
        Template("x", "Mars/Olympus")


def test_malformed_reference_is_a_template_error():
    with pytest.raises(TemplateError):
        Template("%{[a]b}")


def test_constant_templates_are_detected():
    assert Template("plain").is_constant
    assert not Template("%{a}").is_constant


def test_render_value_keeps_the_type_of_a_single_reference(event):
    assert Template("%{n}").render_value(event) == 5
    assert Template("%{list}").render_value(event) == [1, "two"]
    assert Template("n=%{n}").render_value(event) == "n=5"


def test_cached_daily_names_change_exactly_at_local_midnight():
    shanghai = Template("logs-%{+YYYY.MM.dd}", "Asia/Shanghai")
    kolkata = Template("logs-%{+YYYY.MM.dd}", "Asia/Kolkata")  # UTC+05:30
    assert shanghai.render(Event({"@timestamp": "2026-11-21T15:59:59.999Z"})) == "logs-2026.11.21"
    assert shanghai.render(Event({"@timestamp": "2026-11-21T16:00:00.000Z"})) == "logs-2026.11.22"
    assert kolkata.render(Event({"@timestamp": "2026-11-21T18:29:59.999Z"})) == "logs-2026.11.21"
    assert kolkata.render(Event({"@timestamp": "2026-11-21T18:30:00.000Z"})) == "logs-2026.11.22"
    hourly = Template("%{+YYYY.MM.dd.HH}")
    assert hourly.render(Event({"@timestamp": "2026-11-21T10:59:59.999Z"})) == "2026.11.21.10"
    assert hourly.render(Event({"@timestamp": "2026-11-21T11:00:00.000Z"})) == "2026.11.21.11"


def test_an_empty_reference_stays_as_written_as_in_logstash():
    from pipeline.event import Event
    from pipeline.template import Template

    assert Template.compile("a%{}b").render(Event({"message": "x"})) == "a%{}b"


@pytest.mark.parametrize("text,tz", [
    ("logs-%{+YYYY.MM.dd}", "UTC"),
    ("logs-%{+YYYY.MM.dd}", "America/New_York"),  # the walk below crosses a DST change
    ("logs-%{+YYYY.MM.dd}", "Asia/Kathmandu"),  # a +05:45 offset: days start at quarter hours in UTC
    ("logs-%{+YYYY.MM.dd.HH}-%{{yyyy}}", "Europe/Paris"),
    ("%{+HH:mm:ss.SSS}", "UTC"),  # milliseconds: no shared bucket
    ("%{+%s}", "UTC"),
    ("logs-%{[service][name]}-%{+YYYY.MM.dd}", "UTC"),
    ("constant", "UTC"),
])
def test_render_all_gives_what_render_gives_for_each_event(text, tz):
    from pipeline.timestamp import Timestamp

    start = 1793570400000  # 2026-11-01T00:00:00Z, hours before New York leaves daylight saving time
    events = []
    for step in range(0, 3 * 86_400_000, 7 * 60_000 + 1_234):  # every ~7 minutes for three days
        events.append(Event({"@timestamp": Timestamp(start + step), "service": {"name": f"s{step % 3}"}}))
    events.insert(5, Event({"message": "no timestamp"}))
    events[7].data["@timestamp"] = "set by hand"  # bypassing Event: rendered as render() does
    template = Template(text, tz)
    expected = [template.render(event) for event in events]
    assert template.render_all(events) == expected
    assert len(set(expected)) > 1 or text == "constant"


@pytest.mark.parametrize("stamp", ["set by hand", None])
def test_epoch_seconds_of_an_event_without_a_usable_timestamp_keep_the_reference(stamp):
    # as the other date parts do: the batch is not failed by one event whose @timestamp was replaced
    event = Event({"message": "x"})
    if stamp is None:
        del event.data["@timestamp"]
    else:
        event.data["@timestamp"] = stamp
    assert Template.compile("logs-%{+%s}").render(event) == "logs-%{+%s}"
    assert Template.compile("logs-%{+YYYY}").render(event) == "logs-%{+YYYY}"
