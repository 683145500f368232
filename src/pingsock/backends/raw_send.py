"""The send side of the raw backend (``backends.raw``): the destination checks of
``ping_v6_sendmsg()``, its handling of IPV6_PKTINFO and extension-header cmsgs, and the send
flags it ignores."""

from __future__ import annotations

import errno
import socket
import time
from collections.abc import Iterable

from pingsock import linux
from pingsock.backends.base import Address, AncData
from pingsock.backends.raw_kernel import queue_local_error
from pingsock.backends.raw_options import PROBE_PORT, ROUTE_OPTIONS, RawOptions, apply_options
from pingsock.backends.raw_recv import strip_scope
from pingsock.emulation.ancillary import needs_scope_id
from pingsock.emulation.oserror import os_error
from pingsock.emulation.state import PingSocketState
from pingsock.emulation.validate import check_send

__all__ = [
    "check_before_pending_error",
    "check_v6_destination",
    "destination",
    "send_flags",
    "transmit",
    "v4_mapped",
    "without_pktinfo",
]

_SO_BINDTOIFINDEX = 62
_MSG_PROBE = 0x10
# IPV6_PKTINFO, and the extension headers: 2292 HOPOPTS, DSTOPTS, RTHDR, PKTOPTIONS, then
# HOPOPTS, RTHDRDSTOPTS, RTHDR, DSTOPTS.
_VALIDATED_AND_DROPPED = frozenset({linux.IPV6_PKTINFO, 3, 4, 5, 6, 54, 55, 57, 59})
_MSG_MORE = 0x8000
_IPV6_MULTICAST_IF = 17
_IPV6_UNICAST_IF = 76
_V4_MAPPED_PREFIX = b"\0" * 10 + b"\xff\xff"


def v4_mapped(host: str) -> bool:
    try:
        return socket.inet_pton(socket.AF_INET6, strip_scope(host))[:12] == _V4_MAPPED_PREFIX
    except OSError:
        return False


def destination(
    raw: socket.socket,
    state: PingSocketState,
    message: bytes,
    flags: int,
    *,
    address: Address | None,
    peer: tuple[int, int],
) -> Address:
    """Check a send as ``ping_v4_sendmsg()``/``ping_v6_sendmsg()`` do, before the pending
    error; the address the raw socket sends to. ``peer``: the flow label and scope that
    connect() stored."""
    family = state.family
    v6 = family == socket.AF_INET6
    destination_family = None if address is None else family
    check_send(
        family,
        message,
        flags,
        address_family=destination_family,
        connected=state.connected,
    )
    if v6:
        check_v6_destination(raw, address, state, peer[1])
    if address is None:
        assert state.peer is not None
        host = state.peer[0]
        return (host, 0, peer[0], 0) if v6 else (host, 0)
    return (address[0], 0, *address[2:])


def transmit(
    raw: socket.socket,
    options: RawOptions,
    state: PingSocketState,
    wire: bytes,
    *,
    message: bytes,
    ancdata: Iterable[tuple[int, int, bytes]],
    flags: int,
    address: Address,
    peer_scope: int,
) -> int:
    """Send the echo ``wire`` (the user's ``message`` rewritten) on the raw socket; the
    wall-clock ns taken just before the system call."""
    v6 = state.family == socket.AF_INET6
    anc = list(ancdata)
    if v6:
        anc = without_pktinfo(anc, address, options, state, peer_scope)
    flags = send_flags(flags, v6)

    def send() -> None:
        raw.sendmsg([wire], anc, flags, address)

    stamp = time.time_ns()  # RTTs start here, after the emulation's own work
    try:
        send()
    except OSError as exc:
        # F2/M12: with RECVERR the kernel also queues a LOCAL error (ee_info = MTU).
        if exc.errno != errno.EMSGSIZE or not state.recverr:
            raise
        if not queue_local_error(raw, options, state, send, message):
            raise
    return stamp


