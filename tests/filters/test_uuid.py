"""uuid: target, overwrite."""

from __future__ import annotations

import uuid

from pipeline.testing import run_filters


def test_uuid_added_and_unique() -> None:
    out = run_filters('uuid { target => "[@metadata][id]" add_tag => ["id"] }', [{}, {}])
    ids = [e.get("[@metadata][id]") for e in out]
    assert all(uuid.UUID(i).version == 4 for i in ids) and ids[0] != ids[1]
    assert all(e.has_tag("id") for e in out)


def test_overwrite() -> None:
    [kept] = run_filters('uuid { target => "id" }', [{"id": "mine"}])
    [replaced] = run_filters('uuid { target => "id" overwrite => true }', [{"id": "mine"}])
    assert kept.get("id") == "mine" and replaced.get("id") != "mine"
