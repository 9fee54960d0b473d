"""The xml filter: parse XML in a field into a structure (as Logstash's XmlSimple) and/or pick values by XPath."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lxml import etree

from pipeline import fieldref
from pipeline.errors import ConfigError
from pipeline.event import Event
from pipeline.filters.base import Filter, FilterOptions
from pipeline.plugin import option, register

PARSE_FAILURE_TAG = "_xmlparsefailure"
CONTENT = "content"
_ENTITY_DECLARATION = re.compile(r"<!ENTITY", re.IGNORECASE)
_PARSE_OPTIONS = {"strict", "no_error", "no_warning"}


class XmlRefused(ValueError):
    """XML we do not parse: malformed, or declaring entities (the way to XML bombs)."""


def _parser(recover: bool) -> etree.XMLParser:
    # No DTD loading, no network, no entity expansion, libxml2's depth/size limits: safe on hostile input.
    return etree.XMLParser(recover=recover, resolve_entities=False, no_network=True, load_dtd=False,
                           huge_tree=False, remove_comments=False, encoding="utf-8")


def parse(text: str, *, recover: bool = False) -> Any:
    if _ENTITY_DECLARATION.search(text):
        raise XmlRefused("documents declaring entities are refused (protection against entity expansion)")
    try:
        root = etree.fromstring(text.encode("utf-8"), _parser(recover))
    except etree.XMLSyntaxError as exc:
        raise XmlRefused(str(exc)) from None
    if root is None:
        raise XmlRefused("no root element")
    return root


def _is_element(node: Any) -> bool:
    return isinstance(node.tag, str)


def _texts(element: Any) -> list[str]:
    """The element's own text nodes (REXML's ``element.texts``): text before, between and after children."""
    texts = [element.text] if element.text is not None else []
    texts.extend(child.tail for child in element if child.tail is not None)
    return texts


def _empty(value: Any) -> bool:
    if isinstance(value, dict):
        return not value
    if isinstance(value, str):
        return not value.strip()
    return value is None


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]


class XmlSimple:
    """Element → Ruby XmlSimple's ``xml_in`` structure with ForceArray/ForceContent/SuppressEmpty,
    as Logstash calls it: attributes and children as keys (element names without prefix), text as
    ``content``, every child a list with ``force_array``."""

    def __init__(self, force_array: bool, force_content: bool, suppress_empty: bool) -> None:
        self.force_array = force_array
        self.force_content = force_content
        self.suppress_empty = suppress_empty

    def attributes(self, element: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for prefix, uri in element.nsmap.items():  # declarations made on this element (XmlSimple shows them)
            parent = element.getparent()
            if parent is None or parent.nsmap.get(prefix) != uri:
                out["xmlns" if prefix is None else f"xmlns:{prefix}"] = uri
        reverse = {uri: prefix for prefix, uri in element.nsmap.items() if prefix}
        for name, value in element.attrib.items():
            if name.startswith("{"):
                uri, local = name[1:].split("}", 1)
                prefix = reverse.get(uri, "xml" if uri == "http://www.w3.org/XML/1998/namespace" else None)
                name = f"{prefix}:{local}" if prefix else local
            out[name] = value
        return out

    def merge(self, result: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
        if key in result:
            if isinstance(result[key], list):
                result[key].append(value)
            else:
                result[key] = [result[key], value]
        elif isinstance(value, list):
            result[key] = [value]
        elif self.force_array and key != CONTENT:
            result[key] = [value]
        else:
            result[key] = value
        return result

    def collapse(self, element: Any) -> Any:
        result = self.attributes(element)
        has_attributes = bool(result)  # as REXML: namespace declarations count as attributes
        children = [child for child in element if _is_element(child)]
        texts = _texts(element)
        if children:
            for child in children:
                value = self.collapse(child)
                if _empty(value) and not has_attributes and self.suppress_empty:
                    continue
                self.merge(result, _local(child.tag), value)
            if texts and "".join(texts).strip():
                result[CONTENT] = texts[0] if len(texts) == 1 else texts
        elif texts:
            value = "".join(texts)
            if _empty(value) and not has_attributes:
                return {}
            if has_attributes or self.force_content:
                return self.merge(result, CONTENT, value)
            return value
        if not result and self.suppress_empty:
            return None
        return result


def _xpath_text(value: Any) -> str:
    """A result as Nokogiri's ``to_s``: elements as XML, attributes and text as their value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if not value.is_integer() else f"{value:.1f}"
    if isinstance(value, str):
        return str(value)
    if _is_element(value):
        return _outer_xml(value)
    if isinstance(value, etree._Comment):
        return etree.tostring(value, encoding=str, with_tail=False)
    return str(value)


def _outer_xml(element: Any) -> str:
    """The element as libxml2 dumps a node (what Nokogiri returns): namespace declarations inherited from
    ancestors are not repeated on it."""
    text = etree.tostring(element, encoding=str, with_tail=False)
    parent = element.getparent()
    if parent is None:
        return text
    end = text.find(">")
    start_tag = text[:end]
    for prefix, uri in parent.nsmap.items():
        name = "xmlns" if prefix is None else f"xmlns:{prefix}"
        start_tag = start_tag.replace(f' {name}="{uri}"', "", 1)
    return start_tag + text[end:]