def check_before_pending_error(
    raw: socket.socket,
    options: RawOptions,
    state: PingSocketState,
    wire: bytes,
    *,
    ancdata: AncData,
    address: Address,
) -> bool:
    """E1 steps 8-10, for a send that finds an error pending: the kernel routes the datagram
    (``ip_route_output_flow()``) and checks its size against the path MTU
    (``__ip_append_data()``) before ``sock_alloc_send_skb()`` reports ``sk_err`` (step 11), so
    a route failure is raised here and the pending error stays pending. True when the datagram
    is too big to leave unfragmented: the caller then sends it, and the raw socket's own
    EMSGSIZE (with its local error-queue entry, F2) is the answer, as on the kernel socket."""
    v6 = state.family == socket.AF_INET6
    # raw_sendmsg()/rawv6_sendmsg() route a MSG_PROBE datagram and stop there.
    raw.sendmsg([wire], list(ancdata), _MSG_PROBE, address)
    if v6:
        mode = raw.getsockopt(linux.SOL_IPV6, linux.IPV6_MTU_DISCOVER)
        header = 40
    else:
        mode = state.pmtudisc
        header = 20 + len(raw.getsockopt(linux.SOL_IP, linux.IP_OPTIONS, 40))
    # ip_sk_ignore_df()/ip6_sk_ignore_df(): only DO and PROBE hold a datagram to the MTU.
    if mode not in (linux.IP_PMTUDISC_DO, linux.IP_PMTUDISC_PROBE):
        return False
    with socket.socket(state.family, socket.SOCK_DGRAM) as probe:
        apply_options(probe, options.route, ROUTE_OPTIONS)
        try:
            probe.connect((strip_scope(str(address[0])), PROBE_PORT, *address[2:]))
            level, option = (linux.SOL_IPV6, linux.IPV6_MTU) if v6 else (linux.SOL_IP, linux.IP_MTU)
            mtu = probe.getsockopt(level, option)
        except OSError:
            return False
    return header + len(wire) > mtu


def send_flags(flags: int, v6: bool) -> int:
    """The flags the raw socket's sendmsg() gets for the ping socket's ``flags``."""
    flags &= ~linux.MSG_DONTWAIT
    # E5: ping_v4_sendmsg()/ping_v6_sendmsg() push every datagram (MSG_MORE does not cork,
    # the raw socket's would), and the v6 one never looks at MSG_PROBE (rawv6 does).
    flags &= ~_MSG_MORE
    if v6:
        flags &= ~_MSG_PROBE
    return flags


def without_pktinfo(
    anc: AncData, address: Address, options: RawOptions, state: PingSocketState, peer_scope: int
) -> AncData:
    # M9: ping_v6_sendmsg() validates an IPV6_PKTINFO cmsg (ip6_datagram_send_ctl(): a
    # non-local source is EINVAL) and then builds its flow afresh, from the socket's own
    # source; extension headers are validated too (EPERM without the privilege) and then
    # dropped (ipc6.opt = NULL). A UDP socket runs the same validation; MSG_PROBE keeps
    # it from sending.
    info = [c for c in anc if c[0] == linux.SOL_IPV6 and c[1] in _VALIDATED_AND_DROPPED]
    if not info:
        return anc
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe:
        apply_options(probe, options.route, ROUTE_OPTIONS)
        try:
            scope = int(address[3]) if len(address) > 3 else 0
            if not scope and state.peer and address[0] == state.peer[0]:
                scope = peer_scope
            flowinfo = int(address[2]) if len(address) > 2 else 0
            destination = (address[0], PROBE_PORT, flowinfo, scope)
            probe.sendmsg([b""], info, _MSG_PROBE, destination)
        except OSError as exc:
            if exc.errno in (errno.EINVAL, errno.EPERM):
                raise
    return [c for c in anc if c not in info]


def check_v6_destination(
    raw: socket.socket, address: Address | None, state: PingSocketState, peer_scope: int
) -> None:
    # ping_v6_sendmsg() (M5, M1): EINVAL for a v4-mapped destination, for one that needs a
    # scope when no interface is known, and for a scope other than the bound device.
    bound = raw.getsockopt(linux.SOL_SOCKET, _SO_BINDTOIFINDEX)
    if address is None:
        assert state.peer is not None
        host, oif = state.peer[0], bound or peer_scope
    else:
        host = strip_scope(str(address[0]))
        oif = 0
    try:
        packed = socket.inet_pton(socket.AF_INET6, host)
    except OSError:
        return  # a name: the raw socket's own resolution and errors
    scoped = needs_scope_id(packed)
    if address is not None and scoped and len(address) > 3:
        oif = int(address[3])
    if not oif:
        oif = bound
    if not oif:
        option = _IPV6_MULTICAST_IF if packed[0] == 0xFF else _IPV6_UNICAST_IF
        oif = raw.getsockopt(linux.SOL_IPV6, option)
    if (scoped and not oif) or packed[:12] == _V4_MAPPED_PREFIX or (oif and bound and oif != bound):
        raise os_error(errno.EINVAL)
