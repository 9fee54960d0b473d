"""The azure_event_hubs input's configuration, one ``HubConfig`` per Event Hub read.

Logstash's plugin "explodes" its options the same way: basic mode reads one Event Hub per connection string
(the hub is the string's ``EntityPath``) and shares every other option; advanced mode lists hashes
``{ "hub name" => { per-hub options } }`` whose options override the top-level ones. Validation messages
are Logstash's, so a config refused there is refused here with the same words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pipeline.plugin import Secret

# The options a hash of advanced mode may set (Logstash validates them with the plugin's own rules).
PER_HUB_OPTIONS = ("event_hub_connection", "storage_connection", "storage_container", "consumer_group",
                   "max_batch_size", "prefetch_count", "receive_timeout", "initial_position",
                   "initial_position_look_back", "checkpoint_interval", "decorate_events")
_SECRET_KEY = re.compile(r"(SharedAccessKey=)([0-9a-zA-Z=+/]*)")


class EventHubsConfigError(ValueError):
    """A configuration Logstash refuses too; the message says what to change."""


@dataclass(frozen=True)
class HubConfig:
    """Everything needed to read one Event Hub."""

    name: str
    connection: Secret
    consumer_group: str
    storage_connection: Secret | None
    storage_container: str | None
    max_batch_size: int
    prefetch_count: int
    receive_timeout: float
    initial_position: str
    initial_position_look_back: float
    checkpoint_interval: float
    decorate_events: bool

    @property
    def container(self) -> str:
        """Where checkpoints go: storage_container, else (as Logstash) the Event Hub's name."""
        return self.storage_container or self.name


def redact(connection: str) -> str:
    """The connection string without its key, for messages (Logstash's redaction)."""
    return _SECRET_KEY.sub(r"\1<redacted>", connection)


