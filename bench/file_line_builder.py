"""Instructions per line of the file input's plain line builder (plain_line_events), for callgrind.

    PYTHONHASHSEED=0 valgrind --tool=callgrind python bench/file_line_builder.py 20000
    PYTHONHASHSEED=0 valgrind --tool=callgrind python bench/file_line_builder.py 60000
    per line = (second total - first total) / 40,000

Batches of 1,000 Apache lines, ECS, stable ids; the events are freed, as a pipeline frees them.
"""

from __future__ import annotations

import sys

from pipeline.inputs.file.line_events import plain_line_events
from pipeline.timestamp import Timestamp

LINE = b'83.149.9.216 - - [17/May/2015:10:05:03 +0000] "GET /x HTTP/1.1" 200 203023'


def main(count: int) -> None:
    pairs = [(LINE, n * 80) for n in range(1000)]
    now = Timestamp.now()
    for _ in range(count // 1000):
        events = plain_line_events(pairs, path="/var/log/a.log", host="box", ecs=True, charset="UTF-8",
                                   nonce="n1", now=now)
        del events


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
