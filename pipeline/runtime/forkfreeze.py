"""Imported last by the worker fork server (its preload): what the server imported leaves the cyclic
collector's reach before it forks a worker.

A forked worker shares the server's memory pages until it writes to them. Its start-up collection
(``agent.tune_gc``) would otherwise visit every inherited object, writing to each one's header and so
copying nearly every page (measured: ~0.015 s of CPU per worker process at start, -w 4 with an empty file:
0.52-0.57 -> 0.48-0.49 s for the whole run). Module-level objects live as long as the server anyway.
"""

import gc

gc.collect()
gc.freeze()