def parse_connection_string(connection: str) -> dict[str, str]:
    """``Key=value;...`` pairs of an Event Hubs connection string (keys as written)."""
    pairs: dict[str, str] = {}
    for part in connection.strip().split(";"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep:
            raise EventHubsConfigError(f"'{redact(connection)}' is not a connection string: "
                                       f"'{redact(part)}' is not Key=value")
        pairs[key.strip()] = value.strip()
    return pairs


def _endpoint_problem(pairs: dict[str, str]) -> str | None:
    endpoint = pairs.get("Endpoint", "")
    if not re.match(r"^sb://[^/;]+", endpoint):
        return "it needs Endpoint=sb://<namespace>.servicebus.windows.net/"
    if not (pairs.get("SharedAccessKeyName") and pairs.get("SharedAccessKey")) and \
            not pairs.get("SharedAccessSignature"):
        return "it needs SharedAccessKeyName and SharedAccessKey (or SharedAccessSignature)"
    return None


def basic_hub_name(connection: str) -> str:
    """The Event Hub a basic-mode connection string names (its EntityPath), or Logstash's refusal."""
    refusal = (f"Error parsing event hub string name for connection: '{redact(connection)}' please ensure that "
               "the connection string contains the EntityPath")
    try:
        pairs = parse_connection_string(connection)
    except EventHubsConfigError:
        raise EventHubsConfigError(refusal) from None
    name = pairs.get("EntityPath")
    if not name:
        raise EventHubsConfigError(refusal)
    problem = _endpoint_problem(pairs)
    if problem:
        raise EventHubsConfigError(f"connection '{redact(connection)}': {problem}")
    return name


def check_advanced_connection(name: str, connection: str) -> None:
    """An advanced-mode connection may carry an EntityPath only if it is the hub's own name (Logstash's rule)."""
    pairs = parse_connection_string(connection)
    problem = _endpoint_problem(pairs)
    if problem:
        raise EventHubsConfigError(f"event_hubs \"{name}\": event_hub_connection '{redact(connection)}': {problem}")
    entity = pairs.get("EntityPath")
    if entity and entity != name:
        raise EventHubsConfigError(
            f"event_hubs \"{name}\": the event_hub_connection names another Event Hub (EntityPath={entity}); "
            f"remove EntityPath or make it {name}")


def explode(options: Any, convert: Any) -> list[HubConfig]:
    """One HubConfig per Event Hub from the plugin's options.

    ``convert(option_name, raw_value)`` validates a per-hub value with the top-level option's own rules
    (advanced mode), returning the converted value or raising EventHubsConfigError.
    """
    if options.event_hub_connection is not None:
        raise EventHubsConfigError("event_hub_connection belongs inside an advanced-mode entry: event_hubs => "
                                   "[{ \"name\" => { event_hub_connection => \"...\" } }]; at the top level use "
                                   "event_hub_connections (basic mode, with EntityPath)")
    shared = {key: getattr(options, key) for key in PER_HUB_OPTIONS if key != "event_hub_connection"}
    hubs: list[HubConfig] = []
    if options.config_mode == "basic":
        if not options.event_hub_connections:
            raise EventHubsConfigError("Missing a required setting for the azure_event_hubs input plugin: "
                                       "event_hub_connections (config_mode basic reads the Event Hubs of these "
                                       "connection strings, each with its EntityPath)")
        for secret in options.event_hub_connections:
            connection = secret.reveal()
            hubs.append(HubConfig(name=basic_hub_name(connection), connection=secret, **shared))
    else:
        if not options.event_hubs:
            raise EventHubsConfigError("Missing a required setting for the azure_event_hubs input plugin: event_hubs "
                                       "(config_mode advanced reads event_hubs => [{ \"name\" => { "
                                       "event_hub_connection => \"Endpoint=sb://...\" } }])")
        for entry in options.event_hubs:
            if not isinstance(entry, dict):
                raise EventHubsConfigError("event_hubs must be a Hash: write event_hubs => [{ \"name\" => "
                                           "{ event_hub_connection => \"Endpoint=sb://...\" } }]")
            for name, settings in entry.items():
                hubs.append(_advanced_hub(str(name), settings, shared, convert))
    _refuse_shared_checkpoints(hubs)
    return hubs


def _advanced_hub(name: str, settings: Any, shared: dict[str, Any], convert: Any) -> HubConfig:
    if not isinstance(settings, dict):
        raise EventHubsConfigError(f"event_hubs \"{name}\": expected a hash of options, got {settings!r}")
    values = dict(shared)
    connection: Secret | None = None
    for key, raw in settings.items():
        if key == "event_hub_connection":
            connection = Secret(str(raw.reveal() if isinstance(raw, Secret) else raw))
        elif key in PER_HUB_OPTIONS:
            try:
                values[key] = convert(key, raw)
            except EventHubsConfigError as exc:
                raise EventHubsConfigError(f"event_hubs \"{name}\": {exc}") from None
        else:
            raise EventHubsConfigError(f"event_hubs \"{name}\": unknown setting '{key}' "
                                       f"(per Event Hub: {', '.join(PER_HUB_OPTIONS)})")
    if connection is None:
        raise EventHubsConfigError(f"event_hubs \"{name}\": missing event_hub_connection "
                                   "(the namespace's connection string, with or without EntityPath)")
    check_advanced_connection(name, connection.reveal())
    return HubConfig(name=name, connection=connection, **values)


def _refuse_shared_checkpoints(hubs: list[HubConfig]) -> None:
    """Two hubs checkpointing into one container with one consumer group would overwrite each other's offsets."""
    seen: set[tuple[str, str, str]] = set()
    for hub in hubs:
        if hub.storage_connection is None:
            continue
        key = (hub.storage_connection.reveal(), hub.container, hub.consumer_group)
        if key in seen:
            raise EventHubsConfigError("The configuration will result in overwriting offsets. Please ensure that "
                                       "the each Event Hub's consumer_group is using a unique storage container.")
        seen.add(key)
