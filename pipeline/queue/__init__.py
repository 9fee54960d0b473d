"""Queues between inputs and workers: one protocol (``base.Queue``), several backings."""

from pipeline.queue.base import Queue
from pipeline.queue.memory import MemoryQueue

__all__ = ["MemoryQueue", "Queue"]
