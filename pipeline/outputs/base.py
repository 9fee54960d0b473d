"""Output base: ``receive(events)`` gets a whole batch from a worker thread.

``receive`` returns once the batch is delivered (or dead-lettered); a
retryable failure blocks and retries inside ``receive`` so backpressure
reaches the queue and the inputs. Outputs are shared by all workers; set
``concurrency = "single"`` to have the runtime serialise calls.
``@metadata`` must never be written out: use :func:`pipeline.serde.event_json`
or ``event.to_dict()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pipeline.event import Event
from pipeline.plugin import BaseOptions, Codec, Plugin, no_effect, option


@dataclass(frozen=True, kw_only=True)
class OutputOptions(BaseOptions):
    workers: Any = no_effect("This parameter will be ignored (as in Logstash): the pipeline's workers run outputs")
    codec: Codec = option("plain", "Codec encoding each event.")


class Output(Plugin):
    kind = "output"
    Options: ClassVar[type] = OutputOptions
    concurrency: ClassVar[Literal["shared", "single"]] = "shared"

    @property
    def codec(self) -> Any:
        return self.options.codec

    def receive(self, events: list[Event]) -> None:
        raise NotImplementedError

    def flush(self) -> None:
        """Write out anything buffered; called at stop before close."""
