"""``pingsock ping``: argv in, text and an exit status out.

``pingsock ping ...`` is iputils ping (shared/spec/iputils-ping.md): its options, its text on
its streams, its exit codes. Diagnostics carry the ``ping:`` prefix, as when iputils is
invoked as ``ping``. A user's mistake is a message and an exit status, never a traceback.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import signal
import socket
from collections.abc import Iterator
from typing import TextIO

import pingsock
from pingsock.backends.auto import BackendName
from pingsock.backends.base import PingSocket
from pingsock.cli import json_lines, render
from pingsock.cli.args import PingArgs, PingUsage, check_hops, parse_ping_args, usage_text
from pingsock.cli.capabilities import CAP_NET_RAW, PROCESS
from pingsock.cli.printers import PROGRAM, JsonPrinter, Names, Streams, TextPrinter
from pingsock.cli.session import (
    Fatal,
    Session,
    configure,
    open_sockets,
    set_tos,
    setup,
    socket_line,
)
from pingsock.errors import PingPermissionError, ResolveError, UsageError
from pingsock.resolve import Target, resolve
from pingsock.sync import Pinger, PingOptions

__all__ = ["ping_main"]

_VERSION = f"ping from pingsock {pingsock.__version__} (iputils 20221126 compatible)\n"


def _backend() -> BackendName:
    value = os.environ.get("PINGSOCK_BACKEND", "auto")
    if value not in ("auto", "kernel", "raw"):
        raise UsageError(f"PINGSOCK_BACKEND must be auto, kernel or raw, not {value!r}", 2)
    return value  # type: ignore[return-value]


def _header(
    target: Target, opts: render.RenderOptions, names: Names, session: Session, args: PingArgs
) -> str:
    if target.family == socket.AF_INET6:
        return render.header_v6(
            _hostname(target, args),
            names.show(target.address),
            opts,
            flowlabel=args.flowlabel or 0,
            source=session.source,
            device=args.device,
        )
    return render.header_v4(
        target.canonical,
        target.address,
        opts,
        optlen=session.optlen,
        source=session.source,
        device=args.device,
    )


def _hostname(target: Target, args: PingArgs) -> str:
    """rts->hostname: ping6_run keeps the target as typed; ping4_run the canonical name."""
    return args.target if target.family == socket.AF_INET6 else target.canonical


def _family(args: PingArgs) -> int:
    return {4: socket.AF_INET, 6: socket.AF_INET6}.get(args.family, socket.AF_UNSPEC)


@contextlib.contextmanager
def _signals(pinger: Pinger) -> Iterator[int]:
    """SIGINT ends the run with statistics (iputils' ``sigexit``); SIGQUIT asks for the status
    line (``sigstatus``). The wake-up fd makes the driver's poll return at once."""
    read_end, write_end = socket.socketpair()
    read_end.setblocking(False)
    write_end.setblocking(False)
    previous_fd = signal.set_wakeup_fd(write_end.fileno())

    def on_stop(_signum: int, _frame: object) -> None:
        pinger.stop()

    def on_status(_signum: int, _frame: object) -> None:
        pinger.request_status()

    handlers = {signal.SIGINT: on_stop, signal.SIGTERM: on_stop, signal.SIGQUIT: on_status}
    previous = {sig: signal.signal(sig, handler) for sig, handler in handlers.items()}
    try:
        yield read_end.fileno()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        signal.set_wakeup_fd(previous_fd)
        read_end.close()
        write_end.close()


def _bare_link_local(target: str) -> bool:
    """main(): an IPv6 link-local (or link-local multicast) literal without a %scope."""
    if "%" in target:
        return False
    try:
        address = ipaddress.IPv6Address(target)
    except ValueError:
        return False
    return address.is_link_local or (address.is_multicast and address.packed[1] & 0xF == 2)


def _permission_failure(streams: Streams, failure: BaseException | None) -> int:
    """create_socket(): iputils' three lines, then what pingsock knows about the cause."""
    streams.diagnostic("socktype: SOCK_RAW")
    streams.diagnostic("socket: Operation not permitted")
    if os.geteuid() != 0:
        streams.diagnostic("=> missing cap_net_raw+p capability or setuid?")
    if isinstance(failure, PingPermissionError):
        for line in str(failure).splitlines():
            streams.diagnostic(line)
    return 2


def _run_ping(args: PingArgs, streams: Streams, *, json_mode: bool = False) -> int:
    privileged = os.geteuid() == 0
    backend = _backend()
    if args.pattern_given and not json_mode:
        streams.stdout(render.pattern_line(args.pattern, render.RenderOptions(quiet=args.quiet)))
    if args.ident == 0 or args.nodeinfo is not None:
        # main(): identifier 0 and node-information queries need a raw socket.
        if args.ident == 0 and args.verbose:
            streams.diagnostic("WARNING: ident 0 => forcing raw socket")
        backend = "raw"
    with PROCESS.raised(CAP_NET_RAW):
        sock4, sock6, failure = open_sockets(args, backend)
    if args.verbose:
        streams.diagnostic(socket_line(sock4, sock6, args.family))
        streams.stderr("\n")  # Debian's build prints an empty line after it
    try:
        set_tos(args, sock4, sock6)
        if sock6 is not None and sock6.backend == "kernel" and _bare_link_local(args.target):
            streams.diagnostic(
                "Warning: IPv6 link-local address on ICMP datagram socket may require ifname "
                "or scope-id => use: address%<ifname|scope-id>"
            )
        target = resolve(args.target, _family(args))
        sock = sock6 if target.family == socket.AF_INET6 else sock4
        for other in (sock4, sock6):
            if other is not None and other is not sock:
                other.close()
        if sock is None:
            return _permission_failure(streams, failure)
        return _run_on(args, streams, target, sock, privileged=privileged, json_mode=json_mode)
    finally:
        for opened in (sock4, sock6):
            if opened is not None:
                opened.close()


def _run_on(
    args: PingArgs,
    streams: Streams,
    target: Target,
    sock: PingSocket,
    *,
    privileged: bool,
    json_mode: bool,
) -> int:
    check_hops(args, ipv6=target.family == socket.AF_INET6)
    if args.nodeinfo is not None and target.family == socket.AF_INET6:
        # A ping socket (kernel or emulated) sends only echo requests; RFC 4620 queries
        # would need a plain raw ICMPv6 socket. Refused, never silently replaced by echoes.
        raise Fatal("-N: node information queries are not supported by pingsock")
    if args.verbose and not json_mode:
        family = "AF_INET6" if target.family == socket.AF_INET6 else "AF_INET"
        streams.stdout(f"ai->ai_family: {family}, ai->ai_canonname: '{target.canonical}'\n")
    numeric = args.numeric or target.numeric or args.flood

    def warn(line: str) -> None:
        streams.stderr(line + "\n")

    session = configure(args, target, sock, privileged=privileged, warn=warn)
    names = Names(numeric)
    if json_mode:
        streams.stdout(
            json_lines.start_line(
                _hostname(target, args),
                target.address,
                family=6 if target.family == socket.AF_INET6 else 4,
                data_bytes=args.size,
                backend=sock.backend,
                ident=_known_ident(sock, session.ident),
            ),
            flush=True,
        )
    else:
        header_opts = render.RenderOptions(datalen=args.size)
        streams.stdout(_header(target, header_opts, names, session, args))
    try:
        interval_ms = setup(args, sock, privileged=privileged, warn=warn)
    except Fatal:
        streams.out.flush()
        raise
    opts = render.RenderOptions(
        datalen=args.size,
        numeric=numeric,
        timestamps=args.timestamps,
        audible=args.audible,
        verbose=args.verbose,
        quiet=args.quiet,
        flood=args.flood,
        adaptive=args.adaptive,
        interval_ms=interval_ms,
        multicast=session.multicast,
        ident=session.ident,
        program=PROGRAM,
    )
    if args.flood and not json_mode:
        streams.unbuffered = True  # setup(): setbuf(stdout, NULL)
    options = PingOptions(
        count=args.count,
        interval=interval_ms / 1000,
        linger=args.linger_ms / 1000,
        deadline=float(args.deadline) or None,
        size=args.size,
        pattern=args.pattern,
        family=target.family,
        quiet=args.quiet,
        preload=args.preload,
        adaptive=args.adaptive,
        min_interval_ms=0 if privileged else 2,
        report_outstanding=args.report_outstanding,
        user_latency=args.user_latency,
        flowinfo=session.flowlabel,
        # On the kernel's socket an RTT starts at the kernel's transmit stamp (about a
        # microsecond on loopback; iputils reads the clock before sendmsg()). Not for -f,
        # whose point is the rate: the stamp costs an error-queue read per probe.
        kernel_send_stamps=not args.flood,
        # -q prints no line per probe or reply (text or JSON): the run only counts them.
        reply_events=not args.quiet,
    )
    pinger = Pinger(target, options, sock=sock)
    PROCESS.drop()  # drop_capabilities(): the main loop runs with none
    printer = (JsonPrinter if json_mode else TextPrinter)(streams, target, opts, names, pinger)
    with _signals(pinger) as wakeup:
        pinger.interrupt_fd = wakeup
        result = pinger.run(printer)
    status = render.exit_status(result.received, deadline=bool(args.deadline), count=args.count)
    hostname = _hostname(target, args)
    if json_mode:
        summary = json_lines.summary_line(result.stats, hostname, result.elapsed_ns, status, opts)
    else:
        summary = render.statistics(result.stats, hostname, result.elapsed_ns, opts)
    streams.stdout(summary, flush=True)
    return status


def _known_ident(sock: PingSocket, ident: int | None) -> int | None:
    """The echo identifier for ``--json``: the ping socket's port once it is bound."""
    if ident is not None:
        return ident
    try:
        return int(sock.getsockname()[1]) or None
    except OSError:
        return None


def _report_usage(exc: PingUsage, streams: Streams) -> int:
    for warning in exc.warnings:
        streams.diagnostic(warning.text)
    if exc.message:
        streams.diagnostic(exc.message)
    streams.stdout(exc.stdout, flush=True)
    streams.stderr(exc.stderr)
    return exc.status


def ping_main(argv: list[str], out: TextIO, err: TextIO) -> int:
    """``pingsock ping``: iputils ping (``--json``: JSON lines instead of its text)."""
    streams = Streams(out, err)
    json_mode = "--json" in argv[: argv.index("--")] if "--" in argv else "--json" in argv
    if json_mode:
        argv = [word for word in argv if word != "--json"]
    try:
        args = parse_ping_args(argv, privileged=os.geteuid() == 0)
    except PingUsage as exc:
        return _report_usage(exc, streams)
    for warning in args.warnings:
        streams.diagnostic(warning.text)
    if args.help:
        streams.stderr(usage_text())
        return 2
    if args.version:
        streams.stdout(_VERSION, flush=True)
        return 0
    try:
        return _run_ping(args, streams, json_mode=json_mode)
    except PingUsage as exc:
        return _report_usage(exc, streams)
    except ResolveError as exc:
        streams.diagnostic(str(exc))
        return 2
    except PingPermissionError as exc:
        for line in str(exc).splitlines():
            streams.diagnostic(line)
        return 2
    except UsageError as exc:
        streams.diagnostic(exc.message)
        return exc.status
    except Fatal as exc:
        streams.diagnostic(exc.message)
        return exc.status
    except OSError as exc:
        streams.diagnostic(f"{exc.strerror or exc}")
        return 2
