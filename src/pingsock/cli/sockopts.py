"""The shared pieces of ``pingsock ping``'s socket set-up: iputils' fatal errors, the session
value, and the setsockopt calls both families make (``sock_setmark``, ``sock_setbufs``, the
source/identifier bind of ``ping4_run``/``ping6_run``).
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass

from pingsock import linux
from pingsock.backends.base import PingSocket
from pingsock.cli.args import PingArgs
from pingsock.cli.capabilities import CAP_NET_ADMIN, CAP_NET_RAW, PROCESS
from pingsock.errors import PingsockError

__all__ = [
    "bind_to_device",
    "limit_group_ping",
    "warn_if_source_elsewhere",
    "Fatal",
    "PMTU",
    "PREFIX",
    "PROBE_PORT",
    "Session",
    "address_on_device",
    "bind_source_and_ident",
    "device_bytes",
    "fail",
    "set_buffers",
    "set_mark",
    "set_opt",
    "set_or_fail",
    "socktype",
]

PMTU = {"do": 2, "dont": 0, "want": 1, "probe": 3}

PREFIX = "ping: "  # glibc error(): argv[0] of iputils invoked as ping

PROBE_PORT = 1025  # ping4_run/ping6_run connect their probe to this port


class Fatal(PingsockError):
    """iputils' ``error(2, ...)``: print ``ping: <message>`` and exit with ``status``."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(slots=True)
class Session:
    """What the configured run needs beyond the socket."""

    sock: PingSocket
    socktype: str  # "SOCK_DGRAM" (kernel) or "SOCK_RAW" (emulation)
    source: str | None = None  # for the header's "from" part (-I / -B)
    optlen: int = 0  # 40 with -R, -T or hops
    multicast: bool = False  # iputils rts->multicast: broadcast or multicast target
    ident: int | None = None  # shown by -v when known (raw socket, or -e)
    flowlabel: int = 0  # -F: the leased IPv6 flow label (header and sin6_flowinfo)


def socktype(sock: PingSocket) -> str:
    return "SOCK_DGRAM" if sock.backend == "kernel" else "SOCK_RAW"


def fail(what: str, exc: OSError) -> Fatal:
    return Fatal(f"{what}: {exc.strerror or os.strerror(exc.errno or 0)}")


def set_opt(sock: PingSocket | socket.socket, level: int, option: int, value: int | bytes) -> None:
    sock.setsockopt(level, option, value)


def set_or_fail(
    sock: PingSocket | socket.socket, level: int, option: int, value: int | bytes, *, what: str
) -> None:
    """A setsockopt that iputils treats as fatal: ``error(2, errno, what)``."""
    try:
        set_opt(sock, level, option, value)
    except OSError as exc:
        raise fail(what, exc) from None


def device_bytes(args: PingArgs) -> bytes:
    return (args.device or "").encode() + b"\0"


def set_mark(args: PingArgs, sock: PingSocket | socket.socket, warn: Callable[[str], None]) -> None:
    """sock_setmark(): a failure is only a warning (old kernels lack SO_MARK)."""
    if args.mark is None:
        return
    try:
        with PROCESS.raised(CAP_NET_ADMIN):
            set_opt(sock, linux.SOL_SOCKET, linux.SO_MARK, args.mark)
    except OSError as exc:
        warn(f"{PREFIX}WARNING: failed to set mark: {args.mark}: {exc.strerror}")


def address_on_device(family: int, device: str, address: str) -> bool:
    """getifaddrs() lookup: is ``address`` configured on ``device``?"""
    path = "/proc/net/if_inet6"
    if family == socket.AF_INET6:
        try:
            with open(path, encoding="ascii") as table:
                packed = socket.inet_pton(socket.AF_INET6, address.split("%", maxsplit=1)[0]).hex()
                return any(
                    line.split()[0] == packed and line.split()[-1] == device for line in table
                )
        except OSError:
            return True
    import fcntl

    request = struct.pack("16s16x", device.encode()[:15])
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        reply = fcntl.ioctl(probe.fileno(), 0x8915, request)  # SIOCGIFADDR: the primary only
        return socket.inet_ntoa(reply[20:24]) == address
    except OSError:
        return False
    finally:
        probe.close()


