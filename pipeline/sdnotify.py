"""systemd's notify protocol (``Type=notify``): one datagram per message to ``$NOTIFY_SOCKET``.

READY=1 once the pipelines run, RELOADING=1/READY=1 around a reload, STOPPING=1 at shutdown,
WATCHDOG=1 every half ``$WATCHDOG_USEC``. Without ``NOTIFY_SOCKET`` (not under systemd, or on
Windows) every call does nothing. An abstract socket name starts with ``@``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

log = logging.getLogger("pipeline.sdnotify")


def notify(*fields: str) -> bool:
    """Send ``KEY=value`` lines; False when there is no systemd to tell (or it cannot be reached)."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address or not hasattr(socket, "AF_UNIX"):
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall("\n".join(fields).encode("utf-8"))
        return True
    except OSError as exc:
        log.debug("sd_notify to %s failed: %s", address, exc)
        return False


def ready(status: str = "") -> bool:
    return notify("READY=1", *([f"STATUS={status}"] if status else []))


def reloading() -> bool:
    monotonic_usec = int(time.clock_gettime(time.CLOCK_MONOTONIC) * 1_000_000) if hasattr(
        time, "clock_gettime") else 0
    return notify("RELOADING=1", f"MONOTONIC_USEC={monotonic_usec}")


def stopping(status: str = "") -> bool:
    return notify("STOPPING=1", *([f"STATUS={status}"] if status else []))


def watchdog_interval() -> float | None:
    """Half the watchdog timeout systemd set for this process, in seconds (None: no watchdog)."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return max(0.5, int(usec) / 2_000_000)
    except ValueError:
        return None


def start_watchdog(alive: threading.Event) -> threading.Thread | None:
    """Ping the watchdog while ``alive`` is set by the event loop's heartbeat (see Agent)."""
    interval = watchdog_interval()
    if interval is None:
        return None

    def ping() -> None:
        while True:
            time.sleep(interval)
            # The agent sets `alive` from its loop; a stuck loop stops the pings and systemd restarts us.
            if alive.is_set():
                alive.clear()
                notify("WATCHDOG=1")

    thread = threading.Thread(target=ping, name="sd-watchdog", daemon=True)
    thread.start()
    return thread
