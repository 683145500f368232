"""Idents held in this network namespace, by the kernel's ping sockets and by other pingsock
processes, so that the raw backend never picks an ident someone else is using.

A pingsock process claims an ident by binding an abstract Unix socket named after it: the
name lives in the network namespace (abstract names are per-netns, unix(7)), nobody can
squat it across namespaces, and it vanishes when the process dies, so no stale claims remain.
The kernel's own ping sockets are listed in /proc/net/icmp and /proc/net/icmp6 (spec N2, N4);
the ident is the local port column.
"""

from __future__ import annotations

import errno
import socket
from pathlib import Path

__all__ = ["IdentClaim", "claim_ident", "claim_name", "kernel_held_idents"]

_PREFIX = b"\0pingsock/ident/"
_PROC_TABLES = (Path("/proc/net/icmp"), Path("/proc/net/icmp6"))


class IdentClaim:
    """An ident claimed by this process until ``release()`` (or until the process exits)."""

    __slots__ = ("_socket", "ident")

    def __init__(self, ident: int, sock: socket.socket) -> None:
        self.ident = ident
        self._socket = sock

    def release(self) -> None:
        self._socket.close()


def claim_name(prefix: bytes, ident: int) -> IdentClaim | None:
    """Bind the abstract name ``prefix`` + ``ident``; None when some process holds it."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
    try:
        sock.bind(prefix + str(ident).encode())
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            return None
        raise
    return IdentClaim(ident, sock)


def claim_ident(ident: int) -> IdentClaim | None:
    """Claim ``ident`` for this process; None when another pingsock process holds it."""
    return claim_name(_PREFIX, ident)


def kernel_held_idents() -> frozenset[int]:
    """Idents of the kernel's ping sockets in this namespace (hashed ones: bound or used)."""
    held: set[int] = set()
    for table in _PROC_TABLES:
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 1 and ":" in fields[1]:
                held.add(int(fields[1].rsplit(":", 1)[1], 16))
    return frozenset(held)
