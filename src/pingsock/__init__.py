"""pingsock: Linux ping sockets for Python.

``pingsock.socket()`` gives the kernel's unprivileged ICMP socket (``SOCK_DGRAM`` /
``IPPROTO_ICMP``) where ``net.ipv4.ping_group_range`` allows it, and the same contract on a
raw socket where only CAP_NET_RAW does: the ICMP id is the socket's "port", sends must be
Echo with code 0, the id is rewritten and the checksum recomputed, and each socket receives
only its own replies and errors. ``pingsock.ping()`` runs a ping with iputils' arithmetic.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from pingsock.errors import (
    BadChecksum,
    BadLength,
    BadOptionLength,
    PacketError,
    PingPermissionError,
    PingsockError,
    ResolveError,
    TruncatedPacket,
    UsageError,
)

if TYPE_CHECKING:
    from pingsock.aio import AsyncPinger, aping
    from pingsock.backends.auto import open_socket as socket
    from pingsock.backends.base import PingSocket
    from pingsock.events import IcmpError, LocalError, Reply
    from pingsock.results import PingResult
    from pingsock.sweep.aio import asweep
    from pingsock.sweep.driver import sweep
    from pingsock.sync import Pinger, PingOptions, ping

# Loaded on first use (PEP 562): `import pingsock` stays cheap for tools that only need a
# name or an exception; the backends and the driver come in when they are touched.
_LAZY = {
    "AsyncPinger": ("pingsock.aio", "AsyncPinger"),
    "aping": ("pingsock.aio", "aping"),
    "socket": ("pingsock.backends.auto", "open_socket"),
    "PingSocket": ("pingsock.backends.base", "PingSocket"),
    "IcmpError": ("pingsock.events", "IcmpError"),
    "LocalError": ("pingsock.events", "LocalError"),
    "Reply": ("pingsock.events", "Reply"),
    "PingResult": ("pingsock.results", "PingResult"),
    "Pinger": ("pingsock.sync", "Pinger"),
    "PingOptions": ("pingsock.sync", "PingOptions"),
    "ping": ("pingsock.sync", "ping"),
    "sweep": ("pingsock.sweep", ""),  # the package itself: it is callable
    "asweep": ("pingsock.sweep.aio", "asweep"),
}


def __getattr__(name: str) -> Any:
    try:
        module, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'pingsock' has no attribute {name!r}") from None
    loaded = importlib.import_module(module)
    value = getattr(loaded, attribute) if attribute else loaded
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "AsyncPinger",
    "BadChecksum",
    "BadLength",
    "BadOptionLength",
    "IcmpError",
    "LocalError",
    "PacketError",
    "PingOptions",
    "PingPermissionError",
    "PingResult",
    "PingSocket",
    "Pinger",
    "PingsockError",
    "Reply",
    "ResolveError",
    "TruncatedPacket",
    "UsageError",
    "aping",
    "asweep",
    "ping",
    "socket",
    "sweep",
]

__version__ = "0.1.0"
