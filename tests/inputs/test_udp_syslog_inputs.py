"""udp and syslog inputs over real sockets; the syslog parser on real and RFC example lines."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.errors import ConfigErrors
from pipeline.inputs import _syslog
from pipeline.plugin import build_from_dict


def udp_send(port: int, *datagrams: bytes) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for datagram in datagrams:
            sock.sendto(datagram, ("127.0.0.1", port))


def wait_bound(running) -> int:
    running.until(lambda: running.plugin.bound_port is not None, what="listening")
    return running.plugin.bound_port


def tcp_send(port: int, data: bytes) -> None:
    deadline = time.monotonic() + 30  # the input's thread binds: a loaded machine may take a while
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(data)
                return
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def record_push_sizes(running) -> list[int]:
    """The size of each push the running input makes from now on."""
    sizes: list[int] = []
    put = running.queue.put

    async def recording(events):  # type: ignore[no-untyped-def]
        sizes.append(len(events))
        await put(events)

    running.queue.put = recording
    return sizes


# -- udp ----------------------------------------------------------------------
def test_udp_one_event_per_datagram_with_source_ip(free_port, start_input):
    running = start_input("udp", {"host": "127.0.0.1", "port": free_port})
    wait_bound(running)
    udp_send(free_port, b"hello", b"multi\nline datagram")
    events = running.collect(2)
    assert sorted(e.get("message") for e in events) == ["hello", "multi\nline datagram"]
    assert events[0].get("[host][ip]") == "127.0.0.1"


def test_udp_json_codec_and_legacy_host(free_port, start_input):
    running = start_input("udp", {"host": "127.0.0.1", "port": free_port, "codec": "json",
                                  "ecs_compatibility": "disabled"})
    wait_bound(running)
    udp_send(free_port, b'{"a": 1}')
    event = running.collect(1)[0]
    assert event.get("a") == 1 and event.get("host") == "127.0.0.1"


def test_udp_add_field_of_the_source_field_wins_over_the_sender_address(start_input):
    # Logstash's udp decorates first, then sets the address only where the field is unset
    # (logstash-input-udp udp.rb push_decoded_event); we set it first, so add_field made an array.
    running = start_input('udp { host => "127.0.0.1" port => 0 ecs_compatibility => disabled '
                          'add_field => { "host" => "x" } tags => ["t"] }')
    ecs = start_input('udp { host => "127.0.0.1" port => 0 add_field => { "[host][ip]" => "y" } }')
    udp_send(wait_bound(running), b"legacy")
    udp_send(wait_bound(ecs), b"ecs")
    [legacy] = running.collect(1)
    assert legacy.get("host") == "x" and legacy.get("tags") == ["t"]
    assert ecs.collect(1)[0].get("[host][ip]") == "y"


def test_udp_buffer_size_cuts_long_datagrams(free_port, start_input):
    running = start_input("udp", {"host": "127.0.0.1", "port": free_port, "buffer_size": 10})
    wait_bound(running)
    udp_send(free_port, b"0123456789abcdef")
    assert running.collect(1)[0].get("message") == "0123456789"


def test_udp_a_datagram_of_many_lines_is_pushed_within_the_queues_push_limit(free_port, start_input):
    # One push of a whole datagram's lines, more than half the queue, fitted only an empty queue.
    running = start_input("udp", {"host": "127.0.0.1", "port": free_port, "codec": "line"},
                          capacity=50)  # pushes of 25 at most
    sizes = record_push_sizes(running)
    wait_bound(running)
    udp_send(free_port, "".join(f"line {n}\n" for n in range(60)).encode())
    events = running.collect(60)
    assert [e.get("message") for e in events] == [f"line {n}" for n in range(60)]
    assert sizes == [20, 20, 20]  # even pushes, no small tail


def test_udp_full_queue_drops_and_counts(free_port, start_input):
    # A pipeline queue of 1 that nobody drains and an input queue of 2: the rest is dropped, counted.
    running = start_input("udp", {"host": "127.0.0.1", "port": free_port, "queue_size": 2, "workers": 1},
                          capacity=1)
    wait_bound(running)
    udp_send(free_port, *[f"m{i}".encode() for i in range(50)])
    running.until(lambda: running.plugin.counters["dropped_datagrams"] > 0, what="drops counted")
    assert running.plugin.receiver.dropped == running.plugin.counters["dropped_datagrams"]


# -- syslog parser ------------------------------------------------------------
def test_parse_rfc3164_examples():
    msg = _syslog.parse("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
                        UTC, now=datetime(2026, 11, 21, tzinfo=UTC))
    assert (msg.priority, msg.facility, msg.severity) == (34, 4, 2)
    assert (msg.hostname, msg.program, msg.message) == ("mymachine", "su", "'su root' failed for lonvick on /dev/pts/8")
    assert msg.timestamp == datetime(2026, 10, 11, 22, 14, 15, tzinfo=UTC)


def test_parse_rfc3164_year_rollover_and_timezone():
    paris = ZoneInfo("Europe/Paris")
    msg = _syslog.parse("<13>Dec 31 23:59:59 host app[42]: bye", paris, now=datetime(2027, 1, 1, 0, 5, tzinfo=paris))
    assert msg.timestamp == datetime(2026, 12, 31, 23, 59, 59, tzinfo=paris)
    assert msg.pid == "42"


def test_parse_rfc5424_with_structured_data():
    line = ('<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 '
            '[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][x@1 q="a\\"b"] '
            '\ufeffAn application event')
    msg = _syslog.parse(line, UTC)
    assert (msg.rfc, msg.version, msg.msgid, msg.program, msg.pid) == (5424, 1, "ID47", "evntslog", None)
    assert msg.structured_data == {"exampleSDID@32473": {"iut": "3", "eventSource": "Application",
                                                         "eventID": "1011"}, "x@1": {"q": 'a"b'}}
    assert msg.message == "An application event"
    assert msg.timestamp == datetime(2003, 10, 11, 22, 14, 15, 3000, tzinfo=UTC)


@pytest.mark.parametrize("line", ["no priority at all", "<999>Oct 11 22:14:15 a b: c", "<13>not a date x"])
def test_parse_failures(line):
    assert _syslog.parse(line, UTC) is None


def test_real_auth_log_lines_all_parse(shared_data):
    lines = (shared_data / "elastic-examples-extra" / "auth.log").read_text().splitlines()
    parsed = [_syslog.parse("<38>" + line, UTC) for line in lines]
    assert all(p is not None for p in parsed)
    sshd = [p for p in parsed if p.program == "sshd"]
    assert sshd and all(p.pid and p.pid.isdigit() for p in sshd)


# -- syslog input -------------------------------------------------------------
def test_syslog_over_udp_and_tcp_with_ecs_fields(free_port, start_input):
    running = start_input("syslog", {"host": "127.0.0.1", "port": free_port, "timezone": "UTC"})
    wait_bound(running)
    udp_send(free_port, b"<34>Oct 11 22:14:15 mymachine su: udp message")
    tcp_send(free_port, b"<165>1 2003-10-11T22:14:15.003Z host1 app 77 ID1 - tcp one\n"
                        b"<13>Oct 11 22:14:16 host2 cron[5]: tcp two\n")
    events = {e.get("message"): e for e in running.collect(3)}
    udp = events["udp message"]
    assert udp.get("[log][syslog][facility][name]") == "security/authorization"
    assert udp.get("[log][syslog][severity][name]") == "Critical"
    assert udp.get("[host][hostname]") == "mymachine" and udp.get("[host][ip]") == "127.0.0.1"
    assert udp.get("[process][name]") == "su"
    assert udp.timestamp.iso().endswith("-10-11T22:14:15.000Z")
    one = events["tcp one"]
    assert one.get("[process][pid]") == 77 and one.get("[log][syslog][msgid]") == "ID1"
    assert one.timestamp.iso() == "2003-10-11T22:14:15.003Z"
    assert events["tcp two"].get("[log][syslog][priority]") == 13


def test_syslog_decorates_before_the_address_and_the_parsing(start_input):
    # Logstash's syslog: decorate(event); event.set(@host_key, ip); syslog_relay(event) (logstash-input-syslog
    # syslog.rb, decode). We decorated last, so add_field host made [ip, "x"] and user tags came after the
    # parse failure tag.
    legacy = start_input('syslog { host => "127.0.0.1" port => 0 ecs_compatibility => disabled '
                         'add_field => { "host" => "x" "prog" => "%{program}" } tags => ["t"] }')
    ecs = start_input('syslog { host => "127.0.0.1" port => 0 add_field => { "[host][name]" => "n" } }')
    udp_send(wait_bound(legacy), b"<34>Oct 11 22:14:15 mymachine su: hi", b"not syslog")
    udp_send(wait_bound(ecs), b"<34>Oct 11 22:14:15 mymachine su: hi")
    parsed, failed = sorted(legacy.collect(2), key=lambda e: e.get("message"))
    assert parsed.get("host") == "127.0.0.1" and parsed.get("program") == "su"
    assert parsed.get("prog") == "%{program}"  # sprintf'd before the parse, as in Logstash
    assert failed.get("tags") == ["t", "_grokparsefailure_sysloginput"]
    [event] = ecs.collect(1)
    assert event.get("host") == {"name": "n", "ip": "127.0.0.1", "hostname": "mymachine"}


def test_syslog_a_datagram_of_many_lines_is_pushed_within_the_queues_push_limit(free_port, start_input):
    running = start_input("syslog", {"host": "127.0.0.1", "port": free_port}, capacity=50)  # pushes of 25
    sizes = record_push_sizes(running)
    wait_bound(running)
    udp_send(free_port, "".join(f"<13>Dec  3 12:00:00 host app: line {n}\n" for n in range(60)).encode())
    events = running.collect(60)
    assert [e.get("message") for e in events] == [f"line {n}" for n in range(60)]
    assert max(sizes) <= 25


def test_syslog_with_its_udp_port_taken_fails_and_frees_its_tcp_port(free_port, start_input):
    # A retried start (after a reload) must be able to bind TCP again once UDP is free: the failed start
    # used to keep its TCP listener open, so every retry failed on our own socket.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind(("127.0.0.1", free_port))
        running = start_input("syslog", {"host": "127.0.0.1", "port": free_port})
        assert running.finished.wait(10)
        assert isinstance(running.error, OSError) and running.plugin.bound_port is None
        running.error = None
    with socket.socket() as tcp:
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind(("127.0.0.1", free_port))  # fails with "address in use" while the input still listens


def test_syslog_octet_counting_over_tcp(free_port, start_input):
    running = start_input("syslog", {"host": "127.0.0.1", "port": free_port})
    wait_bound(running)
    first = b"<13>1 - - - - - - line one\nstill one"
    second = b"<13>1 - - - - - - two"
    tcp_send(free_port, b"%d %s%d %s" % (len(first), first, len(second), second))
    messages = sorted(e.get("message") for e in running.collect(2))
    assert messages == ["line one\nstill one", "two"]


def test_syslog_parse_failure_gets_priority_13_and_tag(free_port, start_input):
    running = start_input("syslog", {"host": "127.0.0.1", "port": free_port, "ecs_compatibility": "disabled"})
    wait_bound(running)
    udp_send(free_port, b"just some text")
    event = running.collect(1)[0]
    assert event.has_tag("_grokparsefailure_sysloginput")
    assert (event.get("priority"), event.get("severity"), event.get("facility")) == (13, 5, 1)
    assert (event.get("severity_label"), event.get("facility_label")) == ("Notice", "user-level")
    assert event.get("message") == "just some text" and event.get("host") == "127.0.0.1"
    assert running.plugin.counters["parse_failures"] == 1


def test_syslog_rejects_unknown_timezone():
    with pytest.raises(ConfigErrors, match="time zone"):
        build_from_dict("input", "syslog", {"timezone": "Mars/Olympus"})


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_parse_never_raises_on_any_text(text):
    for candidate in (text, "<13>" + text, "<165>1 " + text):
        result = _syslog.parse(candidate, UTC)
        assert result is None or 0 <= result.priority <= 191


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=20))
def test_tcp_framing_never_raises_unexpectedly(chunks):
    import asyncio

    from pipeline.inputs.syslog import FramingError, frames

    async def collect():
        reader = asyncio.StreamReader()
        for chunk in chunks:
            reader.feed_data(chunk)
        reader.feed_eof()
        return [frame async for frame in frames(reader)]

    try:
        out = asyncio.run(collect())
    except FramingError:
        return
    assert all(isinstance(frame, bytes) and frame for frame in out)


def test_syslog_custom_grok_pattern(free_port, start_input):
    running = start_input(f'syslog {{ host => "127.0.0.1" port => {free_port} timezone => "UTC" '
                          'grok_pattern => "<%{POSINT:[log][syslog][priority]:int}>%{WORD:[device][model]} '
                          '%{TIMESTAMP_ISO8601:timestamp} %{GREEDYDATA:message}" }')
    wait_bound(running)
    udp_send(free_port, b"<134>FW9000 2026-03-01T10:00:00Z deny tcp 10.0.0.1 -> 10.0.0.2", b"<13>other format")
    events = {e.get("message"): e for e in running.collect(2)}
    firewall = events["deny tcp 10.0.0.1 -> 10.0.0.2"]
    assert firewall.get("[device][model]") == "FW9000"
    assert firewall.get("[log][syslog][facility][name]") == "local0"
    assert firewall.timestamp.iso() == "2026-03-01T10:00:00.000Z"
    assert events["<13>other format"].has_tag("_grokparsefailure_sysloginput")
