"""dead_letter_queue input: replays events an output dead-lettered, so they can be fixed and re-sent.

Each event comes back as it was when it failed, with
``[@metadata][dead_letter_queue]`` holding ``reason``, ``plugin_type``,
``plugin_id`` and ``entry_time``. With ``commit_offsets`` the position is
saved after each batch is accepted by the queue, so a restart resumes where
it stopped; ``clean_consumed`` deletes segments once fully read.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

import orjson

from pipeline.event import Event
from pipeline.inputs.base import Input, InputContext, InputOptions
from pipeline.plugin import option, register
from pipeline.queue.dead_letter import DeadLetterReader, Position
from pipeline.timestamp import Timestamp

BATCH = 256


def _check_timestamp(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        Timestamp.parse(value)
    except ValueError:
        return f"expected an ISO8601 time like 2026-11-21T00:00:00Z, got {value!r}"
    return None


@dataclass(frozen=True, kw_only=True)
class DeadLetterQueueOptions(InputOptions):
    path: Path | None = option(None, "The dead letter queue directory (the one holding <pipeline_id>/); "
                               "default <path.data>/dead_letter_queue.")
    pipeline_id: str = option("main", "Pipeline whose dead letter queue to read.")
    commit_offsets: bool = option(True, "Save the read position so a restart does not replay again.")
    clean_consumed: bool = option(False, "Delete segments once all their events are read (needs commit_offsets).")
    start_timestamp: str | None = option(None, "Only events dead-lettered at or after this time (ISO8601).",
                                         check=_check_timestamp)
    sincedb_path: Path | None = option(None, "File keeping the read position; default under path.data.")
    poll_interval: float = option(1.0, "Seconds between looks for new segments when idle.")

    def __post_init__(self) -> None:
        if self.clean_consumed and not self.commit_offsets:
            raise ValueError("clean_consumed needs commit_offsets => true")


@register
class DeadLetterQueue(Input):
    """Reads events from a pipeline's dead letter queue (after fixing what made them fail)."""

    name = "dead_letter_queue"
    Options = DeadLetterQueueOptions

    def register(self) -> None:
        root = self.options.path or (Path(self.context.path_data) / "dead_letter_queue")
        self.directory = Path(root) / self.options.pipeline_id
        start = Timestamp.parse(self.options.start_timestamp) if self.options.start_timestamp else None
        self.reader = DeadLetterReader(self.directory, start_timestamp=start)
        self.sincedb = self.options.sincedb_path or (
            Path(self.context.path_data) / "plugins" / "inputs" / "dead_letter_queue" / self.options.pipeline_id
            / f".sincedb_{self.id}")
        self.position = self._load_position()
        if not self.directory.is_dir():
            self.logger.warning("dead_letter_queue input %s: %s does not exist yet; waiting for entries",
                                self.id, self.directory)

    async def run(self, ctx: InputContext) -> None:
        while not ctx.is_stopping:
            limit = min(BATCH, ctx.queue.push_limit())
            batch, position = await asyncio.to_thread(self._read_batch, self.position, limit)
            if not batch:
                await ctx.wait_stopping(self.options.poll_interval)
                continue
            await ctx.push(batch)
            self.position = position
            if self.options.commit_offsets:
                self._save_position(position)
            if self.options.clean_consumed:
                self._clean(position)

    def _read_batch(self, position: Position, limit: int = BATCH) -> tuple[list[Event], Position]:
        listed = self.reader.segments()  # before reading: a segment sealed meanwhile is read next time
        events: list[Event] = []
        for entry, after in self.reader.read(position):
            events.append(entry.to_event())
            position = after
            if len(events) >= limit:
                return events, position
        if listed and listed[-1] >= position.segment:
            # Everything listed was read or skipped (start_timestamp, torn lines): stand at its end.
            position = max(position, Position(listed[-1], self.reader.end_of_segment(listed[-1])))
        return events, position

    def _load_position(self) -> Position:
        if not self.options.commit_offsets or not self.sincedb.exists():
            return Position()
        try:
            raw = orjson.loads(self.sincedb.read_bytes())
            return Position(int(raw["segment"]), int(raw["offset"]))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            self.logger.warning("dead_letter_queue input %s: unreadable %s; starting from the beginning",
                                self.id, self.sincedb)
            return Position()

    def _save_position(self, position: Position) -> None:
        self.sincedb.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.sincedb.with_name(self.sincedb.name + ".tmp")
        tmp.write_bytes(orjson.dumps({"segment": position.segment, "offset": position.offset}))
        os.replace(tmp, self.sincedb)

    def _clean(self, position: Position) -> None:
        for number in self.reader.segments():
            fully_read = number < position.segment or (
                number == position.segment and position.offset >= self.reader.end_of_segment(number))
            if fully_read:
                try:
                    (self.directory / f"{number}.log").unlink()
                except FileNotFoundError:
                    pass
