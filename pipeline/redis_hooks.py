"""redis-py connections that send renamed commands (``command_map``) and use our TLS context.

redis-py has no setting for either: its connection pool builds every connection from a class and
keyword arguments, so :func:`hook_connections` gives the pool subclasses of redis-py's own
connection classes. Renaming happens where a command is packed for the wire, so pipelines, Lua
script loading (SCRIPT LOAD, EVALSHA) and pub/sub are covered as well as single commands.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from typing import Any

import redis
from redis.connection import Connection, SSLConnection, UnixDomainSocketConnection


class RenamingPacker:
    """Wraps redis-py's command packer: the command's first word goes out under its new name."""

    def __init__(self, packer: Any, renames: Mapping[str, str]) -> None:
        self._packer = packer
        self._renames = {old.upper().encode(): new.encode() for old, new in renames.items()}

    def pack(self, *args: Any) -> Any:
        first = args[0].encode() if isinstance(args[0], str) else bytes(args[0])
        name, space, rest = first.partition(b" ")  # "SCRIPT LOAD": the command is the first word
        new = self._renames.get(name.upper())
        if new is not None:
            args = (new + space + rest, *args[1:])
        return self._packer.pack(*args)


class _Hooked:
    """Mixin taking ``command_map`` (and, for TLS, ``tls_context``) as connection keyword arguments."""

    _command_packer: Any  # set by redis-py's AbstractConnection.__init__

    def __init__(self, *, command_map: Mapping[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if command_map:
            self._command_packer = RenamingPacker(self._command_packer, command_map)


class HookedConnection(_Hooked, Connection):
    pass


class HookedUnixConnection(_Hooked, UnixDomainSocketConnection):
    pass


class HookedTlsConnection(_Hooked, SSLConnection):
    """TLS with a context built once from the plugin's options (redis-py cannot cap the TLS version)."""

    def __init__(self, *, tls_context: ssl.SSLContext, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._tls_context = tls_context

    def _wrap_socket_with_ssl(self, sock: Any) -> Any:
        return self._tls_context.wrap_socket(sock, server_hostname=self.host)


def hook_connections(client: redis.Redis, command_map: Mapping[str, str],
                     context: ssl.SSLContext | None) -> None:
    """Make the connections ``client`` opens from now on rename commands and, with ``context``, use TLS."""
    pool = client.connection_pool
    kwargs: dict[str, Any] = {"command_map": dict(command_map)}
    if context is not None:
        pool.connection_class = HookedTlsConnection
        kwargs["tls_context"] = context
    elif issubclass(pool.connection_class, UnixDomainSocketConnection):
        pool.connection_class = HookedUnixConnection
    else:
        pool.connection_class = HookedConnection
    pool.connection_kwargs.update(kwargs)
