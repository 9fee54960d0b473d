"""JSON lines vs MessagePack for the ruby filter's batches: encode/decode cost on both sides.

    PYTHONPATH=. python bench/ruby_wire_formats.py

Python side: orjson vs msgpack (the pip package); Ruby side: the json stdlib vs the msgpack gem
(Debian ruby-msgpack), each decoding a 125-event batch and encoding it back, 200 times.
Only for choosing the format: the filter itself uses JSON (nothing to install beside Ruby). Needs
`pip install msgpack` and `apt-get install ruby-msgpack`, which the project does not depend on.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

import orjson

BATCH = {"events": [{"d": {"message": f"GET /index.html 200 {i} bytes from 10.0.0.{i % 255}", "n": i,
                           "host": {"name": "web1"}, "tags": ["a", "b"]}, "t": 1700000000000 + i}
                    for i in range(125)]}
ROUNDS = 200
RUBY = """
require 'json'; require 'msgpack'
fmt, path, rounds = ARGV[0], ARGV[1], ARGV[2].to_i
data = File.binread(path)
started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
rounds.times do
  if fmt == 'json' then JSON.generate(JSON.parse(data)) else MessagePack.unpack(data).to_msgpack end
end
puts((Process.clock_gettime(Process::CLOCK_MONOTONIC) - started) / rounds * 1e6)
"""


def python_cost(dump, load, payload: bytes) -> float:
    started = time.perf_counter()
    for _ in range(ROUNDS):
        dump(load(payload))
    return (time.perf_counter() - started) / ROUNDS * 1e6


def main() -> None:
    import msgpack

    payloads = {"json": orjson.dumps(BATCH), "msgpack": msgpack.packb(BATCH)}
    with tempfile.TemporaryDirectory() as tmp:
        for name, payload in payloads.items():
            path = Path(tmp) / name
            path.write_bytes(payload)
            ruby = float(subprocess.run(["ruby", "-e", RUBY, name, str(path), str(ROUNDS)], capture_output=True,
                                        text=True, check=True).stdout)
            py = python_cost(orjson.dumps, orjson.loads, payload) if name == "json" else \
                python_cost(msgpack.packb, msgpack.unpackb, payload)
            print(f"{name:8} {len(payload):6} bytes/batch  python {py:7.0f} µs  ruby {ruby:7.0f} µs  "
                  f"(decode+encode of 125 events)")
    print(f"load average {os.getloadavg()[0]:.1f} (measured on a loaded machine)")


if __name__ == "__main__":
    main()
