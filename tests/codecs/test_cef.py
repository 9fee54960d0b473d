"""cef codec: header fields, syslog prefix, extensions (full names, spaces, escapes, array keys), delimiter,
raw_data_field, _cefparsefailure; encoding (sprintf header, severity, fields, reverse_mapping). Records are from
the CEF specification and from public projects (find_string ids in brackets)."""

from __future__ import annotations

from pipeline.event import Event
from pipeline.testing import build_plugin, run_pipeline
from pipeline.timestamp import Timestamp

LEGACY = "cef { ecs_compatibility => disabled }"


def _decode(text: str, codec: str = LEGACY) -> list[Event]:
    plugin = build_plugin("codec", codec)
    return list(plugin.decode(text.encode())) + list(plugin.flush())


def test_trend_micro_apex_central_record_with_syslog_header() -> None:
    # public test data [29821353788]
    line = ("<133>Feb 14 2022 05:15:47 135.181.193.106 CEF:0|Trend Micro|Apex Central|2019|WB:7|7|3|"
            "deviceExternalId=38 rt=Nov 15 2017 08:43:57 GMT+00:00 app=17 cntLabel=AggregatedCount cnt=1 dpt=80 "
            "act=1 src=10.1.128.46 cs1Label=SLF_PolicyName cs1=External User Policy")
    [event] = _decode(line)
    assert event.get("syslog") == "<133>Feb 14 2022 05:15:47 135.181.193.106"
    assert (event.get("cefVersion"), event.get("deviceVendor"), event.get("deviceProduct"),
            event.get("deviceVersion"), event.get("deviceEventClassId"), event.get("name"),
            event.get("severity")) == ("0", "Trend Micro", "Apex Central", "2019", "WB:7", "7", "3")
    assert event.get("deviceReceiptTime") == "Nov 15 2017 08:43:57 GMT+00:00"
    assert event.get("applicationProtocol") == "17" and event.get("baseEventCount") == "1"
    assert event.get("destinationPort") == "80" and event.get("sourceAddress") == "10.1.128.46"
    assert event.get("deviceCustomString1") == "External User Policy" and event.get("cntLabel") == "AggregatedCount"


def test_deep_security_sign_in_with_ipv6_in_the_message() -> None:
    # public test data [23695133437]
    line = ("<111>Feb 14 05:15:47 host1 CEF:0|Trend Micro|Deep Security Manager|0.0.0|600|User Signed In|3|"
            "src=10.52.116.160 suser=admin target=admin msg=User signed in from 2001:db8::5")
    [event] = _decode(line)
    assert event.get("sourceUserName") == "admin" and event.get("target") == "admin"
    assert event.get("message") == "User signed in from 2001:db8::5" and event.get("name") == "User Signed In"


def test_specification_escapes_in_header_and_extensions() -> None:
    pipe, equal = _decode(r"CEF:0|security|threatmanager|1.0|100|detected a \| in message|10|src=10.0.0.1 "
                          r"act=blocked a | dst=1.1.1.1") + _decode(
        r"CEF:0|security|threatmanager|1.0|100|detected an equal sign in message|10|src=10.0.0.1 "
        r"act=blocked a \= dst=1.1.1.1")
    assert pipe.get("name") == "detected a | in message" and pipe.get("deviceAction") == "blocked a |"
    assert equal.get("deviceAction") == "blocked a =" and equal.get("destinationAddress") == "1.1.1.1"


def test_odd_keys_from_arcsight_connectors() -> None:
    [event] = _decode("CEF:0|V|P|1|sig|n|5|ad.field=one two ad.arr[0]=x foo[1]=y cs2=")
    assert event.get("[ad.field]") == "one two" and event.get("[ad.arr][0]") == "x"
    assert event.get("foo") == {"1": "y"} and event.get("deviceCustomString2") == ""  # new containers are hashes


def test_delimiter_splits_a_stream_and_raw_data_field() -> None:
    plugin = build_plugin("codec", r'cef { delimiter => "\r\n" raw_data_field => "raw" ecs_compatibility => disabled }')
    first = list(plugin.decode(b"CEF:0|a|b|1|s|n|1|src=1.1.1.1\r\nCEF:0|a|b|1|s|n|2|sr"))
    second = list(plugin.decode(b"c=2.2.2.2\r\n")) + list(plugin.flush())
    assert [e.get("sourceAddress") for e in first + second] == ["1.1.1.1", "2.2.2.2"]
    assert first[0].get("raw") == "CEF:0|a|b|1|s|n|1|src=1.1.1.1"


def test_records_without_a_cef_header_are_tagged() -> None:
    [event] = _decode("just a plain log line")
    assert event.tags == ["_cefparsefailure"] and event.get("message") == "just a plain log line"