def _remove_namespaces(root: Any) -> None:
    for node in root.iter():
        if _is_element(node):
            node.tag = _local(node.tag)
            for name in [n for n in node.attrib if n.startswith("{")]:
                node.attrib[_local(name)] = node.attrib.pop(name)
    etree.cleanup_namespaces(root)


def _check_parse_options(value: str) -> str | None:
    unknown = {o.strip().lower() for o in value.split(",") if o.strip()} - _PARSE_OPTIONS
    return f"unknown parse option(s) {', '.join(sorted(unknown))} (known: strict, no_error, no_warning)" \
        if unknown else None


@register
class Xml(Filter):
    """Parse XML from ``source`` into ``target`` (XmlSimple's shape, as Logstash), and/or copy XPath results.

    With ``store_xml`` (default) the document becomes a structure in
    ``target``: attributes and child elements are keys, text is the value (or
    ``content`` beside attributes), each child a list unless
    ``force_array => false``. ``xpath => { "/a/b/text()" => "field" }``
    appends each result as a string to the field. Malformed XML (and with
    ``store_xml`` any XML Ruby would refuse) is tagged ``_xmlparsefailure``;
    documents declaring entities are refused (XML bomb protection).
    """

    name = "xml"

    @dataclass(frozen=True, kw_only=True)
    class Options(FilterOptions):
        source: str = option(doc="The field holding the XML.")
        target: str | None = option(None, "Where the parsed structure goes (required with store_xml).")
        store_xml: bool = option(True, "Store the parsed document in target.")
        xpath: dict[str, str] = option({}, "XPath expression => field receiving its results (as strings).")
        namespaces: dict[str, str] = option({}, "Prefix => URI for the XPath expressions.")
        remove_namespaces: bool = option(False, "Drop all namespaces before evaluating XPath.")
        force_array: bool = option(True, "Every child element becomes a list (false: only repeated ones).")
        force_content: bool = option(False, "Text always goes to a content key, also without attributes.")
        suppress_empty: bool = option(True, "Leave out empty elements (or store them as null).")
        parse_options: str = option("", "XML parse options for XPath: strict (fail on malformed XML).",
                                    check=_check_parse_options)

        def __post_init__(self) -> None:
            if self.store_xml and not self.target:
                raise ValueError("When the 'store_xml' configuration option is true, 'target' must also be set")

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        self._source = fieldref.parse(options.source)
        self._target = fieldref.parse(options.target) if options.target else None
        self._strict = "strict" in options.parse_options.lower()
        self._simple = XmlSimple(options.force_array, options.force_content, options.suppress_empty)
        self._xpaths = []
        for expression, field in options.xpath.items():
            try:
                self._xpaths.append((etree.XPath(expression, namespaces=options.namespaces or None),
                                     fieldref.parse(field)))
            except etree.XPathSyntaxError as exc:
                raise ConfigError(f'option "xpath": invalid XPath {expression!r}: {exc}') from None

    def _fail(self, event: Event, why: str) -> None:
        event.tag(PARSE_FAILURE_TAG)
        self.logger.warning("xml (id=%s): cannot parse field %s: %s", self.id, self.options.source, why)

    def filter(self, event: Event) -> None:
        value = self._source.get(event.data)
        if value is None or value is False:
            return
        if isinstance(value, list):
            if len(value) != 1:
                self._fail(event, "expected a single XML string, got an array of several")
                return
            value = value[0]
        if not isinstance(value, str):
            self._fail(event, f"expected a string, got {type(value).__name__}")
            return
        if not value.strip():
            return
        matched = False
        if self._xpaths:
            try:
                doc = parse(value, recover=not self._strict)
            except XmlRefused as exc:
                self._fail(event, str(exc))
                return
            if self.options.remove_namespaces:
                _remove_namespaces(doc)
            matched = self._apply_xpaths(event, doc)
        if self._target is not None and self.options.store_xml:
            try:
                root = parse(value)
            except XmlRefused as exc:
                self._fail(event, str(exc))
                return
            event.set(self._target, self._simple.collapse(root))
            matched = True
        if matched:
            self.filter_matched(event)

    def _apply_xpaths(self, event: Event, doc: Any) -> bool:
        matched = False
        auto_ns = {("xmlns" if k is None else k): v for k, v in doc.nsmap.items()}
        for xpath, field in self._xpaths:
            try:
                found = xpath(doc) if self.options.namespaces or not auto_ns else \
                    doc.xpath(xpath.path, namespaces=auto_ns)
            except etree.XPathError as exc:
                self.logger.warning("xml (id=%s): XPath %s failed: %s", self.id, xpath.path, exc)
                continue
            for item in found if isinstance(found, list) else [found]:
                matched = True
                current = field.get(event.data)
                text = _xpath_text(item)
                if isinstance(current, list):
                    current.append(text)
                elif isinstance(current, str):
                    event.set(field, current + text)  # as Logstash: String#<< concatenates
                else:
                    event.set(field, [text])
        return matched
