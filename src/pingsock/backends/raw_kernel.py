"""Questions the raw backend asks the kernel itself (``backends.raw``).

A ping socket's ``bind()`` and ``connect()`` run the same kernel functions as a UDP socket's
(address locality, ``ip4_datagram_connect()``), so throw-away UDP sockets carrying the same
options answer them with the same errnos. A locally generated ``EMSGSIZE`` error is computed by
the same ``__ip_append_data()`` / ``__ip6_append_data()`` check for the raw socket, so it is read
back from the kernel rather than re-derived.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from pingsock import linux
from pingsock.backends.base import Address, AncData
from pingsock.backends.raw_options import (
    BIND_OPTIONS,
    PROBE_PORT,
    ROUTE_OPTIONS,
    RawOptions,
    apply_options,
)
from pingsock.backends.raw_recv import strip_scope, tx_stamp_entry
from pingsock.cmsg import ExtendedError, parse_extended_error
from pingsock.emulation.ancillary import local_error_port
from pingsock.emulation.oserror import os_error
from pingsock.emulation.state import ErrorEntry, PingSocketState

__all__ = [
    "LocalError",
    "QueuedEntry",
    "check_bind_address",
    "local_error_entry",
    "local_error_in",
    "queue_local_error",
    "read_local_error",
    "route_probe",
]

_LOCAL_ERROR_READS = 64  # bounds the error-queue scan of read_local_error()
_ENTRY_SIZE = 65535 + 60  # a transmit stamp carries a copy of the frame
_ENTRY_ANC = 1024


_SO_BINDTOIFINDEX = 62


def _sockaddr(family: int, host: str, port: int) -> Address:
    return (host, port, 0, 0) if family == linux.AF_INET6 else (host, port)


def check_bind_address(family: int, host: str, options: RawOptions, scope: int = 0) -> None:
    """Raise the kernel's errno if a ping socket may not bind ``host`` (C6, M6); ``scope`` is
    the v6 ``sin6_scope_id``.

    A UDP socket's bind() runs the same locality checks (with IP_FREEBIND and the bound
    device); the ping socket adds its own refusals of multicast and broadcast addresses.
    """
    if host in ("", "0.0.0.0", "::"):
        return
    try:
        address = socket.inet_pton(family, strip_scope(host))
    except OSError:
        raise os_error(errno.EINVAL) from None
    # Multicast and the limited broadcast are never bindable on a ping socket (EINVAL for v6),
    # while a UDP socket would accept them.
    if family == linux.AF_INET6:
        # ping_check_bind_addr(): not unicast, or v4-mapped, is EINVAL; then a scope naming
        # no interface is ENODEV; the address must be on the scope's interface (M6).
        if address[0] == 0xFF or address[:12] == b"\0" * 10 + b"\xff\xff":
            raise os_error(errno.EINVAL)
        if scope:
            try:
                socket.if_indextoname(scope)
            except OSError:
                raise os_error(errno.ENODEV) from None
    elif address[0] >= 224 or address == b"\xff\xff\xff\xff":
        raise os_error(errno.EADDRNOTAVAIL)
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        apply_options(probe, options.route, BIND_OPTIONS)
        if scope:
            # The UDP bind looks for the address on the bound device, as the ping socket
            # looks on the scope's.
            probe.setsockopt(linux.SOL_SOCKET, _SO_BINDTOIFINDEX, scope)
            probe.bind((host, 0, 0, scope))
        else:
            probe.bind(_sockaddr(family, host, 0))
    if family == linux.AF_INET and _is_broadcast(host, options):
        # ping_check_bind_addr(): RTN_BROADCAST is refused even with IP_FREEBIND, while a UDP
        # socket may bind a subnet broadcast address.
        raise os_error(errno.EADDRNOTAVAIL)


def _is_broadcast(host: str, options: RawOptions) -> bool:
    # The route to a broadcast address has RTCF_BROADCAST, which a UDP connect() without
    # SO_BROADCAST refuses with EACCES (the rule of D2 and L3).
    with socket.socket(linux.AF_INET, socket.SOCK_DGRAM) as probe:
        apply_options(probe, options.route, BIND_OPTIONS)
        try:
            probe.connect((host, PROBE_PORT))
        except OSError as exc:
            return exc.errno == errno.EACCES
    return False


def route_probe(
    family: int, address: Address, local: str | None, options: RawOptions
) -> tuple[str, str, int]:
    """(local address, peer address, peer scope) of a ``connect()`` to ``address``, or the
    kernel's errno; the scope is what ``inet6_getname()`` shows for the peer (M7), else 0.

    ``ip4_datagram_connect()`` (and the v6 one) is what the ping socket runs too: same route
    lookup, same errnos (D2: ENETUNREACH, EHOSTUNREACH, EACCES, EINVAL). A UDP socket
    connected to port 0 has no peer name, so the probe uses another port; ports are not part
    of the route lookup unless a policy rule matches on them.
    """
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        apply_options(probe, options.route, ROUTE_OPTIONS)
        if local:
            probe.bind(_sockaddr(family, local, 0))
        probe.connect((address[0], int(address[1]) or PROBE_PORT, *address[2:]))
        peer = probe.getpeername()
        scope = int(peer[3]) if family == linux.AF_INET6 else 0
        return str(probe.getsockname()[0]), str(peer[0]), scope


class QueuedEntry(NamedTuple):
    """One entry read from the raw socket's own error queue."""

    data: bytes
    ancillary: AncData
    address: Address


