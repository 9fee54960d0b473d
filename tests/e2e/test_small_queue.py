"""The real `pipeline run` with a queue smaller than a batch: every event comes out, none twice.

With ``--queue.max_events`` below the batch size a worker never sees a full batch; it used to wait the
whole batch delay each time while the input was blocked for room (50 ms per batch). The run must
finish with the events in order; how fast is measured under bench/, not asserted here.
"""

from __future__ import annotations

import json
import subprocess

EVENTS = 5000


def test_a_queue_smaller_than_a_batch_delivers_every_event_once_in_order(pipeline_cmd, tmp_path):
    out = tmp_path / "out.jsonl"
    config = (f'input {{ generator {{ count => {EVENTS} message => "small queue" }} }}\n'
              f'output {{ file {{ path => "{out}" }} }}\n')
    result = subprocess.run([*pipeline_cmd, "run", "-e", config, "--queue.max_events", "50", "-b", "125",
                             "-w", "1", "--api.enabled", "false", "--path.data", str(tmp_path / "data")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    sequences = [json.loads(line)["sequence"] for line in out.read_text().splitlines()]
    assert sequences == list(range(EVENTS))
