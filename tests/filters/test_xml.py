"""xml: source, target, store_xml, force_array, force_content, suppress_empty, xpath, namespaces,
remove_namespaces, parse_options; _xmlparsefailure; entity bombs refused. The stored structure is
compared with Ruby's own XmlSimple (what Logstash calls), run on the same documents."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from pipeline.errors import ConfigErrors
from pipeline.testing import build_plugin, run_filters

WINDOWS_EVENT = """<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider
 Name='Microsoft-Windows-Security-Auditing' Guid='{54849625-5478-4994-a5ba-3e3b0328c30d}'/><EventID>4624</EventID>
<Version>2</Version><Level>0</Level><Task>12544</Task><Keywords>0x8020000000000000</Keywords><TimeCreated
 SystemTime='2019-05-29T13:13:12.411712200Z'/><EventRecordID>34471</EventRecordID><Correlation/><Execution
 ProcessID='496' ThreadID='3164'/><Channel>Security</Channel><Computer>vagrant</Computer><Security/></System>
<EventData><Data Name='SubjectUserSid'>S-1-5-18</Data><Data Name='SubjectUserName'>VAGRANT$</Data><Data
 Name='LogonType'>5</Data><Data Name='IpAddress'>-</Data></EventData></Event>"""
SOAP = """<?xml version="1.0" encoding="UTF-8"?>
<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:m="http://www.example.org/stock">
  <soap:Header/>
  <soap:Body>
    <m:GetStockPriceResponse>
      <m:Price currency="USD">34.5</m:Price>
      <m:Note><![CDATA[<b>closing</b> & final]]></m:Note>
    </m:GetStockPriceResponse>
  </soap:Body>
