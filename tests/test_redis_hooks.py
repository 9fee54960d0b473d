"""Renamed Redis commands go out under their new names: single commands, pipelines, Lua scripts."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
from redis.connection import PythonRespSerializer
from support.redis_server import private_redis

from pipeline.redis_connection import connect
from pipeline.redis_hooks import RenamingPacker
from pipeline.testing import build_plugin


def test_the_first_word_of_a_command_is_renamed() -> None:
    packer = RenamingPacker(PythonRespSerializer(6000, lambda v: v if isinstance(v, bytes) else str(v).encode()),
                            {"script": "S2", "rpush": "ADD"})
    assert b"".join(packer.pack("SCRIPT LOAD", "return 1")) == b"*3\r\n$2\r\nS2\r\n$4\r\nLOAD\r\n$8\r\nreturn 1\r\n"
    assert b"$3\r\nADD\r\n" in b"".join(packer.pack(b"RPUSH", "k", "v"))
    assert b"$4\r\nLPOP\r\n" in b"".join(packer.pack("LPOP", "k"))


def test_a_server_with_renamed_commands_is_usable_only_through_command_map(tmp_path: Path) -> None:
    renames = {"RPUSH": "ADD_ITEMS", "EVALSHA": "RUN_SHA", "SCRIPT": "SCRIPTS"}
    with private_redis(tmp_path, renames=renames) as port:
        plain = build_plugin("output", f'redis {{ key => "k" data_type => "list" port => {port} }}', register=False)
        with pytest.raises(redis.ResponseError, match="unknown command"):
            connect(plain.options, "127.0.0.1").rpush("k", "x")
        mapped = build_plugin("output", f'''redis {{ key => "k" data_type => "list" port => {port}
            command_map => {{ "rpush" => "ADD_ITEMS" "evalsha" => "RUN_SHA" "script" => "SCRIPTS" }} }}''',
                              register=False)
        client = connect(mapped.options, "127.0.0.1")
        with client.pipeline(transaction=False) as pipe:
            pipe.rpush("k", "a", "b")
            pipe.rpush("k", "c")
            pipe.execute()
        assert client.register_script("return redis.call('LLEN', KEYS[1])")(keys=["k"]) == 3
