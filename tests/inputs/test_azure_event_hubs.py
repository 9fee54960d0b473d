"""azure_event_hubs input: Logstash's options and refusals, and the real azure-eventhub SDK reading from
tests/support's AMQP 1.0 Event Hubs stand-in, checkpointing into Azurite (a real Blob service)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.azurite import Azurite, azurite_blob_command
from support.event_hubs_standin import EventHubsStandIn, pad_performative
from support.push_sizes import run_into_small_queue

from pipeline.commands.run import build_all
from pipeline.errors import ConfigError
from pipeline.testing import build_plugin

CORPUS = Path(__file__).resolve().parents[1] / "config" / "corpus"
KEY = "c2VjcmV0S2V5VmFsdWU="
NAMESPACE = "Endpoint=sb://example.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey"


def conn(hub: str | None = None) -> str:
    return f"{NAMESPACE};SharedAccessKey={KEY}" + (f";EntityPath={hub}" if hub else "")


def config_error(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        build_plugin("input", text, register=False)
    return caught.value.render()


# -- configuration: Logstash's options, defaults and refusals ---------------------------------------------------
def test_basic_mode_reads_one_hub_per_connection_string_with_logstash_defaults() -> None:
    plugin = build_plugin("input", f'azure_event_hubs {{ event_hub_connections => ["{conn("logs")}", "{conn("audit")}"] '
                                   'consumer_group => "logstash" }', register=False)
    assert [hub.name for hub in plugin.hubs] == ["logs", "audit"]
    hub = plugin.hubs[0]
    assert hub.connection.reveal() == conn("logs")
    assert (hub.consumer_group, hub.max_batch_size, hub.prefetch_count, hub.receive_timeout) == ("logstash", 125, 300, 60)
    assert (hub.initial_position, hub.initial_position_look_back, hub.checkpoint_interval) == ("beginning", 86400, 5)
    assert hub.decorate_events is False and hub.storage_connection is None and hub.container == "logs"
    assert plugin.codec.name == "plain"  # Logstash's default codec for this input


def test_a_basic_connection_string_without_entity_path_is_refused_with_logstash_words_and_no_key() -> None:
    message = config_error(f'azure_event_hubs {{ event_hub_connections => ["{conn()}"] }}')
    assert "Error parsing event hub string name for connection" in message
    assert "please ensure that the connection string contains the EntityPath" in message
    assert KEY not in message and "SharedAccessKey=<redacted>" in message


@pytest.mark.parametrize("bad, expected", [
    ("not a connection string", "contains the EntityPath"),
    ("Endpoint=http://x/;SharedAccessKeyName=a;SharedAccessKey=b;EntityPath=h", "needs Endpoint=sb://"),
    ("Endpoint=sb://x/;EntityPath=h", "needs SharedAccessKeyName and SharedAccessKey"),
])
def test_malformed_connection_strings_are_config_errors(bad: str, expected: str) -> None:
    assert expected in config_error(f'azure_event_hubs {{ event_hub_connections => ["{bad}"] }}')


def test_advanced_mode_per_hub_options_override_the_shared_ones() -> None:
    plugin = build_plugin("input", f"""azure_event_hubs {{
        config_mode => "advanced"
        consumer_group => "shared" decorate_events => true storage_connection => "UseDevelopmentStorage=true"
        event_hubs => [
          {{ "logs" => {{ event_hub_connection => "{conn()}" max_batch_size => 10 initial_position => "end" }} }},
          {{ "audit" => {{ event_hub_connection => "{conn("audit")}" consumer_group => "own" storage_container => "c" }} }}
        ]
    }}""", register=False)
    logs, audit = plugin.hubs
    assert (logs.name, logs.max_batch_size, logs.initial_position, logs.consumer_group) == ("logs", 10, "end", "shared")
    assert (audit.name, audit.max_batch_size, audit.consumer_group, audit.container) == ("audit", 125, "own", "c")
    assert logs.decorate_events and audit.decorate_events and logs.container == "logs"


@pytest.mark.parametrize("entry, expected", [
    (f'{{ "logs" => {{ event_hub_connection => "{conn("other")}" }} }}',
     "names another Event Hub (EntityPath=other); remove EntityPath or make it logs"),
    (f'{{ "logs" => {{ event_hub_connection => "{conn()}" max_batch_size => "many" }} }}',
     'event_hubs "logs": per-hub option "max_batch_size": expected an integer'),
    (f'{{ "logs" => {{ event_hub_connection => "{conn()}" bogus => 1 }} }}', "unknown setting 'bogus'"),
    ('{ "logs" => { max_batch_size => 5 } }', 'event_hubs "logs": missing event_hub_connection'),
    ('"logs"', "event_hubs must be a Hash"),
])
def test_advanced_mode_refusals(entry: str, expected: str) -> None:
    assert expected in config_error(f'azure_event_hubs {{ config_mode => "advanced" event_hubs => [{entry}] }}')


def test_required_settings_depend_on_the_mode() -> None:
    assert "required setting for the azure_event_hubs input plugin: event_hub_connections" in \
        config_error("azure_event_hubs { }")
    assert "required setting for the azure_event_hubs input plugin: event_hubs" in \
        config_error(f'azure_event_hubs {{ config_mode => "advanced" event_hub_connections => ["{conn("x")}"] }}')
    assert "event_hub_connection belongs inside an advanced-mode entry" in \
        config_error(f'azure_event_hubs {{ event_hub_connection => "{conn("x")}" }}')


def test_two_hubs_checkpointing_into_one_container_with_one_group_are_refused() -> None:
    text = f"""azure_event_hubs {{ config_mode => "advanced" storage_connection => "UseDevelopmentStorage=true"
        event_hubs => [ {{ "a" => {{ event_hub_connection => "{conn()}" storage_container => "offsets" %s }} }},
                        {{ "b" => {{ event_hub_connection => "{conn()}" storage_container => "offsets" }} }} ] }}"""
    assert "will result in overwriting offsets" in config_error(text % "")
    assert len(build_plugin("input", text % 'consumer_group => "other"', register=False).hubs) == 2


def test_threads_is_accepted_with_a_warning_and_bad_values_are_refused(caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="pipeline.plugin"):
        build_plugin("input", f'azure_event_hubs {{ event_hub_connections => ["{conn("h")}"] threads => 16 }}',
                     register=False)
    assert 'option "threads" has no effect here' in caplog.text
    assert "must be > 0" in config_error(f'azure_event_hubs {{ event_hub_connections => ["{conn("h")}"] '
                                         "max_batch_size => 0 }")
    assert "expected one of 'beginning', 'end', 'look_back'" in config_error(
        f'azure_event_hubs {{ event_hub_connections => ["{conn("h")}"] initial_position => "latest" }}')


def test_register_quiets_the_sdks_info_logging_but_keeps_its_warnings() -> None:
    sdk = logging.getLogger("azure")
    saved = sdk.level
    sdk.setLevel(logging.NOTSET)
    try:
        build_plugin("input", f'azure_event_hubs {{ event_hub_connections => ["{conn("h")}"] }}', register=True)
        assert sdk.level == logging.WARNING
        sdk.setLevel(logging.INFO)  # chosen by the user (logging config): left alone
        build_plugin("input", f'azure_event_hubs {{ event_hub_connections => ["{conn("h")}"] }}', register=True)
        assert sdk.level == logging.INFO
    finally:
        sdk.setLevel(saved)


def test_the_corpus_config_passes_check_once_its_deployment_fills_in_the_connection_string(tmp_path) -> None:
    kept = CORPUS / "Cargill__OpenSIEM-Logstash-Parsing__config__inputs__azure__event_hub_audit_azure.event_hub_signin.conf"
    deployed = tmp_path / "signin.conf"
    deployed.write_text(kept.read_text().replace("VAR_AZURE_SIGNIN_CONN", conn("signin")))
    args = argparse.Namespace(path_config=[str(deployed)], config_string=None, path_settings=None)
    [(_, built)] = build_all(args, require_inputs=False)
    assert built is not None


def test_the_relay_pads_a_trimmed_performative_and_leaves_other_frames_alone() -> None:
    begin = bytes([0x00, 0x53, 0x11, 0xC0, 0x03, 0x02, 0x40, 0x43])  # begin(remote-channel null, next-id 0)
    frame = (8 + len(begin)).to_bytes(4, "big") + b"\x02\x00\x00\x00" + begin
    padded = pad_performative(frame)
    assert int.from_bytes(padded[:4], "big") == len(padded)
    assert padded[8:11] == b"\x00\x53\x11" and padded[11] == 0xD0
    assert int.from_bytes(padded[16:20], "big") == 8 and padded[20:22] == b"\x40\x43" and padded[22:] == b"\x40" * 6
    sasl = (8 + 3).to_bytes(4, "big") + b"\x02\x01\x00\x00" + b"\x00\x53\x44"
    assert pad_performative(sasl) == sasl


# -- the real SDK against the stand-in -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def service() -> Iterator[EventHubsStandIn]:
    standin = EventHubsStandIn().start()
    yield standin
    standin.stop()


@pytest.fixture(scope="module")
def azurite(tmp_path_factory) -> Iterator[Azurite]:
    if azurite_blob_command() is None:
        pytest.skip("azurite-blob not installed: npm install --prefix tests/inputs (scripts/test.sh does)")
    blob = Azurite(tmp_path_factory.mktemp("azurite"))
    yield blob
    blob.stop()


def hub_config(service: EventHubsStandIn, hub: str, extra: str = "") -> str:
    return f'azure_event_hubs {{ event_hub_connections => ["{service.connection_string(hub)}"] {extra} }}'


def wait_for(predicate, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout}s")
        time.sleep(0.05)


def test_events_are_decoded_and_decorated_as_logstash_does(service, start_input) -> None:
    service.create_hub("decorated", partitions=2)
    sent = service.send("decorated", '{"user": "ann"}', partition="1", properties={"origin": "app"})
    service.send("decorated", "not json", partition="0")
    running = start_input(hub_config(service, "decorated", 'decorate_events => true codec => json '
                                                           'consumer_group => "$Default" tags => ["eh"]'))
    events = running.collect(2, timeout=30)
    by_partition = {e.get("[@metadata][azure_event_hubs][partition]"): e for e in events}
    good, bad = by_partition["1"], by_partition["0"]
    assert good.get("user") == "ann" and good.get("tags") == ["eh"]
    metadata = good.get("[@metadata][azure_event_hubs]")
    assert set(metadata) == {"name", "consumer_group", "processor_host", "partition", "offset", "sequence",
                             "timestamp", "event_size", "user_properties"}
    assert (metadata["name"], metadata["consumer_group"], metadata["offset"], metadata["sequence"]) == \
        ("decorated", "$Default", str(sent.offset), sent.sequence)
    assert metadata["timestamp"] == sent.enqueued_ms // 1000 and metadata["event_size"] == len(sent.body)
    assert metadata["user_properties"] == {"origin": "app"} and metadata["processor_host"]
    assert bad.get("message") == "not json" and "_jsonparsefailure" in bad.get("tags")  # kept, tagged


def test_without_decorate_events_no_metadata_is_added(service, start_input) -> None:
    service.create_hub("plain", partitions=1)
    service.send("plain", "line one")
    running = start_input(hub_config(service, "plain"))
    [event] = running.collect(1, timeout=30)
    assert event.get("message") == "line one" and event.get("[@metadata][azure_event_hubs]") is None


def test_initial_position_end_skips_what_was_there_and_beginning_reads_it(service, start_input) -> None:
    service.create_hub("positions", partitions=2)
    for n in range(4):
        service.send("positions", f"old {n}", partition=str(n % 2))
    attached = len(service.attaches)
    at_end = start_input(hub_config(service, "positions", 'initial_position => "end"'))
    wait_for(lambda: len(service.attaches) >= attached + 2, "both partitions attached")
    assert service.attaches[-2:] == ["amqp.annotation.x-opt-offset > '@latest'"] * 2
    service.send("positions", "new", partition="1")
    at_end.collect(1, timeout=30)
    assert at_end.messages() == ["new"]
    from_start = start_input(hub_config(service, "positions"))
    from_start.collect(5, timeout=30)
    assert sorted(from_start.messages()) == ["new", "old 0", "old 1", "old 2", "old 3"]


def test_initial_position_look_back_starts_at_now_minus_the_look_back(service, start_input) -> None:
    service.create_hub("lookback", partitions=1)
    service.send("lookback", "two hours ago", enqueued_ms=int((time.time() - 7200) * 1000))
    service.send("lookback", "a minute ago", enqueued_ms=int((time.time() - 60) * 1000))
    running = start_input(hub_config(service, "lookback", 'initial_position => "look_back" '
                                                          "initial_position_look_back => 3600"))
    running.collect(1, timeout=30)
    assert running.messages() == ["a minute ago"]
    assert service.attaches[-1].startswith("amqp.annotation.x-opt-enqueued-time > '")


def closed_port() -> int:
    with socket.socket() as sock:  # nothing listens there once closed
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_an_unreachable_namespace_is_logged_and_retried_not_a_crash(start_input, caplog) -> None:
    port = closed_port()
    unreachable = (f"Endpoint=sb://127.0.0.1:{port}/;SharedAccessKeyName=k;SharedAccessKey={KEY};"
                   "EntityPath=nowhere;UseDevelopmentEmulator=true")
    with caplog.at_level(logging.ERROR, logger="pipeline.inputs.azure_event_hubs"):
        running = start_input(f'azure_event_hubs {{ event_hub_connections => ["{unreachable}"] }}')
        wait_for(lambda: "Event Hub nowhere" in caplog.text, "an error logged", timeout=60)
        assert not running.finished.is_set() and running.error is None  # still running, retrying
        running.stop()
    assert "(the SDK retries)" in caplog.text or "receiving again" in caplog.text
    assert running.error is None


@pytest.mark.slow
def test_unreachable_checkpoint_storage_is_logged_not_a_crash(service, start_input, caplog) -> None:
    service.create_hub("nostorage", partitions=1)
    storage = (f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={KEY};"
               f"BlobEndpoint=http://127.0.0.1:{closed_port()}/devstoreaccount1;")
    with caplog.at_level(logging.ERROR, logger="pipeline.inputs.azure_event_hubs"):
        running = start_input(hub_config(service, "nostorage", f'storage_connection => "{storage}"'))
        wait_for(lambda: "Event Hub nostorage, load balancing" in caplog.text, "a storage error logged", timeout=90)
        assert not running.finished.is_set() and running.error is None
        running.stop()
    assert running.error is None


# -- checkpoints in Azurite ------------------------------------------------------------------------------------------
def checkpoints(azurite: Azurite, service: EventHubsStandIn, hub: str, container: str) -> dict[str, int]:
    from azure.eventhub.extensions.checkpointstoreblob import BlobCheckpointStore

    store = BlobCheckpointStore.from_connection_string(azurite.connection_string, container)
    try:
        found = store.list_checkpoints(f"127.0.0.1:{service.port}", hub, "$Default")
    except Exception:  # noqa: BLE001 - the container does not exist yet
        return {}
    return {c["partition_id"]: c["sequence_number"] for c in found}


def test_checkpoints_go_to_blob_storage_and_a_restart_resumes_after_them(service, azurite, start_input) -> None:
    service.create_hub("resumed", partitions=2)
    for n in range(6):
        service.send("resumed", f"first {n}", partition=str(n % 2))
    options = f'storage_connection => "{azurite.connection_string}" storage_container => "resumed-offsets" ' \
              "checkpoint_interval => 0"
    first = start_input(hub_config(service, "resumed", options))
    first.collect(6, timeout=30)
    wait_for(lambda: checkpoints(azurite, service, "resumed", "resumed-offsets") == {"0": 2, "1": 2},
             "checkpoints of both partitions at sequence 2")
    first.stop()
    for n in range(2):
        service.send("resumed", f"second {n}", partition=str(n % 2))
    attached = len(service.attaches)
    second = start_input(hub_config(service, "resumed", options))
    second.collect(2, timeout=30)
    assert sorted(second.messages()) == ["second 0", "second 1"]  # nothing read twice
    offsets = {str(e.offset) for e in service.hubs["resumed"]["0"].events[2:3] + service.hubs["resumed"]["1"].events[2:3]}
    assert {a.split("'")[1] for a in service.attaches[attached:]} == offsets  # started after the checkpoints
    second.stop()


@pytest.mark.slow
def test_through_the_real_command_with_a_restart_each_event_is_written_once(service, azurite, tmp_path,
                                                                             pipeline_cmd) -> None:
    service.create_hub("e2e", partitions=2)
    out = tmp_path / "out.jsonl"
    config = tmp_path / "pipeline.conf"
    config.write_text(f"""
