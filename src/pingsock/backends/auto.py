"""Which backend serves ``pingsock.socket()``: the kernel's ping socket if the group range
allows it, else the raw-socket emulation if the process has CAP_NET_RAW, else a permission
error that says exactly why and how to allow it.

The order is iputils' (``create_socket()`` tries the datagram socket first, even as root)
and the kernel's rule is spec section A: the effective gid or any supplementary gid must be
inside ``net.ipv4.ping_group_range`` of the caller's network namespace; capabilities do not
help (A3); the same sysctl governs IPv6 (A6).
"""

from __future__ import annotations

import errno
import os
import socket
from typing import Literal

from pingsock.backends.base import PingSocket
from pingsock.backends.kernel import KernelPingSocket
from pingsock.errors import PingPermissionError

__all__ = ["BackendName", "open_socket", "permission_message"]

BackendName = Literal["auto", "kernel", "raw"]
_RANGE_FILE = "/proc/sys/net/ipv4/ping_group_range"
# The kernel socket is missing or refused, rather than forbidden, for these (iputils falls
# back to raw for them too).
_KERNEL_UNAVAILABLE = (errno.EACCES, errno.EPROTONOSUPPORT, errno.EAFNOSUPPORT)


def open_socket(family: int = socket.AF_INET, *, backend: BackendName = "auto") -> PingSocket:
    """Open a ping socket of ``family`` (AF_INET or AF_INET6) on the chosen backend."""
    if family not in (socket.AF_INET, socket.AF_INET6):
        raise OSError(errno.EAFNOSUPPORT, os.strerror(errno.EAFNOSUPPORT))
    if backend == "kernel":
        return KernelPingSocket(family)
    if backend == "raw":
        return _raw(family)
    if backend != "auto":
        raise ValueError(f"unknown backend {backend!r}: use 'auto', 'kernel' or 'raw'")
    try:
        return KernelPingSocket(family)
    except OSError as exc:
        if exc.errno not in _KERNEL_UNAVAILABLE:
            raise
        kernel_error = exc
    try:
        return _raw(family)
    except PermissionError:
        pass
    raise PingPermissionError(permission_message(family, kernel_error))


def _raw(family: int) -> PingSocket:
    # Imported when chosen: the emulation is a third of a sweep's start-up on the kernel
    # socket, which never needs it.
    from pingsock.backends.raw import RawPingSocket

    return RawPingSocket(family)


def _read_range() -> tuple[int, int] | None:
    try:
        with open(_RANGE_FILE, encoding="ascii") as file:  # not pathlib: start-up time
            low, high = file.read().split()[:2]
        return int(low), int(high)
    except (OSError, ValueError):
        return None


def permission_message(family: int, kernel_error: OSError | None = None) -> str:
    """Why no ping socket could be opened, and the exact command that would allow it."""
    kind = "IPv6" if family == socket.AF_INET6 else "IPv4"
    egid = os.getegid()
    groups = sorted(set(os.getgroups()) - {egid})
    supplementary = ", ".join(str(g) for g in groups) if groups else "none"
    current = _read_range()
    shown = f"{current[0]} {current[1]}" if current else "unreadable"
    if kernel_error is not None and kernel_error.errno != errno.EACCES:
        reason = f"the kernel has no {kind} ping sockets here ({kernel_error.strerror})"
    elif current is not None and current[0] > current[1]:
        reason = f'net.ipv4.ping_group_range is "{shown}", which allows no group at all'
    else:
        reason = f'net.ipv4.ping_group_range is "{shown}", which contains none of them'
    if current is None or current[0] > current[1]:
        low = high = egid
    else:
        low, high = min(current[0], egid), max(current[1], egid)
    return (
        f"cannot open an {kind} ping socket: your groups (effective gid {egid}, "
        f"supplementary: {supplementary}) may not create one, because {reason}; and this "
        "process lacks CAP_NET_RAW for the raw-socket fallback.\n"
        f'To allow it, run as root: sysctl -w net.ipv4.ping_group_range="{low} {high}"\n'
        "(or grant the raw fallback: setcap cap_net_raw+ep on the interpreter, or run as root)"
    )
