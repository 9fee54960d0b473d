"""A real process killed with SIGKILL mid-stream: every event whose put returned comes back."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from pipeline.queue.persisted import PersistedQueue

WRITER = textwrap.dedent("""
    import asyncio, sys, threading, time
    from pipeline.event import Event
    from pipeline.queue.persisted import PersistedQueue

    # No event limit and a slow worker: thousands of events wait on disk when the kill comes.
    queue = PersistedQueue(sys.argv[1], 0, segment_bytes=16384)
    say = threading.Lock()

    def report(*words):
        with say:
            print(*words, flush=True)

    def work():  # a worker acknowledging batches while the input writes
        while (batch := queue.get_batch(50, 0.01)) is not None:
            time.sleep(0.002)
            report("acked", *[e.get("n") for e in batch])  # before: a kill may land right after the ack
            queue.ack(batch)

    async def produce():
        n = 0
        while True:
            window = [Event({"n": n + i, "message": "x" * 100}) for i in range(10)]
            if sys.argv[2] == "async":
                await queue.put(window)  # as network inputs do
            else:
                queue.put_blocking(window)  # as inputs running in a thread do
            n += 10
            report("put", n)  # the events below n are accepted

    threading.Thread(target=work, daemon=True).start()
    asyncio.run(produce())
""")


@pytest.mark.parametrize("mode", ["async", "blocking"])
def test_events_whose_put_returned_survive_sigkill(tmp_path, mode):
    directory = tmp_path / "queue" / "main"
    child = subprocess.Popen([sys.executable, "-c", WRITER, str(directory), mode], stdout=subprocess.PIPE,
                             text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    accepted, acked = 0, set()
    deadline = time.monotonic() + 60
    try:
        for line in child.stdout:
            word, *values = line.split()
            if word == "put":
                accepted = int(values[0])
            else:
                acked.update(map(int, values))
            if (accepted >= 6000 and len(acked) >= 1000) or time.monotonic() > deadline:
                break
        os.kill(child.pid, signal.SIGKILL)  # mid-stream: puts and acks still going
        rest = child.stdout.read()
    finally:
        child.kill()
        child.wait()
    complete = rest.split("\n")[:-1]  # lines written before the kill landed; a cut last line is ignored
    for line in complete:
        word, *values = line.split()
        if word == "put" and values:
            accepted = max(accepted, int(values[0]))
        elif word == "acked":
            acked.update(map(int, values))
    assert child.returncode == -signal.SIGKILL
    assert accepted >= 6000, "the writer did not get far enough"

    queue = PersistedQueue(directory, 0)
    delivered = []
    while (batch := queue.get_batch(1000, 0.01)):
        delivered.extend(e.get("n") for e in batch)
        queue.ack(batch)
    queue.close()
    missing = set(range(accepted)) - set(delivered) - acked
    assert len(delivered) > 1000, "the kill should come with a backlog on disk"
    assert not missing, f"{len(missing)} accepted events lost, e.g. {sorted(missing)[:10]}"
    assert len(delivered) == len(set(delivered))
    assert delivered == sorted(delivered)
