"""Azurite (Microsoft's Azure Storage emulator, from npm: tests/inputs/package.json) as a real Blob service."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

# Azurite's documented development account (the same in every Azurite; not a secret).
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
LOCAL_BIN = Path(__file__).resolve().parents[1] / "inputs" / "node_modules" / ".bin" / "azurite-blob"


def azurite_blob_command() -> str | None:
    """The azurite-blob executable: the test install (scripts/test.sh runs npm in tests/inputs), else PATH."""
    if LOCAL_BIN.exists():
        return str(LOCAL_BIN)
    return shutil.which("azurite-blob")


class Azurite:
    """An Azurite Blob service on 127.0.0.1:<free port>, its data in ``location``."""

    def __init__(self, location: Path) -> None:
        command = azurite_blob_command()
        if command is None:
            raise FileNotFoundError("azurite-blob not found: run `npm install --prefix tests/inputs` "
                                    "(scripts/test.sh does)")
        self.location = location
        self.port = _free_port()
        self.log = location / "azurite.log"
        location.mkdir(parents=True, exist_ok=True)
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [command, "--blobHost", "127.0.0.1", "--blobPort", str(self.port), "--location", str(location),
                 "--skipApiVersionCheck", "--silent"],
                stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"Azurite did not start: {self.log.read_text(errors='replace')[-2000:]}")

    @property
    def connection_string(self) -> str:
        return (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
                f"BlobEndpoint=http://127.0.0.1:{self.port}/{ACCOUNT};")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
