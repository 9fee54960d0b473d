"""The s3 input reading one big gzipped object, this tree against another checkout (--baseline), through
the real `pipeline run` command, in interleaved rounds; CPU (user+sys, wait4), wall and peak RSS.

The object is $PIPELINE_SHARED_DATA/access/apache_logs (10,000 Apache lines) repeated to --events lines,
gzipped, put once into a fresh bucket of a real S3-compatible server (--endpoint, default the one
`scripts/services.sh start s3` runs, S3_PORT or 9000). Each run reads it with watch_for_new_files => false
(the input, and the pipeline, end after one listing) into a null output with a fresh path.data, so every
run reads the whole object. Peak RSS shows whether the object's events are held at once (before the s3
input pushed in slices) or streamed.

    PYTHONPATH=. python bench/s3_input.py --baseline /tmp/base-tree --events 200000 --rounds 3
"""

from __future__ import annotations

import argparse
import gzip
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from child_run import measured_run

HERE = Path(__file__).resolve().parent
ACCESS_KEY, SECRET_KEY = "pipeline-test", "pipeline-test-secret"  # scripts/services/s3.sh


def s3_client(endpoint: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                        region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))


def put_object(endpoint: str, events: int) -> tuple[str, str]:

    corpus = Path(os.environ.get("PIPELINE_SHARED_DATA", HERE.parent.parent / "shared" / "data")) / "access" / "apache_logs"
    lines = corpus.read_bytes().splitlines(keepends=True)
    client = s3_client(endpoint)
    bucket = f"bench-s3-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=bucket)
    # Written to a file in pieces, never whole in memory: the runs are forked from this process, and a
    # child's peak RSS (wait4) counts what it shared with its parent before exec.
    size = 0
    with tempfile.TemporaryDirectory(prefix="bench-s3-object-") as tmp:
        path = Path(tmp) / "access.log.gz"
        with gzip.open(path, "wb", 6) as out:
            for start in range(0, events, len(lines)):
                piece = b"".join(lines[: min(len(lines), events - start)])
                size += len(piece)
                out.write(piece)
        client.upload_file(str(path), bucket, "logs/access.log.gz")
    time.sleep(4)  # older than the input's default cutoff_second (3 s) in the tree that has it
    return bucket, f"{size / 1e6:.1f} MB"


def config(endpoint: str, bucket: str) -> str:
    return (f'input {{ s3 {{ bucket => "{bucket}" endpoint => "{endpoint}" access_key_id => "{ACCESS_KEY}" '
            f'secret_access_key => "{SECRET_KEY}" additional_settings => {{ "force_path_style" => true }} '
            f'watch_for_new_files => false }} }} output {{ null {{}} }}')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="another checkout's root (the code before)")
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--endpoint", default=f"http://127.0.0.1:{os.environ.get('S3_PORT', '9000')}")
    args = parser.parse_args()
    bucket, size = put_object(args.endpoint, args.events)
    try:
        run_rounds(args, bucket, size)
    finally:
        client = s3_client(args.endpoint)
        client.delete_object(Bucket=bucket, Key="logs/access.log.gz")
        client.delete_bucket(Bucket=bucket)
    return 0


def run_rounds(args: argparse.Namespace, bucket: str, size: str) -> None:
    text = config(args.endpoint, bucket)
    trees = {"base": str(Path(args.baseline).resolve()), "this": str(HERE.parent)}
    best: dict[str, list[float]] = {name: [1e9, 1e9, 0.0] for name in trees}
    print(f"{args.events} lines ({size} uncompressed), load before: {os.getloadavg()}", flush=True)
    for round_no in range(args.rounds):
        for name, tree in trees.items():
            with tempfile.TemporaryDirectory(prefix="bench-s3-") as data:
                usage, wall = measured_run([sys.executable, "-m", "pipeline", "run", "-e", text, "--path.data", data,
                                            "--api.enabled", "false"], tree, f"{name} round {round_no + 1}")
            cpu = usage.ru_utime + usage.ru_stime
            rss = usage.ru_maxrss / 1024
            print(f"round {round_no + 1} {name}: cpu {cpu:.2f} s, wall {wall:.2f} s, peak rss {rss:.0f} MiB",
                  flush=True)
            best[name] = [min(best[name][0], cpu), min(best[name][1], wall), max(best[name][2], rss)]
    for name, (cpu, wall, rss) in best.items():
        print(f"best {name}: cpu {cpu:.2f} s ({args.events / cpu:,.0f} lines/s of CPU), wall {wall:.2f} s, "
              f"peak rss {rss:.0f} MiB")
    print(f"this/base cpu: {best['this'][0] / best['base'][0]:.2f}x; load after: {os.getloadavg()}")


if __name__ == "__main__":
    sys.exit(main())
