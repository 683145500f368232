"""``ping6_run`` up to the header: the UDP route probe (or none for a link-local first hop),
device and pktinfo, hop limits, traffic class and the -F flow label.

Each step in iputils 20221126's order, with its messages (shared/spec/iputils-ping.md).
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from collections.abc import Callable

from pingsock import linux
from pingsock.backends.base import PingSocket
from pingsock.cli.args import PingArgs
from pingsock.cli.sockopts import (
    PROBE_PORT,
    Fatal,
    Session,
    bind_source_and_ident,
    bind_to_device,
    fail,
    limit_group_ping,
    set_buffers,
    set_mark,
    set_or_fail,
    warn_if_source_elsewhere,
)
from pingsock.resolve import Target

__all__ = ["configure_v6"]

_IPV6_FLOWINFO_SEND = 33

_IPV6_FLOWLABEL_MGR = 32

_IPV6_FLOWINFO_FLOWLABEL = 0x000FFFFF


def configure_v6(
    args: PingArgs,
    target: Target,
    session: Session,
    privileged: bool,
    warn: Callable[[str], None],
) -> None:
    sock = session.sock
    bare = target.address.split("%")[0]
    address = ipaddress.IPv6Address(bare)
    scope = target.scope_id
    link_local_multicast = address.is_multicast and address.packed[1] & 0xF == 2
    if args.source_address is None:
        probe = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        try:
            if args.device:
                try:
                    index = socket.if_nametoindex(args.device)
                except OSError:
                    raise Fatal(f"unknown iface: {args.device}") from None
                if address.is_link_local or link_local_multicast:
                    scope = index
                pktinfo = bytes(16) + struct.pack("=I", index)
                for fd in (probe, sock):
                    set_or_fail(
                        fd,
                        linux.SOL_IPV6,
                        linux.IPV6_PKTINFO,
                        pktinfo,
                        what="setsockopt(IPV6_PKTINFO)",
                    )
                for fd in (probe, sock):
                    bind_to_device(args, fd, f"setsockopt(SO_BINDTODEVICE) {args.device}")
            set_mark(args, probe, warn)
            if address.is_link_local or link_local_multicast:
                # ping6_run leaves sin6_family 0 for a link-local first hop, so its connect()
                # is an AF_UNSPEC disconnect that cannot fail: no route check, source "::".
                source = "::"
            else:
                try:
                    probe.connect((bare, PROBE_PORT, 0, scope))
                except OSError as exc:
                    raise fail("connect", exc) from None
                source = str(probe.getsockname()[0])
        finally:
            probe.close()
        warn_if_source_elsewhere(args, socket.AF_INET6, source, warn)
    else:
        source = args.source_address
        if args.device:
            # ping6_run: the device's index for the pktinfo cmsg comes first.
            try:
                socket.if_nametoindex(args.device)
            except OSError:
                raise Fatal(f"unknown iface: {args.device}") from None
            bind_to_device(args, sock)
    session.multicast = address.is_multicast
    limit_group_ping(
        args,
        session,
        privileged=privileged,
        kind="multicast",
        level=linux.SOL_IPV6,
        option=linux.IPV6_MTU_DISCOVER,
    )
    bind_source_and_ident(args, session, source, "bind icmp socket")
    if args.device or args.sticky_source or args.source_address:
        session.source = source
    set_buffers(args, sock, warn, args.size + 8 + ((args.size + 8 + 511) // 512) * 280)
    if args.suppress_loopback:
        set_or_fail(
            sock,
            linux.SOL_IPV6,
            linux.IPV6_MULTICAST_LOOP,
            0,
            what="can't disable multicast loopback",
        )
    if args.ttl is not None:
        set_or_fail(
            sock,
            linux.SOL_IPV6,
            linux.IPV6_MULTICAST_HOPS,
            args.ttl,
            what="can't set multicast hop limit",
        )
        set_or_fail(
            sock,
            linux.SOL_IPV6,
            linux.IPV6_UNICAST_HOPS,
            args.ttl,
            what="can't set unicast hop limit",
        )
    if args.tos:
        set_or_fail(
            sock, linux.SOL_IPV6, linux.IPV6_TCLASS, args.tos, what="setsockopt(IPV6_TCLASS)"
        )
    if args.flowlabel is not None:
        session.flowlabel = _set_flowlabel(sock, target, args.flowlabel)


def _set_flowlabel(sock: PingSocket, target: Target, label: int) -> int:
    """ping6_run: lease the flow label for the destination, then send it (-F)."""
    address = socket.inet_pton(socket.AF_INET6, target.address.split("%")[0])
    # struct in6_flowlabel_req: dst, label, action (GET), share (EXCL), flags (CREATE),
    # expires, linger, pad.
    label &= _IPV6_FLOWINFO_FLOWLABEL
    request = address + struct.pack("!I", label) + struct.pack("=BBHHHI", 0, 1, 1, 0, 0, 0)
    set_or_fail(sock, linux.SOL_IPV6, _IPV6_FLOWLABEL_MGR, request, what="can't set flowlabel")
    set_or_fail(sock, linux.SOL_IPV6, _IPV6_FLOWINFO_SEND, 1, what="can't send flowinfo")
    return label
