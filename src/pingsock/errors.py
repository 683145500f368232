"""The whole pingsock exception tree, in one place.

::

    PingsockError                         root of everything pingsock raises on purpose
    ├── PacketError (ValueError)          a byte string that is not a valid packet
    │   ├── TruncatedPacket               shorter than its headers or length fields say
    │   ├── BadLength                     a length field that contradicts the data
    │   ├── BadOptionLength               an IP option whose length byte is impossible
    │   └── BadChecksum                   checksum mismatch (only when asked to verify)
    ├── PingPermissionError (PermissionError, errno EACCES)
    │                                     no backend may open a ping socket for this caller
    ├── ResolveError                      a host name that does not resolve
    └── UsageError                        a bad option or value given by a user (CLI)

Socket operations raise plain ``OSError`` with the kernel's errno, exactly as the kernel's
ping socket does (shared/spec/kernel-ping-socket.md); those are not wrapped.
"""

from __future__ import annotations

import errno

__all__ = [
    "BadChecksum",
    "BadLength",
    "BadOptionLength",
    "PacketError",
    "PingPermissionError",
    "PingsockError",
    "ResolveError",
    "TruncatedPacket",
    "UsageError",
]


class PingsockError(Exception):
    """Root of every exception pingsock raises on purpose."""


class PacketError(PingsockError, ValueError):
    """A byte string could not be decoded as the packet it claims to be."""


class TruncatedPacket(PacketError):
    """The data ends before a header or a length field says it should."""


class BadLength(PacketError):
    """A length field contradicts the data (too small, or past the end)."""


class BadOptionLength(PacketError):
    """An IP option's length byte is impossible (below 2, or past the options area)."""


class BadChecksum(PacketError):
    """The checksum does not verify (raised only when verification is asked for)."""


class PingPermissionError(PingsockError, PermissionError):
    """No backend may create a ping socket for this caller.

    Carries errno EACCES, like the kernel's refusal in ``ping_init_sock``; the message says
    why (the caller's groups, the current ``net.ipv4.ping_group_range``) and how to allow it.
    """

    def __init__(self, message: str) -> None:
        super().__init__(errno.EACCES, message)

    def __str__(self) -> str:
        return str(self.args[1])


class ResolveError(PingsockError):
    """A host name could not be resolved to an address of the wanted family."""


class UsageError(PingsockError):
    """A user's mistake on the command line: carries the message and the exit status."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