def test_encode_header_severity_and_fields() -> None:
    codec = build_plugin("codec", """cef { vendor => "%{vendor}" product => "" name => "%{[rule][name]}"
                                          severity => "%{sev}" fields => ["sourceAddress", "msg", "tags", "@timestamp"]
                                          ecs_compatibility => disabled }""")
    event = Event({"vendor": "Acme|Corp", "rule": {"name": "a\nb"}, "sev": "12", "sourceAddress": "10.0.0.1",
                   "msg": "x=y\\z", "tags": ["t1"], "@timestamp": "2024-01-02T03:04:05Z"})
    assert codec.encode(event).decode() == (
        "CEF:0|Acme\\|Corp|Logstash|1.0|Logstash|a b|6|sourceAddress=10.0.0.1 msg=x\\=y\\\\z "
        'tags=["t1"] timestamp=2024-01-02T03:04:05.000Z')
    short = build_plugin("codec", 'cef { fields => ["sourceAddress"] reverse_mapping => true severity => "3.0" '
                                  'ecs_compatibility => disabled }')
    assert short.encode(Event({"sourceAddress": "1.2.3.4"})).decode().endswith("|3|src=1.2.3.4")


def test_round_trip_through_a_pipeline() -> None:
    codec = build_plugin("codec", 'cef { fields => ["sourceAddress", "deviceAction"] reverse_mapping => true '
                                  'ecs_compatibility => disabled }')
    line = codec.encode(Event({"sourceAddress": "10.0.0.9", "deviceAction": "blocked a = b"})).decode()
    [event] = _decode(line)
    assert event.get("sourceAddress") == "10.0.0.9" and event.get("deviceAction") == "blocked a = b"
    out = run_pipeline('filter { if [deviceAction] { mutate { add_tag => ["cef"] } } }', [event])
    assert out[0].has_tag("cef")


APEX = ("<133>Feb 14 2022 05:15:47 135.181.193.106 CEF:0|Trend Micro|Apex Central|2019|WB:7|7|3|"
        "deviceExternalId=38 rt=Nov 15 2017 08:43:57 GMT+00:00 app=17 cnt=1 dpt=80 act=1 src=10.1.128.46 "
        "suser=bob cs1Label=SLF_PolicyName cs1=External User Policy end=1510735437000")


def test_ecs_fields_by_default_as_logstash_8() -> None:
    [event] = _decode(APEX, "cef")
    assert event.get("[cef][version]") == "0" and event.get("[observer][vendor]") == "Trend Micro"
    assert event.get("[observer][product]") == "Apex Central" and event.get("[observer][version]") == "2019"
    assert event.get("[event][code]") == "WB:7" and event.get("[cef][name]") == "7"
    assert event.get("[event][severity]") == "3"
    assert event.get("[log][syslog][header]") == "<133>Feb 14 2022 05:15:47 135.181.193.106"
    assert event.get("[source][ip]") == "10.1.128.46" and event.get("[destination][port]") == "80"
    assert event.get("[source][user][name]") == "bob" and event.get("[network][protocol]") == "17"
    assert event.get("[cef][device_custom_string_1]") == {"label": "SLF_PolicyName", "value": "External User Policy"}
    assert event.get("[observer][name]") == "38" and event.get("[event][action]") == "1"
    assert event.timestamp == Timestamp.parse("2017-11-15T08:43:57Z")  # rt: the device receipt time
    assert event.get("[event][end]") == Timestamp(1510735437000)


def test_ecs_device_host_and_time_zones() -> None:
    line = "CEF:0|V|P|1|s|n|5|dvchost=fw1 dtz=Europe/Paris rt=Mar 01 2024 10:00:00 start=Mar 01 2024 09:00:00 +0000"
    [event] = _decode(line, 'cef { device => "host" }')
    assert event.get("[host][hostname]") == "fw1" and event.get("[event][timezone]") == "Europe/Paris"
    assert event.timestamp == Timestamp.parse("2024-03-01T09:00:00Z")  # 10:00 in Paris
    assert event.get("[event][start]") == Timestamp.parse("2024-03-01T09:00:00Z")


def test_ecs_encode_names_fields_by_their_cef_key() -> None:
    codec = build_plugin("codec", 'cef { fields => ["[source][ip]", "[event][action]"] reverse_mapping => true }')
    line = codec.encode(Event({"source": {"ip": "10.0.0.9"}, "event": {"action": "blocked"}})).decode()
    assert line.endswith("|6|src=10.0.0.9 act=blocked")
    [event] = _decode(line, "cef")
    assert event.get("[source][ip]") == "10.0.0.9" and event.get("[event][action]") == "blocked"


def test_locale_reads_month_abbreviations_of_that_language() -> None:
    line = "CEF:0|V|P|1|s|n|5|rt=janv. 05 2024 10:00:00 +0000 start=déc. 24 2023 08:30:00 +0000 end=mai 02 2024 00:00:00 +0000"
    [event] = _decode(line, 'cef { locale => "fr_FR" }')
    assert event.timestamp == Timestamp.parse("2024-01-05T10:00:00Z")
    assert event.get("[event][start]") == Timestamp.parse("2023-12-24T08:30:00Z")
    assert event.get("[event][end]") == Timestamp.parse("2024-05-02T00:00:00Z")
    [english] = _decode("CEF:0|V|P|1|s|n|5|rt=Jan 05 2024 10:00:00 +0000", 'cef { locale => "de-DE" }')
    assert english.timestamp == Timestamp.parse("2024-01-05T10:00:00Z")  # English still read


def test_an_unknown_locale_falls_back_to_english_month_names() -> None:
    # As Java's Locale.forLanguageTag (Logstash): a locale without data here gets the root locale's names.
    codec = build_plugin("codec", 'cef { locale => "xx_YY" }')
    assert codec._months is None
