"""A real process killed with SIGKILL mid-stream: every event whose put returned comes back."""

import os
import signal
import subprocess
import sys
import textwrap
import time

from pipeline.queue.persisted import PersistedQueue

WRITER = textwrap.dedent("""
    import asyncio, sys, threading
    from pipeline.event import Event
    from pipeline.queue.persisted import PersistedQueue

    queue = PersistedQueue(sys.argv[1], 500, segment_bytes=16384)
    say = threading.Lock()

    def report(*words):
        with say:
            print(*words, flush=True)

    def work():  # a worker acknowledging batches while the input writes
        while (batch := queue.get_batch(50, 0.01)) is not None:
            queue.ack(batch)
            report("acked", *[e.get("n") for e in batch])

    async def produce():
        n = 0
        while True:
            await queue.put([Event({"n": n + i, "message": "x" * 100}) for i in range(10)])
            n += 10
            report("put", n)  # the events below n are accepted

    threading.Thread(target=work, daemon=True).start()
    asyncio.run(produce())
""")


def test_events_whose_put_returned_survive_sigkill(tmp_path):
    directory = tmp_path / "queue" / "main"
    child = subprocess.Popen([sys.executable, "-c", WRITER, str(directory)], stdout=subprocess.PIPE,
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
            if (accepted >= 3000 and len(acked) >= 1000) or time.monotonic() > deadline:
                break
        os.kill(child.pid, signal.SIGKILL)  # mid-stream: puts and acks still going
        rest = child.stdout.read()
    finally:
        child.kill()
        child.wait()
    for line in rest.splitlines():  # lines written before the kill landed
        word, *values = line.split()
        if word == "put" and values:
            accepted = max(accepted, int(values[0]))
        elif word == "acked":
            acked.update(map(int, values))
    assert child.returncode == -signal.SIGKILL
    assert accepted >= 3000, "the writer did not get far enough"

    queue = PersistedQueue(directory, 500)
    delivered = []
    while (batch := queue.get_batch(1000, 0.01)):
        delivered.extend(e.get("n") for e in batch)
        queue.ack(batch)
    queue.close()
    missing = set(range(accepted)) - set(delivered) - acked
    assert not missing, f"{len(missing)} accepted events lost, e.g. {sorted(missing)[:10]}"
    assert len(delivered) == len(set(delivered))
    assert delivered == sorted(delivered)