</soap:Envelope>"""
MIXED = """<root a="1"><item name="x"><v>1</v></item><e/><t>hi</t><m b="2">txt</m>tail<w>  </w>
<a>1<b>2</b>3</a><content>c</content><x>&amp;&lt;<!-- c -->y</x></root>"""
PLAIN = "<root><t>hi</t><t>ho</t><e></e><n><deep><x>1</x></deep></n><s> spaced  text </s></root>"
DOCS = [WINDOWS_EVENT, SOAP, MIXED, PLAIN, "<root>just text</root>", "<root/>", '<root x="1"/>',
        "<r><a x='1'/><a>t</a><a/></r>"]

RUBY_XMLSIMPLE = """require 'xmlsimple'; require 'json'
STDIN.each_line { |l| doc, fa, fc, se = JSON.parse(l)
  o = {'ForceArray' => fa, 'ForceContent' => fc}; o['SuppressEmpty'] = true if se
  puts JSON.generate([XmlSimple.xml_in(doc, o)]) }"""


def _ruby_xmlsimple(cases: list[tuple[str, bool, bool, bool]]) -> list:
    ruby = shutil.which("ruby")
    if ruby is None:
        pytest.skip("Ruby is not installed (scripts/test.sh installs ruby and ruby-xml-simple)")
    result = subprocess.run([ruby, "-e", RUBY_XMLSIMPLE], input="\n".join(json.dumps(c) for c in cases) + "\n",
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return [json.loads(line)[0] for line in result.stdout.splitlines()]


@pytest.mark.parametrize(("force_array", "force_content", "suppress_empty"),
                         [(True, False, True), (False, False, True), (True, True, True), (True, False, False),
                          (False, True, False)])
def test_structure_matches_ruby_xmlsimple(force_array: bool, force_content: bool, suppress_empty: bool) -> None:
    expected = _ruby_xmlsimple([(doc, force_array, force_content, suppress_empty) for doc in DOCS])
    config = (f'xml {{ source => "message" target => "doc" force_array => {str(force_array).lower()} '
              f'force_content => {str(force_content).lower()} suppress_empty => {str(suppress_empty).lower()} }}')
    out = run_filters(config, DOCS)
    for doc, event, want in zip(DOCS, out, expected, strict=True):
        assert not event.tags, doc
        assert event.get("doc") == want, doc


def test_windows_event_fields_by_xpath_with_the_root_default_namespace() -> None:
    config = """xml { source => "message" store_xml => false
                      xpath => { "/xmlns:Event/xmlns:System/xmlns:EventID/text()" => "event_id"
                                 "//xmlns:Data[@Name='SubjectUserName']/text()" => "user"
                                 "//xmlns:TimeCreated/@SystemTime" => "created"
                                 "count(//xmlns:Data)" => "data_count" "name(/*)" => "root" }
                      add_tag => ["xml"] }"""
    [event] = run_filters(config, [WINDOWS_EVENT])
    assert event.get("event_id") == ["4624"] and event.get("user") == ["VAGRANT$"]
    assert event.get("created") == ["2019-05-29T13:13:12.411712200Z"]
    assert event.get("data_count") == ["4.0"] and event.get("root") == ["Event"] and event.tags == ["xml"]


def test_xpath_with_namespaces_remove_namespaces_and_elements_as_xml() -> None:
    with_ns = """xml { source => "message" store_xml => false namespaces => { "s" => "http://www.example.org/stock" }
                       xpath => { "//s:Price/text()" => "price" "//s:Price" => "price_xml" } }"""
    [event] = run_filters(with_ns, [SOAP])
    assert event.get("price") == ["34.5"]
    assert event.get("price_xml") == ['<m:Price currency="USD">34.5</m:Price>']
    stripped = """xml { source => "message" store_xml => false remove_namespaces => true
                        xpath => { "//Price/@currency" => "currency" "//Note/text()" => "note" } }"""
    [event] = run_filters(stripped, [SOAP])
    assert event.get("currency") == ["USD"] and event.get("note") == ["<b>closing</b> & final"]


def test_several_xpath_results_append_to_the_field() -> None:
    config = """xml { source => "message" store_xml => false xpath => { "//t/text()" => "ts" } }"""
    [event] = run_filters(config, [{"message": PLAIN, "ts": ["before"]}])
    assert event.get("ts") == ["before", "hi", "ho"]


def test_malformed_xml_is_tagged_and_the_event_kept() -> None:
    config = 'xml { source => "message" target => "doc" add_tag => ["ok"] }'
    out = run_filters(config, ["<a><b></a>", "<a>unclosed", "not xml at all", "<a/><b/>"])
    assert [e.tags for e in out] == [["_xmlparsefailure"]] * 4 and all(e.get("doc") is None for e in out)


def test_xpath_recovers_from_malformed_xml_unless_strict() -> None:
    lenient = """xml { source => "message" store_xml => false xpath => { "//b/text()" => "b" } }"""
    strict = """xml { source => "message" store_xml => false parse_options => "strict" xpath => { "//b/text()" => "b" } }"""
    [recovered] = run_filters(lenient, ["<a><b>1</b>"])
    [failed] = run_filters(strict, ["<a><b>1</b>"])
    assert recovered.get("b") == ["1"] and not recovered.tags
    assert failed.tags == ["_xmlparsefailure"]


def test_non_string_array_and_empty_sources() -> None:
    config = 'xml { source => "message" target => "doc" }'
    out = run_filters(config, [{"message": 5}, {"message": ["<a/>", "<b/>"]}, {"message": ["<a>1</a>"]},
                               {"message": "   "}, {"other": 1}])
    assert [e.tags for e in out] == [["_xmlparsefailure"], ["_xmlparsefailure"], [], [], []]
    assert out[2].get("doc") == "1"


def test_entity_expansion_bombs_and_external_entities_are_refused() -> None:
    bomb = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
            "<lolz>&lol2;</lolz>")
    external = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'
    out = run_filters('xml { source => "message" target => "doc" xpath => { "/*/text()" => "t" } }', [bomb, external])
    assert all(e.tags == ["_xmlparsefailure"] and e.get("doc") is None and e.get("t") is None for e in out)


def test_store_xml_needs_a_target_and_xpath_must_compile() -> None:
    with pytest.raises(ConfigErrors, match="'target' must also be set"):
        build_plugin("filter", 'xml { source => "message" }')
    with pytest.raises(ConfigErrors, match="invalid XPath"):
        build_plugin("filter", 'xml { source => "message" store_xml => false xpath => { "//[" => "x" } }')
    with pytest.raises(ConfigErrors, match="unknown parse option"):
        build_plugin("filter", 'xml { source => "message" target => "d" parse_options => "huge" }')
