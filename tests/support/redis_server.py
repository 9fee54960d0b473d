"""A private redis-server for one test, with settings the shared service has not: TLS (certificates of
support.pki) and renamed commands (``rename-command``). Debian's redis-server is built with TLS.

    with private_redis(tmp_path, tls=pki, renames={"LMOVE": "MOVE_IT"}) as port: ...
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

from support.pki import Pki
from support.polling import unused_port


def _answering(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@contextmanager
def private_redis(directory: Path, *, tls: Pki | None = None, renames: Mapping[str, str] | None = None,
                  client_auth: bool = False) -> Iterator[int]:
    """Start redis-server on a free port (TLS only, with ``tls``), yield the port, stop it."""
    binary = shutil.which("redis-server")
    if binary is None:  # scripts/services.sh installs it (apt) for the shared service
        message = "redis-server is not installed (scripts/services.sh start redis installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    port = unused_port()
    args = [binary, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(directory)]
    if tls is not None:
        args += ["--port", "0", "--tls-port", str(port), "--tls-cert-file", str(tls.server_pem),
                 "--tls-key-file", str(tls.server_key), "--tls-ca-cert-file", str(tls.ca_pem),
                 "--tls-auth-clients", "yes" if client_auth else "no"]
    else:
        args += ["--port", str(port)]
    for old, new in (renames or {}).items():
        args += ["--rename-command", old, new]
    log = directory / f"redis-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not _answering(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(10)