def bind_source_and_ident(args: PingArgs, session: Session, source: str, what: str) -> None:
    """The source address (-I addr, -B) and the identifier (-e: a bind to that port on a ping
    socket, with the probe's source address, as ping4_run/ping6_run do). A raw socket takes
    the PID as its identifier when it is free, as Debian's iputils does."""
    sock = session.sock
    v6 = session.sock.family == socket.AF_INET6
    strict = args.source_address is not None or args.sticky_source
    if strict or args.ident:
        port = args.ident or 0
        try:
            sock.bind((source, port, 0, 0) if v6 else (source, port))
        except OSError as exc:
            raise fail(what, exc) from None
    if args.ident:
        session.ident = args.ident
    elif sock.backend != "kernel":
        if not strict:
            pid = os.getpid() & 0xFFFF
            with contextlib.suppress(OSError):
                sock.bind(("::", pid, 0, 0) if v6 else ("0.0.0.0", pid))
        with contextlib.suppress(OSError):
            session.ident = int(sock.getsockname()[1]) or None


def set_buffers(args: PingArgs, sock: PingSocket, warn: Callable[[str], None], alloc: int) -> None:
    """sock_setbufs(): SO_SNDBUF (-S, else one packet's estimate), SO_RCVBUF for the preload."""
    with contextlib.suppress(OSError):
        set_opt(sock, linux.SOL_SOCKET, linux.SO_SNDBUF, args.sndbuf or alloc)
    wanted = alloc * args.preload
    with contextlib.suppress(OSError):
        set_opt(sock, linux.SOL_SOCKET, linux.SO_RCVBUF, max(wanted, 65536))
        if int(sock.getsockopt(linux.SOL_SOCKET, linux.SO_RCVBUF)) < wanted:
            warn(f"{PREFIX}WARNING: probably, rcvbuf is not enough to hold preload")


def bind_to_device(args: PingArgs, fd: PingSocket | socket.socket, what: str = "") -> None:
    """SO_BINDTODEVICE with CAP_NET_RAW raised around it (``bind_to_device``); a failure is
    ``error(2, errno, "SO_BINDTODEVICE <dev>")`` unless ``what`` names the call otherwise."""
    try:
        with PROCESS.raised(CAP_NET_RAW):
            set_opt(fd, linux.SOL_SOCKET, linux.SO_BINDTODEVICE, device_bytes(args))
    except OSError as exc:
        raise fail(what or f"SO_BINDTODEVICE {args.device}", exc) from None


def warn_if_source_elsewhere(
    args: PingArgs, family: int, source: str, warn: Callable[[str], None]
) -> None:
    """ping4_run/ping6_run after the probe: -I dev, yet the source is not on that device."""
    if args.device and not address_on_device(family, args.device, source):
        warn(
            f"{PREFIX}Warning: source address might be selected on device other than: {args.device}"
        )


def limit_group_ping(
    args: PingArgs, session: Session, *, privileged: bool, kind: str, level: int, option: int
) -> None:
    """A broadcast or multicast target (``kind``): users need -i >= 1 and no fragmenting, and
    path-MTU discovery defaults to "do"; then IP_MTU_DISCOVER / IPV6_MTU_DISCOVER is set."""
    if session.multicast and not privileged:
        if args.interval_ms < 1000:
            raise Fatal(f"{kind} ping with too short interval: {args.interval_ms}")
        if args.pmtudisc not in (None, "do"):
            raise Fatal(f"{kind} ping does not fragment")
    pmtudisc = args.pmtudisc or ("do" if session.multicast else None)
    if pmtudisc is not None:
        what = "IPV6_MTU_DISCOVER" if level == linux.SOL_IPV6 else "IP_MTU_DISCOVER"
        set_or_fail(session.sock, level, option, PMTU[pmtudisc], what=what)
