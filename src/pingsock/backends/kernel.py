"""The kernel's own ping socket: ``socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)`` (and v6).

Nothing is emulated: the class is the stdlib socket with two additions every backend has,
``backend`` and ``disconnect()``.
"""

from __future__ import annotations

import ctypes
import errno as _errno
import functools
import os
import socket
import struct

from pingsock import linux

__all__ = ["KernelPingSocket", "protocol_for"]


def protocol_for(family: int) -> int:
    """IPPROTO_ICMP for AF_INET, IPPROTO_ICMPV6 for AF_INET6 (spec A5: no mixing)."""
    if family == socket.AF_INET:
        return socket.IPPROTO_ICMP
    if family == socket.AF_INET6:
        return socket.IPPROTO_ICMPV6
    raise OSError(_errno.EAFNOSUPPORT, os.strerror(_errno.EAFNOSUPPORT))


@functools.cache
def _libc() -> ctypes.CDLL:
    # The interpreter's own symbols, libc's among them: find_library() would run ldconfig
    # (about 14 ms of start-up).
    return ctypes.CDLL(None, use_errno=True)


def _connect_unspec(fd: int) -> None:
    # Python's connect() cannot express AF_UNSPEC; call connect(2) with a bare sockaddr whose
    # family is AF_UNSPEC, which the kernel treats as disconnect (spec C10).
    sockaddr = struct.pack("=H14x", linux.AF_UNSPEC)
    buffer = ctypes.create_string_buffer(sockaddr, len(sockaddr))
    if _libc().connect(fd, buffer, len(sockaddr)) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


class KernelPingSocket(socket.socket):
    """The kernel's ping socket itself (a ``socket.socket``), with ``backend = "kernel"``."""

    backend = "kernel"
    last_send_ns = 0  # a stamp taken before send() is as close as user space gets

    def __init__(self, family: int = socket.AF_INET, fileno: int | None = None) -> None:
        super().__init__(family, socket.SOCK_DGRAM, protocol_for(family), fileno)

    def disconnect(self) -> None:
        """``connect(AF_UNSPEC)``: forget the peer, and release an auto-allocated ident."""
        _connect_unspec(self.fileno())
