"""/_node/hot_threads as Logstash answers it: the busiest threads by CPU time first (threads=10 by
default), pool threads waiting for work left out unless ignore_idle_threads=false, stacks innermost
first and cut at stacktrace_size, text with ?human."""

from __future__ import annotations

import concurrent.futures
import json
import threading
import urllib.error
import urllib.request

import pytest

from pipeline.monitoring.hot_threads import HotThreadsParameterError, HotThreadsQuery, as_text, hot_threads
from pipeline.runtime import api


def spin_until(stop: threading.Event) -> None:
    while not stop.is_set():
        sum(range(1000))


def traces_of(name: str) -> list[str]:
    report = hot_threads(HotThreadsQuery(threads=100, ignore_idle_threads=False))
    return next((t["traces"] for t in report["hot_threads"]["threads"] if t["name"] == name), [])


@pytest.fixture
def busy_and_idle_threads():
    stop = threading.Event()
    busy = threading.Thread(target=spin_until, args=(stop,), name="busy-spinner", daemon=True)
    sleeper = threading.Thread(target=stop.wait, name="quiet-sleeper", daemon=True)
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="idle-pool")
    pool.submit(lambda: None).result()  # its thread now waits for the next task
    sleeper.start()
    while "in wait" not in "".join(traces_of("quiet-sleeper")[:1]):  # blocked on the event, not starting
        stop.wait(0.01)
    busy.start()
    # CPU time, not wall time, decides: spin until the busy thread has used clearly more than the others.
    for _ in range(2000):  # a bound, not a timing: another process-wide busy thread would never let it lead
        if hot_threads(HotThreadsQuery(threads=100))["hot_threads"]["threads"][0]["name"] == "busy-spinner":
            break
        stop.wait(0.05)
    else:
        stop.set()
        pytest.fail("another thread of this process keeps using more CPU than the spinner")
    yield
    stop.set()
    pool.shutdown()
    busy.join()
    sleeper.join()


def test_busiest_thread_comes_first_with_its_cpu_share_and_state(busy_and_idle_threads):
    threads = hot_threads(HotThreadsQuery(threads=100))["hot_threads"]["threads"]
    first = threads[0]
    assert first["name"] == "busy-spinner" and first["cpu_time_in_millis"] > 0
    assert 0 < first["percent_of_cpu_time"] <= 100
    assert first["state"] in ("runnable", "waiting")  # what the kernel says at that instant
    assert "in spin_until" in first["traces"][0] or "in spin_until" in first["traces"][1]  # innermost first
    cpu = [t["cpu_time_in_millis"] for t in threads]
    assert cpu == sorted(cpu, reverse=True)
    sleeper = next(t for t in threads if t["name"] == "quiet-sleeper")
    assert sleeper["state"] == "waiting"


def test_idle_pool_threads_are_left_out_unless_asked_for(busy_and_idle_threads):
    names = [t["name"] for t in hot_threads(HotThreadsQuery(threads=100))["hot_threads"]["threads"]]
    assert not any(n.startswith("idle-pool") for n in names)
    everything = hot_threads(HotThreadsQuery(threads=100, ignore_idle_threads=False))["hot_threads"]["threads"]
    assert any(t["name"].startswith("idle-pool") for t in everything)


def test_threads_and_stacktrace_size_limit_the_report(busy_and_idle_threads):
    section = hot_threads(HotThreadsQuery(threads=1, stacktrace_size=2))["hot_threads"]
    assert section["busiest_threads"] == 1 and len(section["threads"]) == 1
    assert len(section["threads"][0]["traces"]) == 2


def test_query_parameters_are_checked():
    assert HotThreadsQuery.parse({}) == HotThreadsQuery(threads=10, ignore_idle_threads=True, stacktrace_size=50)
    query = HotThreadsQuery.parse({"threads": ["3"], "ignore_idle_threads": ["false"], "human": [""]})
    assert (query.threads, query.ignore_idle_threads, query.human) == (3, False, True)
    with pytest.raises(HotThreadsParameterError, match="threads must be a positive whole number"):
        HotThreadsQuery.parse({"threads": ["many"]})
    with pytest.raises(HotThreadsParameterError, match="ignore_idle_threads must be true or false"):
        HotThreadsQuery.parse({"ignore_idle_threads": ["maybe"]})


def test_api_answers_json_text_and_rejects_bad_parameters(busy_and_idle_threads, free_port):
    server = api.start("127.0.0.1", free_port, free_port)
    assert server is not None
    base = f"http://127.0.0.1:{free_port}/_node/hot_threads"
    try:
        with urllib.request.urlopen(f"{base}?threads=2") as response:
            body = json.load(response)
        assert body["hot_threads"]["busiest_threads"] == 2 and len(body["hot_threads"]["threads"]) == 2
        with urllib.request.urlopen(f"{base}?threads=1000&ignore_idle_threads=false") as response:
            threads = json.load(response)["hot_threads"]["threads"]
        cpu = [t["cpu_time_in_millis"] for t in threads]
        assert cpu == sorted(cpu, reverse=True) and "busy-spinner" in [t["name"] for t in threads]
        assert any(t["name"].startswith("idle-pool") for t in threads)
        with urllib.request.urlopen(f"{base}?human&threads=1000") as response:
            text = response.read().decode()
        assert "busiestThreads=1000" in text and "thread name: 'busy-spinner'" in text
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{base}?threads=0")
        assert refused.value.code == 400
    finally:
        server.shutdown()


def test_text_layout_names_each_thread():
    report = {"hot_threads": {"time": "T", "busiest_threads": 1, "threads": [
        {"name": "w", "thread_id": 7, "percent_of_cpu_time": 1.5, "state": "runnable", "traces": ["a:1 in f"]}]}}
    text = as_text(report, "host")
    assert "1.5 % of cpu usage, state: runnable, thread name: 'w', thread id: 7" in text and "\ta:1 in f" in text
