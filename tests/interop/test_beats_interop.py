"""The beats input with Lumberjack clients we did not write: npm lumberjack-client and PyPI pylogbeat."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from pipeline.timestamp import Timestamp

HERE = Path(__file__).resolve().parent
NODE_MODULES = HERE / "node_modules" / "lumberjack-client"


@pytest.fixture
def node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (CI installs it with the npm packages)")
    if not NODE_MODULES.is_dir():
        pytest.skip(f"{NODE_MODULES} is absent: run `npm install --prefix tests/interop` (CI does)")
    return node


def test_npm_lumberjack_client_windows_are_all_received(beats_server, node) -> None:
    server = beats_server()
    result = subprocess.run([node, str(HERE / "lumberjack_send.js"), str(server.port), "25", "40"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    events = server.wait_events(65)
    assert len(events) == 65
    assert server.input.stats.windows == 41  # 1 window of the queued events + 40 live ones
    by_message = {e.get("message"): e for e in events}
    assert set(by_message) == {f"queued event {i}" for i in range(25)} | {f"live event {i}" for i in range(40)}
    sample = by_message["live event 7"]
    assert sample.timestamp == Timestamp.parse("2026-11-21T05:00:00.007Z")
    assert sample.get("[nested][unicode]") == "héllo ✓"
    assert sample.get("[@metadata][beat]") == "node"
    assert "beats_input_codec_plain_applied" in sample.get("tags")
    assert sum(server.input.stats.errors.values()) == 0


def test_pylogbeat_sequence_numbers_continue_across_windows(beats_server) -> None:
    pylogbeat = pytest.importorskip("pylogbeat", reason="pylogbeat is a test dependency")
    server = beats_server()
    with pylogbeat.PyLogBeatClient("127.0.0.1", server.port, timeout=10, ssl_enable=False) as client:
        for window in range(5):
            client.send([{"message": f"w{window} e{i}", "@metadata": {"beat": "pylogbeat"}}
                         for i in range(window + 1)])
        # pylogbeat waits for the ack of its running sequence number: 15 after 1+2+3+4+5 events.
        assert client._sequence == 15
        client.send([{"message": "last"}])
    events = server.wait_events(16)
    assert len(events) == 16
    assert events[-1].get("message") == "last"
    assert server.input.stats.acks == 6


def test_pylogbeat_over_tls(beats_server, tmp_path) -> None:
    pylogbeat = pytest.importorskip("pylogbeat", reason="pylogbeat is a test dependency")
    trustme = pytest.importorskip("trustme", reason="trustme (test dependency) makes the test certificates")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    cert.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    server = beats_server(f'ssl_enabled => true ssl_certificate => "{tmp_path / "cert.pem"}" '
                          f'ssl_key => "{tmp_path / "key.pem"}"')
    with pylogbeat.PyLogBeatClient("127.0.0.1", server.port, timeout=10, ssl_enable=True, ssl_verify=True,
                                   ca_certs=str(tmp_path / "ca.pem")) as client:
        client.send([{"message": "over tls"}])
    assert server.wait_events(1)[0].get("message") == "over tls"
