"""pingsock: Linux ping sockets for Python.

``pingsock.socket()`` gives the kernel's unprivileged ICMP socket (``SOCK_DGRAM`` /
``IPPROTO_ICMP``) where ``net.ipv4.ping_group_range`` allows it, and the same contract on a
raw socket where only CAP_NET_RAW does: the ICMP id is the socket's "port", sends must be
Echo with code 0, the id is rewritten and the checksum recomputed, and each socket receives
only its own replies and errors. ``pingsock.ping()`` runs a ping with iputils' arithmetic.
"""

from __future__ import annotations

from pingsock.backends.auto import open_socket as socket
from pingsock.backends.base import PingSocket
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
from pingsock.events import IcmpError, LocalError, Reply
from pingsock.results import PingResult
from pingsock.sync import Pinger, PingOptions, ping

__all__ = [
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
    "ping",
    "socket",
]

__version__ = "0.1.0"