input {{ azure_event_hubs {{
  event_hub_connections => ["{service.connection_string("e2e")}"]
  storage_connection => "{azurite.connection_string}"
  decorate_events => true codec => json checkpoint_interval => 1
}} }}
filter {{ mutate {{ add_field => {{ "partition" => "%{{[@metadata][azure_event_hubs][partition]}}" }} }} }}
output {{ file {{ path => "{out}" flush_interval => 0 }} }}
""")

    def run_until(count: int) -> None:
        with open(tmp_path / "pipeline.log", "ab") as log:
            process = subprocess.Popen([*pipeline_cmd, "run", "-f", str(config), "--path.data", str(tmp_path / "data"),
                                        "--api.enabled", "false"], stdout=log, stderr=subprocess.STDOUT,
                                       env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            wait_for(lambda: out.exists() and len(out.read_text().splitlines()) >= count,
                     f"{count} events in the output", timeout=60)
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(60) == 0, (tmp_path / "pipeline.log").read_text()[-3000:]

    for n in range(10):
        service.send("e2e", json.dumps({"n": n}), partition=str(n % 2))
    run_until(10)
    for n in range(10, 14):
        service.send("e2e", json.dumps({"n": n}), partition=str(n % 2))
    run_until(14)
    events = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(e["n"] for e in events) == list(range(14)), (tmp_path / "pipeline.log").read_text()[-3000:]
    assert {e["partition"] for e in events} == {"0", "1"}
    assert checkpoints(azurite, service, "e2e", "e2e") == {"0": 6, "1": 6}


@pytest.mark.slow
def test_a_killed_pipeline_reads_again_from_its_last_checkpoint_and_loses_nothing(service, azurite, tmp_path,
                                                                                   pipeline_cmd) -> None:
    service.create_hub("killed", partitions=1)
    out = tmp_path / "out.jsonl"
    config = tmp_path / "pipeline.conf"
    config.write_text(f"""
