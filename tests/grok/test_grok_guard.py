"""The static guard that decides when `re` is safe and when `regex` with a timeout is needed."""

from __future__ import annotations

import random
import subprocess
import sys
import time

import pytest

from pipeline.grok import Grok
from pipeline.grok.guard import assess
from pipeline.grok.matcher import RE_FLAGS, STEPS_PER_SECOND

APACHE = ('83.149.9.216 - - [17/May/2015:10:05:03 +0000] "GET /presentations/logstash-monitorama-2013/images/'
          'kibana-search.png HTTP/1.1" 200 203023 "http://semicomplete.com/presentations/logstash-monitorama-2013/" '
          '"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36 (KHTML, like Gecko) '
          'Chrome/32.0.1700.77 Safari/537.36"')
def assess_dotall(pattern: str, **options: bool):
    return assess(pattern, RE_FLAGS, **options)


SIX_DATA = "^%{DATA:a},%{DATA:b},%{DATA:c},%{DATA:d},%{DATA:e},%{DATA:f};$"


def test_deterministic_quantifiers_are_free() -> None:
    risk = assess(r"[0-9]+\.[a-z]+ \S+$")
    assert risk.ambiguous == 0 and not risk.exponential and risk.delimited == ()


def test_line_spanning_wildcards_are_counted() -> None:
    assert assess(r".*?,.*?,.*;", whole=True).delimited == (";", ",", ",")
    assert assess(r"(.*)(.*)x").ambiguous >= 1


def test_a_wildcard_before_the_last_character_of_a_search_is_never_retried() -> None:
    # the first ';' after it completes the search: only the two before it multiply the work
    assert assess(r".*?,.*?,.*;").delimited == (",", ",")
    assert assess(r'"(?:-|(.*?))"').delimited == ()
    # ... but fullmatch must still reach the end of the text, and a repetition may come back to it
    assert assess(r'"(.*?)"', whole=True).delimited == ('"',)
    assert assess(r'(?:x.*?")+').exponential


def test_an_optional_part_is_not_followed_by_itself() -> None:
    # (?:%.+)? (the IPv6 zone in IPORHOST) is followed by the space after it, never by another '%'
    assert assess(r"a(?:%.+)? b").delimited == (" ",)


def test_a_fixed_count_of_wildcards_counts_every_copy() -> None:
    # Logstash's "timeout on failure" spec: (.*a){30} is thirty .*a in a row, not one
    assert assess(r"(.*a){30}").delimited == ("a",) * 30
    assert assess(r"(.*)(.*){4}x").ambiguous == 5  # each of the four copies, and the first (.*)
    assert assess(r"(?:.*?,){3}x").delimited == (",",) * 3


def test_nested_ambiguous_repetition_is_exponential() -> None:
    assert assess(r"(a+)+b").exponential
    assert assess(r"(?:\w+\s?)*$").exponential
    assert not assess(r'"(?>[^\\"]+|\\.)*"').exponential  # QS: atomic alternatives


@pytest.mark.parametrize("pattern", [r"^(a|aa)*$", r"^(?:a|a)*$", r"(?:a|b|ab)*c", r"^(a?a)*$", r"(x+x+)+y"])
def test_a_repetition_whose_body_can_split_a_text_several_ways_is_exponential(pattern: str) -> None:
    assert assess(pattern).exponential


@pytest.mark.parametrize("pattern", [r"^(a|ab)*c", r"(?:ab|ac)*$", r'"(?>[^\\"]+|\\.)*"', r"(?:\.[a-z]{0,9})*\s"])
def test_a_repetition_whose_alternatives_part_at_once_is_not(pattern: str) -> None:
    assert not assess(pattern).exponential


def test_a_wildcard_followed_by_fixed_text_or_a_last_wildcard_on_its_own_stops_is_free() -> None:
    # "%{DATA:a}" "%{DATA:b}" at the end: a stop of a whose b finds no quote leaves no quote, hence
    # no stop of a, after it; a fixed tail costs a few comparisons per stop
    assert assess_dotall(r'"(?:-|(.*?))" "(?:-|(.*?))"').delimited == ()
    assert assess_dotall(r"x.*? waiting").delimited == ()
    # ... but not when the last wildcard stops elsewhere, nor when more than fixed text follows
    assert assess_dotall(r'"(.*?)" "(.*?);').delimited == ('"',)
    assert assess_dotall(r'"(.*?)" (\d+) "(.*?)"').delimited == ('"',)
    assert assess_dotall(r'"(.*?)" "(.*?)"', whole=True).delimited == ('"', '"')


def test_without_dot_all_a_last_wildcard_may_stop_at_a_line_break() -> None:
    assert assess(r'"(?:-|(.*?))" "(?:-|(.*?))"').delimited == ('"',)


def test_library_patterns_ending_in_a_quoted_field_keep_the_fast_path_for_long_lines() -> None:
    # ECS COMBINEDAPACHELOG: only the request may be retried at each quote (the referrer and the
    # agent are free, above); a 1,363-character line with 250 '%' and 6 quotes stays on re
    compiled = Grok("%{COMBINEDAPACHELOG}").compiled
    assert compiled.risk.delimited == ('"', " ")
    assert compiled.fast_limit(30.0) >= 250
    line = APACHE.replace("kibana-search.png", "a%E8+" * 250)
    assert compiled.risk.fits(line, 30.0 * STEPS_PER_SECOND)
    assert compiled.risk.line_check(30.0 * STEPS_PER_SECOND)(line)


def test_the_generated_line_check_agrees_with_the_bound() -> None:
    noise = random.Random(15)
    lines = [APACHE, "", "x" * 5000] + [
        "".join(noise.choice('a" %,;=\n') for _ in range(noise.randint(0, 600))) for _ in range(2000)]
    for pattern in ("%{COMBINEDAPACHELOG}", SIX_DATA, "%{GREEDYDATA:a} %{GREEDYDATA:b}=", "%{SYSLOGLINE}"):
        risk = Grok(pattern).compiled.risk
        for budget in (1e4, 1e6, 6e9):
            check = risk.line_check(budget)
            assert [check(line) for line in lines] == [risk.fits(line, budget) for line in lines], (pattern, budget)


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


_GUARDED_RUN = """
import sys
from pipeline.testing import run_filters
pattern, line = sys.argv[1], sys.argv[2]
config = "grok { match => { 'message' => '" + pattern + "' } timeout_millis => 300 }"
[event] = run_filters(config, [{"message": line}])
print(",".join(event.tags))
"""


@pytest.mark.parametrize(("pattern", "line"), [
    (r"^(a|aa)*$", "a" * 60 + "b"),  # ~1.5e12 steps on re: hours
    (r"^(.*?,){11}P", "x," * 2000),
])
def test_pathological_patterns_run_under_the_timeout_and_tag_the_event(pattern: str, line: str) -> None:
    # In a child process: on the uninterruptible engine this would hang; the subprocess timeout
    # bounds the test itself (it is not a speed assertion).
    done = subprocess.run([sys.executable, "-c", _GUARDED_RUN, pattern, line], capture_output=True,
                          text=True, timeout=120, check=True)
    assert done.stdout.strip() == "_groktimeout"
