"""local_index output (PLACEHOLDER until the embedded SQLite index lands): daily JSON-lines files under path.data."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from pipeline import serde
from pipeline.event import Event
from pipeline.outputs.base import Output, OutputOptions
from pipeline.plugin import option, register
from pipeline.template import Template


@dataclass(frozen=True, kw_only=True)
class LocalIndexOptions(OutputOptions):
    index: str = option("logs-%{+YYYY.MM.dd}", "Daily index name (sprintf).")
    index_timezone: str = option("UTC", "Timezone of the date in the index name.")
    path: Path | None = option(None, "Directory of the index files (default: <path.data>/index).")


@register
class LocalIndex(Output):
    """Writes events to the embedded local index under path.data (the default output)."""

    name = "local_index"
    Options = LocalIndexOptions
    concurrency = "single"

    def register(self) -> None:
        self._dir = self.options.path or (self.context.path_data / "index")
        self._dir.mkdir(parents=True, exist_ok=True)
        self._index = Template(self.options.index, self.options.index_timezone)
        self._lock = threading.Lock()

    def receive(self, events: list[Event]) -> None:
        grouped: dict[str, list[bytes]] = {}
        for event in events:
            grouped.setdefault(self._index.render(event), []).append(serde.event_json(event) + b"\n")
        with self._lock:
            for index, lines in grouped.items():
                with open(self._dir / f"{index}.ndjson", "ab") as handle:
                    handle.write(b"".join(lines))
