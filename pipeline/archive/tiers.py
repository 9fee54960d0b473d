"""Apply a retention policy: move each daily index to the stage its age calls for, verified.

Stages: 0 = the engine (hot), 1..N = the policy's tiers in order, N+1 = deleted. An index older
than its stage is moved one hop at a time (engine → tier 1 → tier 2 ...), each hop:

1. copy to the destination (export from the engine, or fetch from the previous tier and check it);
2. re-read the destination copy: sha256 and document count must match (and, from the engine,
   the index's live count);
3. only then delete the source.

Every step is idempotent and a run may stop anywhere (crash, kill): the next run finds each copy
where it was left, verifies, and goes on. Nothing is deleted unless the next copy verified.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from fnmatch import fnmatchcase
from pathlib import Path

from pipeline.archive.engines import Engine
from pipeline.archive.policy import Policy
from pipeline.archive.stores import Store
from pipeline.elasticsearch.archive import ArchiveError, ManifestEntry, index_date, verify_file


@dataclass
class TierResult:
    index: str
    action: str  # kept, moved, deleted, would-move, would-delete, failed
    detail: str = ""
    count: int = 0


def stage_for(day: date, policy: Policy, today: date) -> int:
    """0 = engine, i = policy.tiers[i-1], len(tiers)+1 = past every tier (delete)."""
    if day >= today - timedelta(days=policy.hot_days):
        return 0
    for number, tier in enumerate(policy.tiers, 1):
        if day >= today - timedelta(days=tier.until_days):
            return number
    return len(policy.tiers) + 1


def apply_policy(engine: Engine, stores: Sequence[Store], policy: Policy, *, today: date | None = None,
                 dry_run: bool = False) -> list[TierResult]:
    today = today or datetime.now(UTC).date()
    in_engine = set(engine.daily_indices(policy.index_pattern))
    listed = [{name: entry for name, entry in store.entries().items() if fnmatchcase(name, policy.index_pattern)}
              for store in stores]
    names = sorted(in_engine.union(*(set(m) for m in listed)))
    results: list[TierResult] = []
    for index in names:
        day = index_date(index)
        if day is None:
            continue
        target = stage_for(day, policy, today)
        where = ([0] if index in in_engine else []) + [n for n, m in enumerate(listed, 1) if index in m]
        if all(stage >= target for stage in where) and target <= len(stores):
            continue  # already where it belongs (or further on, e.g. restored by hand)
        name_of = ["engine", *(s.name for s in stores), "deleted"]
        if dry_run:
            action = "would-delete" if target > len(stores) else "would-move"
            results.append(TierResult(index, action, f"{'+'.join(name_of[s] for s in where)} → {name_of[target]}"))
            continue
        try:
            results.append(_advance(index, target, where, engine, stores))
        except ArchiveError as exc:
            results.append(TierResult(index, "failed", str(exc)))
    return results


def _advance(index: str, target: int, where: list[int], engine: Engine, stores: Sequence[Store]) -> TierResult:
    """Move ``index`` hop by hop from its earliest stage to ``target``."""
    hops: list[str] = []
    count = 0
    last_store = len(stores)
    destination = min(target, last_store)
    with tempfile.TemporaryDirectory(prefix="pipeline-tiers-") as tmp:
        work = Path(tmp)
        # Past every tier: nothing to copy, only copies to delete.
        first = destination if target > last_store else min(where)
        for stage in range(first, destination):
            store = stores[stage]  # the next stage's store (stage + 1)
            present = store.entries().get(index)
            if stage == 0:
                if present is None:
                    entry = engine.export(index, work)
                    store.put(work / entry.file, entry)
                    present = entry
                store.verify(present)
                live = engine.count(index)
                if live != present.count:
                    raise ArchiveError(f"{index}: {store.name} holds {present.count} documents but the index "
                                       f"holds {live} (still being written?); nothing deleted")
                engine.delete(index)
            else:
                source = stores[stage - 1]
                if present is None:
                    source_entry = source.entries().get(index)
                    if source_entry is None:
                        raise ArchiveError(f"{index}: not found in {source.name} nor {store.name}")
                    copy = source.fetch(source_entry, work)
                    verify_file(copy, source_entry)
                    store.put(copy, source_entry)
                    present = source_entry
                store.verify(present)
                source.remove(index)
            count = present.count
            hops.append(f"{'engine' if stage == 0 else stores[stage - 1].name} → {store.name}")
        if target > last_store:
            if index in engine.daily_indices(index):
                engine.delete(index)
            for store in stores:
                store.remove(index)
            hops.append("deleted (past the last tier)")
            return TierResult(index, "deleted", "; ".join(hops), count)
    return TierResult(index, "moved", "; ".join(hops) + ", verified (count, sha256)", count)


def find_archived(index: str, stores: Sequence[Store]) -> tuple[Store, ManifestEntry] | None:
    """The nearest tier holding ``index``."""
    for store in stores:
        entry = store.entries().get(index)
        if entry is not None:
            return store, entry
    return None


def restore_index(index: str, engine: Engine, stores: Sequence[Store], *, into: str | None = None) -> tuple[str, int, int]:
    """Load ``index`` back into the engine from the nearest tier holding it: (store name, loaded, failed)."""
    found = find_archived(index, stores)
    if found is None:
        raise ArchiveError(f"{index} is in none of the tiers ({', '.join(s.name for s in stores)})")
    store, entry = found
    with tempfile.TemporaryDirectory(prefix="pipeline-restore-") as tmp:
        path = store.fetch(entry, Path(tmp))
        verify_file(path, entry)
        loaded, failed = engine.load(path, into or index)
    return store.name, loaded, failed
