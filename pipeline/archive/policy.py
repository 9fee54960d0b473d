"""The retention policy file: how long indices stay in the engine and in each archive tier.

    # retention.yml
    index_pattern: "logs-*"
    hot: 7d                      # in Elasticsearch / the local index
    tiers:
      - name: nas
        type: directory
        path: /mnt/nas/logs-archive
        until: 30d               # then moved to the next tier
      - name: object-storage
        type: s3
        bucket: logs-archive
        prefix: pipeline/
        endpoint: https://oss-cn-hangzhou.aliyuncs.com   # AWS S3, MinIO, Alibaba OSS...
        region: us-east-1
        force_path_style: false
        access_key_id: ${S3_ACCESS_KEY}
        secret_access_key: ${S3_SECRET_KEY}
        until: 180d              # then deleted

``${VAR}`` is replaced from the environment. Ages are whole days (``7d``, ``4w``), counted from the
day in the index name; each tier's ``until`` must be later than the one before.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipeline.elasticsearch.ilm import parse_days


class PolicyError(ValueError):
    """The policy file is invalid; the message names the file and the problem."""


@dataclass(frozen=True)
class TierSpec:
    name: str
    type: str  # directory | s3
    until_days: int
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Policy:
    hot_days: int
    tiers: tuple[TierSpec, ...]
    index_pattern: str = "logs-*"
    source: str = "<policy>"


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}")
_DIRECTORY_KEYS = {"name", "type", "path", "until"}
_S3_KEYS = {"name", "type", "bucket", "prefix", "endpoint", "region", "force_path_style", "access_key_id",
            "secret_access_key", "session_token", "until"}


def _expand(text: str, source: str) -> str:
    def value(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        raise PolicyError(f"{source}: environment variable {name} is not set (use ${{{name}:default}})")
    return _VAR.sub(value, text)


def _days(value: Any, where: str) -> int:
    try:
        return parse_days(str(value))
    except ValueError as exc:
        raise PolicyError(f"{where}: {exc}") from exc


def load_policy(path: Path) -> Policy:
    """Read and validate a policy file; PolicyError lists the first problem with its place."""
    source = str(path)
    try:
        raw = yaml.safe_load(_expand(path.read_text(encoding="utf-8"), source))
    except OSError as exc:
        raise PolicyError(f"{source}: cannot read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise PolicyError(f"{source}: not valid YAML: {exc}") from exc
    return parse_policy(raw, source)


def parse_policy(raw: Any, source: str = "<policy>") -> Policy:
    if not isinstance(raw, dict):
        raise PolicyError(f"{source}: expected a mapping with hot and tiers")
    unknown = set(raw) - {"hot", "tiers", "index_pattern"}
    if unknown:
        raise PolicyError(f"{source}: unknown key(s) {sorted(unknown)} (expected hot, tiers, index_pattern)")
    if "hot" not in raw:
        raise PolicyError(f"{source}: missing 'hot' (days indices stay in the engine, e.g. 7d)")
    hot = _days(raw["hot"], f"{source}: hot")
    tiers: list[TierSpec] = []
    previous = hot
    for number, item in enumerate(raw.get("tiers") or [], 1):
        where = f"{source}: tiers[{number}]"
        if not isinstance(item, dict):
            raise PolicyError(f"{where}: expected a mapping")
        kind = item.get("type")
        allowed = {"directory": _DIRECTORY_KEYS, "s3": _S3_KEYS}.get(str(kind))
        if allowed is None:
            raise PolicyError(f"{where}: type must be directory or s3, got {kind!r}")
        unknown = set(item) - allowed
        if unknown:
            raise PolicyError(f"{where}: unknown key(s) {sorted(unknown)} for type {kind}")
        required = ("path",) if kind == "directory" else ("bucket",)
        for key in (*required, "until"):
            if key not in item:
                raise PolicyError(f"{where}: missing '{key}'")
        until = _days(item["until"], f"{where}: until")
        if until <= previous:
            raise PolicyError(f"{where}: until {until}d must be later than the previous stage ({previous}d)")
        previous = until
        name = str(item.get("name") or f"tier{number}")
        settings = {k: v for k, v in item.items() if k not in ("name", "type", "until")}
        tiers.append(TierSpec(name, str(kind), until, settings))
    if len({t.name for t in tiers}) != len(tiers):
        raise PolicyError(f"{source}: tier names must be unique")
    return Policy(hot, tuple(tiers), str(raw.get("index_pattern") or "logs-*"), source)
