"""Opening and configuring the sockets of ``pingsock ping`` in iputils' order, with its messages.

This is the I/O half of iputils' ``main()`` / ``create_socket()`` / ``ping4_run()`` /
``ping6_run()`` / ``setup()``: both families' sockets are opened up front (so ``-v`` can name
them), the route is checked with a connected UDP probe (which also finds the source address
and a broadcast target), and each option is set on the socket in iputils' order. A failure
that iputils reports with ``error(2, errno, "...")`` raises :class:`Fatal` with the same text;
what it only warns about goes through the ``warn`` callback as a whole stderr line (most carry
the ``ping: `` prefix; ``WARNING: pinging broadcast address`` does not). Rendering stays in
:mod:`pingsock.cli.render`.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable

from pingsock import linux
from pingsock.backends.auto import BackendName, open_socket
from pingsock.backends.base import PingSocket
from pingsock.cli.args import PingArgs
from pingsock.cli.ping4_setup import configure_v4
from pingsock.cli.ping6_setup import configure_v6
from pingsock.cli.sockopts import Fatal, Session, set_mark, set_opt, set_or_fail, socktype
from pingsock.errors import PingPermissionError
from pingsock.resolve import Target

__all__ = ["Fatal", "Session", "configure", "open_sockets", "set_tos", "setup", "socket_line"]


def open_sockets(
    args: PingArgs, backend: BackendName
) -> tuple[PingSocket | None, PingSocket | None, BaseException | None]:
    """``create_socket()`` for both families, as iputils does before resolving the target.

    A family the user excluded (-4/-6) is not opened. A failure is kept, not raised: it only
    matters when the target turns out to be of that family.
    """
    failure: BaseException | None = None
    sockets: list[PingSocket | None] = []
    for family, number in ((socket.AF_INET, 4), (socket.AF_INET6, 6)):
        if args.family not in (0, number):
            sockets.append(None)
            continue
        try:
            sockets.append(open_socket(family, backend=backend))
        except (PingPermissionError, OSError) as exc:
            sockets.append(None)
            if failure is None or args.family == number:
                failure = exc
    return sockets[0], sockets[1], failure


def socket_line(sock4: PingSocket | None, sock6: PingSocket | None, family: int) -> str:
    """The -v line of ``main()``: both sockets and the hints' family."""

    def one(name: str, sock: PingSocket | None) -> str:
        if sock is None:
            return f"{name}.fd: -1 (socktype: 0)"
        return f"{name}.fd: {sock.fileno()} (socktype: {socktype(sock)})"

    hint = {4: "AF_INET", 6: "AF_INET6"}.get(family, "AF_UNSPEC")
    return f"{one('sock4', sock4)}, {one('sock6', sock6)}, hints.ai_family: {hint}"


def set_tos(args: PingArgs, sock4: PingSocket | None, sock6: PingSocket | None) -> None:
    """main(): -Q goes on both sockets before the target is resolved."""
    if not args.tos:
        return
    for sock, level, option in (
        (sock4, linux.SOL_IP, linux.IP_TOS),
        (sock6, linux.SOL_IPV6, linux.IPV6_TCLASS),
    ):
        if sock is not None:
            set_or_fail(sock, level, option, args.tos, what="setsockopt")


def configure(
    args: PingArgs,
    target: Target,
    sock: PingSocket,
    *,
    privileged: bool,
    warn: Callable[[str], None],
) -> Session:
    """ping4_run / ping6_run up to the header: everything that can fail before it."""
    session = Session(sock=sock, socktype=socktype(sock))
    if target.family == socket.AF_INET6:
        configure_v6(args, target, session, privileged, warn)
    else:
        configure_v4(args, target, session, privileged, warn)
    return session


def setup(
    args: PingArgs,
    sock: PingSocket,
    *,
    privileged: bool,
    warn: Callable[[str], None],
) -> int:
    """iputils ``setup()``, after the header: returns the interval in ms to run with."""
    interval = args.interval_ms
    if args.flood and not args.interval_given:
        interval = 0
    if not privileged and interval < 2:
        raise Fatal("cannot flood; minimal interval allowed for user is 2ms")
    if interval >= (2**31 - 1) // max(args.preload, 1):
        raise Fatal(f"illegal preload and/or interval: {interval}")
    if args.debug:
        with contextlib.suppress(OSError):
            set_opt(sock, linux.SOL_SOCKET, linux.SO_DEBUG, 1)
    if args.dontroute:
        with contextlib.suppress(OSError):
            set_opt(sock, linux.SOL_SOCKET, linux.SO_DONTROUTE, 1)
    set_mark(args, sock, warn)
    return interval