@dataclass(frozen=True, slots=True)
class LocalError:
    """A locally generated error (``ip_local_error()`` / ``ipv6_local_error()``) as the kernel
    reported it on the raw socket: the IP_RECVERR payload and ``msg_name``."""

    error: ExtendedError
    address: Address


def read_local_error(
    raw: socket.socket, level: int, option: int, resend: Callable[[], None]
) -> bool | list[QueuedEntry]:
    """Repeat a send that failed with ``EMSGSIZE`` while the raw socket's own RECVERR is on, and
    return what its error queue then holds, in order: the LOCAL error the kernel queued
    (ee_info: the MTU the size was checked against), and any transmit stamp of an earlier
    datagram that came meanwhile (stamps are all that queue there while RECVERR is off).

    ``__ip_append_data()`` / ``__ip6_append_data()`` run the same size check for a raw socket
    as for the ping socket, so the kernel computes the exact entry the ping socket would get
    (F2, M12). RECVERR is on only for the resend; the queue is read to its end before it is
    switched off again (``ip_setsockopt(IP_RECVERR, 0)`` purges the queue, which would lose
    a stamp), and any ``sk_err`` a concurrent ICMP error set is cleared. Returns True if the
    resend went out after all (the path MTU changed in between), an empty list if it failed
    otherwise.
    """
    raw.setsockopt(level, option, 1)
    try:
        try:
            resend()
        except OSError as exc:
            if exc.errno != errno.EMSGSIZE:
                return []
        else:
            return True
        entries: list[QueuedEntry] = []
        for _ in range(_LOCAL_ERROR_READS):
            try:
                data, anc, _flags, address = raw.recvmsg(
                    _ENTRY_SIZE, _ENTRY_ANC, linux.MSG_ERRQUEUE | linux.MSG_DONTWAIT
                )
            except (BlockingIOError, InterruptedError):
                break
            entries.append(QueuedEntry(data, anc, address))
        return entries
    finally:
        raw.setsockopt(level, option, 0)
        raw.getsockopt(linux.SOL_SOCKET, linux.SO_ERROR)


def local_error_in(entry: QueuedEntry, level: int, option: int) -> LocalError | None:
    """The LOCAL error an entry of the raw socket's error queue reports, if it is one."""
    for cmsg_level, kind, payload in entry.ancillary:
        if (cmsg_level, kind) != (level, option):
            continue
        error = parse_extended_error(payload)
        if error is not None and error.origin == linux.SO_EE_ORIGIN_LOCAL:
            return LocalError(error, entry.address)
    return None


def local_error_entry(family: int, local: LocalError, message: bytes, peer_port: int) -> ErrorEntry:
    """The error-queue entry of a local ``EMSGSIZE``: no data, no offender (F2, M12)."""
    error = ExtendedError(
        local.error.errno, local.error.origin, 0, 0, local.error.info, local.error.data, None
    )
    address = local.address
    return ErrorEntry(
        error,
        b"",  # ip_local_error() queues only a header: the read returns no data
        strip_scope(str(address[0])),
        local_error_port(family, message, peer_port),
        scope_id=int(address[3]) if family == linux.AF_INET6 else 0,
    )


def queue_local_error(
    raw: socket.socket,
    options: RawOptions,
    state: PingSocketState,
    send: Callable[[], None],
    message: bytes,
) -> bool:
    """After ``send()`` failed with ``EMSGSIZE`` on a socket with RECVERR: queue the LOCAL
    entry the ping socket would have (F2, M12). True if the repeated send went out instead."""
    entries = read_local_error(raw, options.level, options.recverr_option, send)
    if entries is True:
        return True
    peer_port = state.peer[1] if state.peer is not None else 0
    for entry in entries or ():  # in the order the kernel queued them
        local = local_error_in(entry, options.level, options.recverr_option)
        if local is not None:
            state.queue_error(local_error_entry(options.family, local, message, peer_port))
        elif (stamp := tx_stamp_entry(entry.data, entry.ancillary, options)) is not None:
            state.queue_error(stamp)
    return False
