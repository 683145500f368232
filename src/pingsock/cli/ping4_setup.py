"""``ping4_run`` up to the header: the UDP route probe, broadcast, IP options (-R, -T, hops), TTL.

Each step in iputils 20221126's order, with its messages (shared/spec/iputils-ping.md).
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import socket
from collections.abc import Callable

from pingsock import linux
from pingsock.cli.args import PingArgs
from pingsock.cli.sockopts import (
    PREFIX,
    PROBE_PORT,
    Fatal,
    Session,
    bind_source_and_ident,
    bind_to_device,
    fail,
    limit_group_ping,
    set_buffers,
    set_mark,
    set_opt,
    set_or_fail,
    warn_if_source_elsewhere,
)
from pingsock.resolve import Target

__all__ = ["configure_v4", "ip_options"]

_IPOPT_NOP, _IPOPT_RR, _IPOPT_TS, _IPOPT_LSRR, _IPOPT_SSRR = 1, 7, 68, 131, 137
_TS_TYPES = {"tsonly": 0, "tsandaddr": 1, "tsprespec": 3}


def ip_options(args: PingArgs, hops: list[str]) -> bytes:
    """The IP_OPTIONS area ping4_run builds for -R, -T and a hop list."""
    if args.record_route:
        # NOP, then a 39-byte record route: room for 9 addresses.
        return bytes([_IPOPT_NOP, _IPOPT_RR, 39, 4]) + bytes(36)
    if args.timestamp_type is not None:
        kind = _TS_TYPES[args.timestamp_type]
        if kind == 3:
            body = b"".join(socket.inet_aton(h) + bytes(4) for h in hops)
            return bytes([_IPOPT_TS, 4 + len(body), 5, kind]) + body
        size = 40 if kind == 0 else 36
        return bytes([_IPOPT_TS, size, 5, kind]) + bytes(size - 4)
    if hops:
        kind = _IPOPT_SSRR if args.dontroute else _IPOPT_LSRR
        body = b"".join(socket.inet_aton(h) for h in hops)
        return bytes([_IPOPT_NOP, kind, 3 + len(body), 4]) + body
    return b""


def _resolve_hop(hop: str) -> str:
    """ping4_run: inet_aton, else getaddrinfo; a failure is ``ping: <hop>: <gai error>``."""
    with contextlib.suppress(OSError):
        return socket.inet_ntoa(socket.inet_aton(hop))
    try:
        infos = socket.getaddrinfo(hop, None, socket.AF_INET, socket.SOCK_DGRAM)
    except socket.gaierror as exc:
        raise Fatal(f"{hop}: {exc.strerror}") from None
    return str(infos[0][4][0])


def _probe_v4(
    args: PingArgs, target: Target, session: Session, hops: list[str], warn: Callable[[str], None]
) -> str:
    """ping4_run's UDP probe: the route check, the source address, a broadcast target."""
    sock = session.sock
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        if args.device:
            for fd in (probe, sock):
                bind_to_device(args, fd)
        if args.tos:
            try:
                probe.setsockopt(linux.SOL_IP, linux.IP_TOS, args.tos)
            except OSError as exc:
                warn(f"{PREFIX}warning: QOS sockopts: {exc.strerror}")
        set_mark(args, probe, warn)
        first = hops[0] if hops else target.address
        destination = (first, PROBE_PORT)
        try:
            probe.connect(destination)
        except OSError as exc:
            if exc.errno != errno.EACCES:
                raise fail("connect", exc) from None
            if not args.broadcast:
                raise Fatal(
                    "Do you want to ping broadcast? Then -b. If not, check your local "
                    "firewall rules"
                ) from None
            warn("WARNING: pinging broadcast address")  # fprintf: no "ping: " prefix
            probe.setsockopt(linux.SOL_SOCKET, linux.SO_BROADCAST, 1)
            try:
                probe.connect(destination)
            except OSError as again:
                raise fail("connect", again) from None
        source = str(probe.getsockname()[0])
    finally:
        probe.close()
    warn_if_source_elsewhere(args, socket.AF_INET, source, warn)
    return source


def configure_v4(
    args: PingArgs,
    target: Target,
    session: Session,
    privileged: bool,
    warn: Callable[[str], None],
) -> None:
    sock = session.sock
    # ping4_run: extra operands (already counted by args.check_hops) are the -T tsprespec
    # hosts or a source route; names among them resolve here.
    hops = [_resolve_hop(hop) for hop in args.hops]
    if args.source_address is None:
        source = _probe_v4(args, target, session, hops, warn)
    else:
        source = args.source_address
        if args.device:
            bind_to_device(args, sock)
    if args.broadcast or ipaddress.ip_address(target.address).is_multicast:
        session.multicast = True
    limit_group_ping(
        args,
        session,
        privileged=privileged,
        kind="broadcast",
        level=linux.SOL_IP,
        option=linux.IP_MTU_DISCOVER,
    )
    bind_source_and_ident(args, session, source, "bind")
    if args.device or args.sticky_source or args.source_address:
        session.source = source
    options = ip_options(args, hops)
    if options:
        session.optlen = 40
        what = "ts option" if args.timestamp_type else "record route"
        try:
            set_opt(sock, linux.SOL_IP, linux.IP_OPTIONS, options)
        except OSError as exc:
            if args.timestamp_type is None:
                raise fail(what, exc) from None
            # ping4_run retries with flag 2 (a reserved value) before giving up.
            try:
                set_opt(sock, linux.SOL_IP, linux.IP_OPTIONS, options[:3] + b"\x02" + options[4:])
            except OSError as again:
                raise fail(what, again) from None
        set_opt(sock, linux.SOL_IP, linux.IP_RETOPTS, 1)
    set_buffers(
        args,
        sock,
        warn,
        args.size + 8 + ((args.size + 8 + 511) // 512) * (session.optlen + 20 + 16 + 64 + 160),
    )
    if args.broadcast:
        set_or_fail(sock, linux.SOL_SOCKET, linux.SO_BROADCAST, 1, what="cannot set broadcasting")
    if args.suppress_loopback:
        set_or_fail(
            sock, linux.SOL_IP, linux.IP_MULTICAST_LOOP, 0, what="cannot disable multicast loopback"
        )
    if args.ttl is not None:
        set_or_fail(
            sock,
            linux.SOL_IP,
            linux.IP_MULTICAST_TTL,
            args.ttl,
            what="cannot set multicast time-to-live",
        )
        set_or_fail(
            sock, linux.SOL_IP, linux.IP_TTL, args.ttl, what="cannot set unicast time-to-live"
        )
