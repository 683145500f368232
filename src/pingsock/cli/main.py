"""``pingsock``: argv in, text and an exit status out.

``pingsock ping ...`` is iputils ping (shared/spec/iputils-ping.md): its options, its text on
its streams, its exit codes. Diagnostics carry the ``ping:`` prefix, as when iputils is
invoked as ``ping``. A user's mistake is a message and an exit status, never a traceback.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
from collections.abc import Callable, Iterator
from typing import TextIO

import pingsock
from pingsock.backends.auto import BackendName
from pingsock.cli import render
from pingsock.cli.args import PingArgs, parse_ping_args, usage_text
from pingsock.errors import PingPermissionError, ResolveError, UsageError
from pingsock.events import Event, IcmpError, LocalError, Reply
from pingsock.resolve import Target, resolve, reverse_name
from pingsock.sync import Pinger, PingOptions

__all__ = ["entry", "main"]

PROGRAM = "ping"
_VERSION = f"ping from pingsock {pingsock.__version__} (iputils 20221126 compatible)\n"
_TOP_USAGE = """usage: pingsock <command> [arguments]

commands:
  ping [options] <destination>   send ICMP ECHO_REQUEST to a host (iputils ping options)
  version                        print the version

The backend is chosen automatically (kernel ping socket, else raw socket); set
PINGSOCK_BACKEND=kernel|raw|auto to force one.
"""


class _Streams:
    """stdout and stderr, with iputils' flushing: stdout is flushed after each reply or error
    line and at the end, so a pipe sees the header only together with the first of them."""

    def __init__(self, out: TextIO, err: TextIO) -> None:
        self.out = out
        self.err = err

    def stdout(self, text: str, *, flush: bool = False) -> None:
        if text:
            self.out.write(text)
        if flush:
            self.out.flush()

    def stderr(self, text: str) -> None:
        if text:
            self.err.write(text)
            self.err.flush()

    def diagnostic(self, message: str) -> None:
        self.stderr(f"{PROGRAM}: {message}\n")


def _backend() -> BackendName:
    value = os.environ.get("PINGSOCK_BACKEND", "auto")
    if value not in ("auto", "kernel", "raw"):
        raise UsageError(f"PINGSOCK_BACKEND must be auto, kernel or raw, not {value!r}", 2)
    return value  # type: ignore[return-value]


class _Names:
    """pr_addr with a cache: one PTR lookup per address, none for numeric runs."""

    def __init__(self, numeric: bool) -> None:
        self.numeric = numeric
        self._cache: dict[str, str | None] = {}

    def show(self, address: str) -> str:
        if self.numeric:
            return address
        if address not in self._cache:
            self._cache[address] = reverse_name(address)
        return render.pr_addr(address, self._cache[address], numeric=False)


def _header(target: Target, args: PingArgs, opts: render.RenderOptions, names: _Names) -> str:
    if target.family == socket.AF_INET6:
        return render.header_v6(target.canonical, names.show(target.address), opts)
    return render.header_v4(target.canonical, target.address, opts)


def _family(args: PingArgs) -> int:
    return {4: socket.AF_INET, 6: socket.AF_INET6}.get(args.family, socket.AF_UNSPEC)


def _event_printer(
    streams: _Streams,
    target: Target,
    opts: render.RenderOptions,
    names: _Names,
    sent_payload: bytes,
) -> Callable[[Event], None]:
    def on_event(event: Event) -> None:
        if isinstance(event, Reply):
            different = event.source.split("%")[0] != target.address.split("%")[0]
            # gather_statistics(): the echoed data is checked past the time stamp.
            wrong = "" if event.truncated else render.wrong_data_dump(event.payload, sent_payload)
            line = render.reply_line(
                event,
                names.show(event.source),
                opts,
                different_address=different,
                wrong_data=wrong,
            )
            streams.stdout(line, flush=True)
        elif isinstance(event, IcmpError):
            line = render.icmp_error_line(event, names.show(event.offender), opts)
            streams.stdout(line, flush=True)
        elif isinstance(event, LocalError):
            family = 6 if target.family == socket.AF_INET6 else 4
            output = render.local_error(event, os.strerror(event.errno), opts, family=family)
            streams.stdout(output.stdout, flush=True)
            streams.stderr(output.stderr)

    return on_event


@contextlib.contextmanager
def _interrupts(pinger: Pinger) -> Iterator[int]:
    """SIGINT ends the run with statistics (iputils' ``sigexit``); the wake-up fd makes the
    driver's poll return at once instead of after its timeout."""
    read_end, write_end = socket.socketpair()
    read_end.setblocking(False)
    write_end.setblocking(False)
    previous_fd = signal.set_wakeup_fd(write_end.fileno())

    def on_signal(_signum: int, _frame: object) -> None:
        pinger.stop()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield read_end.fileno()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        signal.set_wakeup_fd(previous_fd)
        read_end.close()
        write_end.close()


def _run_ping(args: PingArgs, streams: _Streams) -> int:
    target = resolve(args.target, _family(args))
    numeric = args.numeric or target.numeric
    names = _Names(numeric)
    ipv4_ttl_zero = args.ttl == 0 and target.family == socket.AF_INET
    opts = render.RenderOptions(
        datalen=args.size,
        numeric=numeric,
        quiet=args.quiet,
        verbose=args.verbose,
        interval_ms=args.interval_ms,
        program=PROGRAM,
    )
    options = PingOptions(
        count=args.count,
        interval=args.interval_ms / 1000,
        linger=args.linger_ms / 1000,
        deadline=float(args.deadline) or None,
        size=args.size,
        # IP_TTL 0 is refused by the kernel (IPV6_UNICAST_HOPS 0 is not): iputils reports it
        # after the route check, below.
        ttl=None if ipv4_ttl_zero else args.ttl,
        backend=_backend(),
        family=target.family,
        quiet=args.quiet,
    )
    with Pinger(target, options) as pinger:
        if args.verbose:
            kind = "SOCK_DGRAM" if pinger.backend == "kernel" else "SOCK_RAW"
            which = "sock6" if target.family == socket.AF_INET6 else "sock4"
            streams.diagnostic(f"{which}.fd: {pinger.socket.fileno()} (socktype: {kind})")
        try:
            pinger.check_route()
        except OSError as exc:
            streams.diagnostic(f"connect: {exc.strerror}")
            return 2
        if ipv4_ttl_zero:
            streams.diagnostic("cannot set unicast time-to-live: Invalid argument")
            return 2
        streams.stdout(_header(target, args, opts, names))
        if args.interval_ms < 2 and os.geteuid() != 0:
            # setup(): checked after the header is printed (spec: -f / -i row).
            streams.out.flush()
            streams.diagnostic("cannot flood; minimal interval allowed for user is 2ms")
            return 2
        with _interrupts(pinger) as wakeup:
            pinger.interrupt_fd = wakeup
            result = pinger.run(_event_printer(streams, target, opts, names, pinger.payload))
    streams.stdout(
        render.statistics(result.stats, target.canonical, result.elapsed_ns, opts), flush=True
    )
    return render.exit_status(result.received, deadline=bool(args.deadline), count=args.count)


def ping_main(argv: list[str], streams: _Streams) -> int:
    """``pingsock ping``: iputils ping."""
    try:
        args = parse_ping_args(argv)
    except UsageError as exc:
        streams.diagnostic(exc.message)
        if exc.message.startswith(("invalid option", "unrecognized option", "option requires")):
            streams.stderr(usage_text())
        return exc.status
    for warning in args.warnings:
        streams.diagnostic(warning.text)
    if args.help:
        streams.stderr(usage_text())
        return 2
    if args.version:
        streams.stdout(_VERSION, flush=True)
        return 0
    try:
        return _run_ping(args, streams)
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
    except OSError as exc:
        streams.diagnostic(f"{exc.strerror or exc}")
        return 2


def main(
    argv: list[str] | None = None, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Run the ``pingsock`` command; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    streams = _Streams(out or sys.stdout, err or sys.stderr)
    if not argv:
        streams.stderr(_TOP_USAGE)
        return 2
    if argv[0] in ("-h", "--help", "help"):
        streams.stdout(_TOP_USAGE, flush=True)
        return 0
    command, rest = argv[0], argv[1:]
    if command == "ping":
        return ping_main(rest, streams)
    if command in ("version", "--version"):
        streams.stdout(f"pingsock {pingsock.__version__}\n", flush=True)
        return 0
    streams.stderr(f"pingsock: unknown command {command!r}\n{_TOP_USAGE}")
    return 2


def entry() -> None:
    """Console-script entry point."""
    try:
        status = main()
    except KeyboardInterrupt:
        status = 130
    except BrokenPipeError:
        # A closed pipe (ping ... | head) is not an error worth a traceback.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        status = 1
    sys.exit(status)
