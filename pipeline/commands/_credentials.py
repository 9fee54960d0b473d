"""Basic-auth credentials from the command line: both halves or neither.

``--user`` without a password used to connect without any credentials, which a
secured cluster then refuses with a puzzling 401 (or, worse, an open one
accepts). A half-given pair is a usage error instead (exit code 2). Pipeline
config plugins keep Logstash's rule (a user without password sends nothing):
this helper is for the commands only.
"""

from __future__ import annotations

import os

from pipeline.errors import UsageError

PASSWORD_ENV = "ES_PASSWORD"


def basic_auth(user: str | None, password: str | None, *, password_env: str | None = PASSWORD_ENV,
               user_sources: str = "--user", password_sources: str = "--password") -> tuple[str | None, str | None]:
    """The ``(user, password)`` to send, or ``(None, None)``.

    ``password`` is the one given explicitly; ``password_env`` fills it in only when a user
    is given (an ambient variable alone never asks for basic auth). ``*_sources`` name the
    places a value may come from, for the error message.
    """
    if password and not user:
        raise UsageError(f"a password ({password_sources}) given without a user: add {user_sources} "
                         "(or drop the password)")
    if not user:
        return None, None
    if not password and password_env:
        password = os.environ.get(password_env) or None
    if not password:
        where = f"{password_sources} or set {password_env}" if password_env else password_sources
        raise UsageError(f"user {user!r} ({user_sources}) given without a password: give {where}")
    return user, password


CONNECTION_FLAGS = (("user", "--user"), ("password", "--password"), ("api_key", "--api-key"),
                    ("ca_cert", "--ca-cert"), ("insecure", "--insecure"))


def require_es_for_connection_flags(args: object) -> None:
    """Refuse connection flags on a command that works on the local index (no ``--es``).

    ``pipeline search --user elastic …`` without ``--es`` searched the local index and ignored the user:
    someone who meant the cluster got local answers without a word. Only for commands whose cluster comes
    from ``--es`` alone (search, archive/restore with --policy); alerts may take it from the settings file.
    """
    if getattr(args, "es", None):
        return
    given = [flag for name, flag in CONNECTION_FLAGS if getattr(args, name, None)]
    if given:
        raise UsageError(f"{', '.join(given)} only apply to a cluster: add --es URL "
                         "(without --es the command works on the local index, which takes no credentials)")
