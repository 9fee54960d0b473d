"""The static guard that decides when `re` is safe and when `regex` with a timeout is needed."""

from __future__ import annotations

import time

from pipeline.grok import Grok
from pipeline.grok.guard import assess
from pipeline.grok.matcher import STEPS_PER_SECOND

APACHE = ('83.149.9.216 - - [17/May/2015:10:05:03 +0000] "GET /presentations/logstash-monitorama-2013/images/'
          'kibana-search.png HTTP/1.1" 200 203023 "http://semicomplete.com/presentations/logstash-monitorama-2013/" '
          '"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36 (KHTML, like Gecko) '
          'Chrome/32.0.1700.77 Safari/537.36"')
SIX_DATA = "^%{DATA:a},%{DATA:b},%{DATA:c},%{DATA:d},%{DATA:e},%{DATA:f};$"


def test_deterministic_quantifiers_are_free() -> None:
    risk = assess(r"[0-9]+\.[a-z]+ \S+$")
    assert risk.ambiguous == 0 and not risk.exponential and risk.delimited == ()


def test_line_spanning_wildcards_are_counted() -> None:
    assert assess(r".*?,.*?,.*;").delimited == (";", ",", ",")
    assert assess(r"(.*)(.*)x").ambiguous >= 1


def test_a_fixed_count_of_wildcards_counts_every_copy() -> None:
    # Logstash's "timeout on failure" spec: (.*a){30} is thirty .*a in a row, not one
    assert assess(r"(.*a){30}").delimited == ("a",) * 30
    assert assess(r"(.*)(.*){4}x").ambiguous == 5  # each of the four copies, and the first (.*)
    assert assess(r"(?:.*?,){3}x").delimited == (",",) * 3


def test_nested_ambiguous_repetition_is_exponential() -> None:
    assert assess(r"(a+)+b").exponential
    assert assess(r"(?:\w+\s?)*$").exponential
    assert not assess(r'"(?>[^\\"]+|\\.)*"').exponential  # QS: atomic alternatives


def test_apache_lines_take_the_fast_path_with_default_timeout() -> None:
    for mode in ("disabled", "v8"):
        compiled = Grok("%{COMBINEDAPACHELOG}", ecs_compatibility=mode).compiled
        limit = compiled.fast_limit(30.0)
        assert len(APACHE) <= limit or compiled.risk.worst_steps(APACHE) <= 30.0 * STEPS_PER_SECOND, mode


def test_pathological_line_goes_to_the_timeout_engine() -> None:
    compiled = Grok(SIX_DATA).compiled
    line = "a," * 100
    assert len(line) > compiled.fast_limit(1.0)
    assert compiled.risk.worst_steps(line) > 1e12
    start = time.monotonic()
    grok = Grok(SIX_DATA, timeout=0.3)
    try:
        grok.match(line)
        raised = False
    except Exception as exc:  # noqa: BLE001 - the type is asserted below
        raised = type(exc).__name__ == "GrokTimeout"
    assert raised and time.monotonic() - start < 5


def test_no_timeout_always_uses_re() -> None:
    grok = Grok("%{WORD:w}")
    assert grok.compiled.fast is not None and grok.match("hi") == {"w": "hi"}


def test_guard_estimate_bounds_a_measured_case() -> None:
    """The estimate must grow at least as fast as the real work (checked on a small, fast case)."""
    compiled = Grok("%{GREEDYDATA:a} %{GREEDYDATA:b} %{GREEDYDATA:c}=").compiled
    small, large = "a " * 20, "a " * 40
    ratio = compiled.risk.worst_steps(large) / compiled.risk.worst_steps(small)
    assert ratio >= 2 ** 3.5  # ~L^4 growth: start positions x two space splits x the final scan