input {{ azure_event_hubs {{ event_hub_connections => ["{service.connection_string("killed")}"]
  storage_connection => "{azurite.connection_string}" codec => json checkpoint_interval => 0 }} }}
output {{ file {{ path => "{out}" flush_interval => 0 }} }}
""")
    command = [*pipeline_cmd, "run", "-f", str(config), "--path.data", str(tmp_path / "data"), "--api.enabled",
               "false"]
    with open(tmp_path / "pipeline.log", "ab") as log:  # both runs log there
        for n in range(5):
            service.send("killed", json.dumps({"n": n}))
        first = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: checkpoints(azurite, service, "killed", "killed") == {"0": 4}, "a checkpoint at 4")
            for n in range(5, 8):  # read, maybe checkpointed or not when the kill comes
                service.send("killed", json.dumps({"n": n}))
            wait_for(lambda: out.exists() and len(out.read_text().splitlines()) >= 8, "8 events written")
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(30)
        service.send("killed", json.dumps({"n": 8}))
        second = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            # The dead instance's partition ownership expires 30 s after its last renewal (Logstash's lease).
            wait_for(lambda: {json.loads(line)["n"] for line in out.read_text().splitlines()} >= set(range(9)),
                     "every event written after the restart", timeout=90)
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(60) == 0
    written = [json.loads(line)["n"] for line in out.read_text().splitlines()]
    assert set(written) == set(range(9))  # at least once: a re-read may repeat events after the checkpoint
    assert written.count(8) == 1 and all(written.count(n) == 1 for n in range(5))  # before the checkpoint: once


def test_receive_batches_are_pushed_within_the_queues_push_limit(service) -> None:
    # max_batch_size 125 events per SDK batch, one push per batch: into a 20-event queue, 10 at most.
    service.create_hub("limited", partitions=1)
    for n in range(50):
        service.send("limited", f"event {n}")
    plugin = build_plugin("input", hub_config(service, "limited"))
    try:
        sizes, events = run_into_small_queue(plugin, capacity=20, until=50, timeout=120)
    finally:
        plugin.stop()
        plugin.close()
    assert sizes and max(sizes) <= 10 and sum(sizes) == 50
    assert [e.get("message") for e in events] == [f"event {n}" for n in range(50)]
