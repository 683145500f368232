"""``pingsock sweep``: fping 5.1's command on :mod:`pingsock.sweep`.

argv is parsed by :mod:`pingsock.cli.sweep_args`, the lines are made by
:mod:`pingsock.cli.sweep_render` (or :mod:`pingsock.cli.json_sweep` with ``--json``); this
module reads the targets, runs the engine, routes each line to fping's stream and returns
fping's exit status: 0 every target alive, 1 some unreachable (or a usage error), 2 a name
did not resolve, 4 a system call failed (``-f`` file, sockets). ``-x N`` decides 0/1 itself.

Like fping, names are resolved before the first probe (their errors come first, and count
mode's columns are as wide as the longest name that resolved); the engine resolves them
again when it reaches them. A progress bar is drawn on stderr when it is a terminal.
"""

from __future__ import annotations

import gc
import os
import re
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, TextIO

from pingsock.cli import sweep_render as text
from pingsock.cli.sweep_args import (
    AF_INET,
    AF_INET6,
    SweepArgs,
    SweepExit,
    dotted,
    file_line_targets,
    generate_targets,
    parse_sweep_args,
    sweep_options,
)

if TYPE_CHECKING:
    from pingsock.sweep.events import (
        Event,
        HostResult,
        ProbeError,
        ProbeReply,
        SweepTally,
        SweepTarget,
    )

__all__ = ["sweep_main"]

_PROG = text.PROG
_IPV4 = (
    r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}"
    r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\Z"
)
_PROGRESS_EVERY = 0.1  # seconds between two redraws of the progress bar


class _Hosts:
    """fping's host table: the targets in order, and where an engine target sits in it.

    ``names`` are what the engine is given (and reports as ``given``); ``shown`` what fping
    prints for each (``-A``, ``-n``, ``-d``), the names themselves by default."""

    def __init__(self, names: list[str], shown: list[str] | None = None) -> None:
        self.names = names
        self.shown = names if shown is None else shown
        self._index: dict[str, int] = {}
        self._repeats: dict[str, list[int]] = {}
        for position, name in enumerate(names):
            if name in self._index:
                self._repeats.setdefault(name, [self._index[name]]).append(position)
            else:
                self._index[name] = position
        self._bound: dict[int, int] = {}
        self._keep: list[SweepTarget] = []

    def __len__(self) -> int:
        return len(self.names)

    def host(self, position: int) -> str:
        return self.shown[position]

    def width(self) -> int:
        return max((len(name) for name in self.shown), default=0)

    def position(self, target: SweepTarget) -> int:
        given = target.given
        repeats = self._repeats.get(given)
        if repeats is None:
            return self._index[given]
        # The same target given twice is pinged twice: tell the two apart by identity.
        key = id(target)
        if key not in self._bound:
            taken = set(self._bound.values())
            self._bound[key] = next((p for p in repeats if p not in taken), repeats[-1])
            self._keep.append(target)
        return self._bound[key]

    def engine_targets(self) -> Iterable[str]:
        return self.names


_from_bytes = int.from_bytes
_inet_aton = socket.inet_aton


class _Range(_Hosts):
    """``-g``: the hosts are the addresses ``first`` .. ``last``; nothing is held per host."""

    def __init__(self, first: int, last: int) -> None:
        super().__init__([])
        self.first = first
        self.last = last

    def __len__(self) -> int:
        return max(0, self.last - self.first + 1)

    def host(self, position: int) -> str:
        return dotted(self.first + position)

    def width(self) -> int:
        return max(len(dotted(self.first)), len(dotted(self.last))) if len(self) else 0

    def position(self, target: SweepTarget) -> int:
        return _from_bytes(_inet_aton(target.address), "big") - self.first

    def engine_targets(self) -> Iterable[str]:
        return (f"{dotted(self.first)}-{dotted(self.last)}",)


class _Output:
    """The two streams, with fping's line buffering, and the progress bar."""

    def __init__(self, out: TextIO, err: TextIO, *, progress: bool) -> None:
        self.out = out
        self.err = err
        self.progress = progress
        self._bar = ""
        self._drawn_at = 0.0

    def stdout(self, line: str) -> None:
        if line:
            if self._bar:
                self.clear()
            self.out.write(line)
            self.out.flush()

    def stderr(self, line: str) -> None:
        if line:
            if self._bar:
                self.clear()
            self.err.write(line)
            self.err.flush()

    def tick(self, done: int, total: int, alive: int) -> None:
        if not self.progress:
            return
        now = time.monotonic()
        if now - self._drawn_at < _PROGRESS_EVERY and done < total:
            return
        self._drawn_at = now
        self.out.flush()
        self._bar = text.progress_bar(done, total, alive)
        self.err.write(self._bar)
        self.err.flush()

    def clear(self) -> None:
        if self._bar:
            self.err.write("\r" + " " * (len(self._bar) - 1) + "\r")
            self.err.flush()
            self._bar = ""


def _backend() -> str:
    value = os.environ.get("PINGSOCK_BACKEND", "auto")
    if value not in ("auto", "kernel", "raw"):
        raise SweepExit(1, stderr=f"{_PROG}: PINGSOCK_BACKEND must be auto, kernel or raw\n")
    return value


def _read_file(path: str) -> list[str]:
    import sys

    try:
        if path == "-":
            return list(file_line_targets(sys.stdin))
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            return list(file_line_targets(handle))
    except OSError as exc:
        raise SweepExit(4, stderr=f"{_PROG}: fopen : {exc.strerror}\n") from None


def _hints(family: int) -> tuple[int, int, int]:
    """fping's getaddrinfo hints for ``-4``, ``-6`` or neither."""
    if family == AF_INET:
        return (socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    if family == AF_INET6:
        return (socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    return (socket.AF_UNSPEC, socket.SOCK_STREAM, 0)


def _shown(name: str, sockaddr: tuple[object, ...], args: SweepArgs) -> str:
    """What fping prints for a target (``add_name()``): the name as given; ``-n`` (for an
    address given) or ``-d`` its reverse-DNS name; ``-A`` the address, after the name when
    ``-n``/``-d`` is given too."""
    printname = name
    if args.rdns or args.names:
        lookup = args.rdns
        if not lookup:
            try:
                socket.getaddrinfo(name, None, *_hints(args.family), socket.AI_NUMERICHOST)
                lookup = True
            except (socket.gaierror, UnicodeError, ValueError):
                lookup = False
        if lookup:
            try:
                printname = socket.getnameinfo(sockaddr, 0)[0]  # type: ignore[arg-type]
            except (socket.gaierror, OSError):
                printname = name
    if not args.addresses:
        return printname
    address = socket.getnameinfo(sockaddr, socket.NI_NUMERICHOST)[0]  # type: ignore[arg-type]
    return f"{printname} ({address})" if args.rdns or args.names else address


def _resolve_names(
    names: Iterable[str], family: int, output: _Output, args: SweepArgs
) -> tuple[_Hosts, int]:
    """fping's ``add_name()``: names that do not resolve are reported and left out."""
    kept: list[str] = []
    every = args.every_address
    shown: list[str] | None = [] if args.addresses or args.rdns or args.names or every else None
    unknown = 0
    hints = _hints(family)
    literal_ok = family != AF_INET6 and shown is None
    ipv4 = re.compile(_IPV4).match
    for name in names:
        if literal_ok and ipv4(name):
            kept.append(name)
            continue
        try:
            infos = socket.getaddrinfo(name, None, *hints)
        except socket.gaierror as exc:
            message = exc.strerror or str(exc)
        except (UnicodeError, ValueError):
            message = "Name or service not known"
        else:
            if not every:
                kept.append(name)
                if shown is not None:
                    shown.append(_shown(name, infos[0][4], args))
                continue
            # -m: each address is a target of its own, shown under the name (or -A address)
            for info in infos:
                sockaddr = info[4]
                kept.append(socket.getnameinfo(sockaddr, socket.NI_NUMERICHOST)[0])
                assert shown is not None
                shown.append(_shown(name, sockaddr, args))
            continue
        unknown += 1
        if args.json:
            from pingsock.cli import json_sweep

            output.stdout(json_sweep.resolve_failed_line(name, message))
        elif not args.quiet:
            output.stderr(text.name_error_line(name, message))
    return _Hosts(kept, shown), unknown


def _hosts(args: SweepArgs, output: _Output) -> tuple[_Hosts, int]:
    if args.generate:
        first, last = generate_targets(args)
        if args.family == AF_INET6 or args.rdns or args.names:
            # -6: every generated literal fails to resolve; -n/-d: names to look up
            names = [dotted(a) for a in range(first, last + 1)]
            return _resolve_names(names, args.family, output, args)
        return _Range(first, last), 0
    names = args.targets if args.targets else _read_file(args.file or "-")
    return _resolve_names(names, args.family, output, args)


class _Sweep:
    """One run: the engine's events to fping's lines and counters."""

    def __init__(self, args: SweepArgs, hosts: _Hosts, output: _Output, unknown: int) -> None:
        self.args = args
        self.hosts = hosts
        self.output = output
        self.count_mode = args.count is not None
        self.width = hosts.width() if self.count_mode else 0
        n = len(hosts)
        self.alive = bytearray(n)
        self.alive_unlisted = 0  # alive targets the engine tallied (their places unknown)
        self.done = 0
        self.tallies: list[text.HostTally] = (
            [text.HostTally() for _ in range(n)] if self.count_mode else []
        )
        self.results: dict[int, HostResult] = {}
        self.keep_results = self.count_mode or args.json
        self.send_failed: dict[int, int] = {}  # position -> first probe that failed to send
        self.failed_probes: set[tuple[int, int]] = set()  # count mode: (position, index)
        self.stats = text.GlobalStats(targets=n, unknown=unknown)
        # Nothing printed per target: the engine counts the targets that end without an
        # error (fping's counters) instead of reporting each one.
        self.tallied = not (
            self.count_mode or self.keep_results or args.verbose or args.alive or args.unreachable
        )
        self.tally: SweepTally | None = None  # the engine's, when tallied
        self.busy = False  # an event is being counted (a split report waits for it)
        self.split_due = False

    # -- events --------------------------------------------------------------------------

    def run(self, rounds: Iterator[list[Event]]) -> None:
        """Count the events of each round of the engine (:meth:`Sweeper.rounds`)."""
        for events in rounds:
            for event in events:
                self.dispatch(event)
            if self.tally is not None and self.output.progress:
                self.output.tick(self.done + self.tally.settled, len(self.alive), self._alive())

    def dispatch(self, event: Event) -> None:
        from pingsock.sweep.events import (
            HostDone,
            ProbeError,
            ProbeLost,
            ProbeReply,
            ResolveFailed,
        )

        self.busy = True
        if isinstance(event, HostDone):
            self.on_done(event.result)
        elif isinstance(event, ProbeReply):
            self.on_reply(event)
        elif isinstance(event, ProbeLost):
            self.on_lost(event.target, event[1])  # [1]: mypy takes .index for tuple.index
        elif isinstance(event, ProbeError):
            self.on_error(event)
        elif isinstance(event, ResolveFailed):
            self.stats.unknown += 1
            self.on_resolve_failed(event.given, event.message)
        self.busy = False
        if self.split_due:
            self.print_splits()

    def request_splits(self) -> None:
        """SIGQUIT or the ``-Q`` timer: print now, or after the event being counted."""
        if self.busy:
            self.split_due = True
        else:
            self.print_splits()

    def print_splits(self) -> None:
        """fping's ``print_per_system_splits`` (count mode: the counters since the last one)."""
        self.split_due = False
        args = self.args
        lines = ["\n"] if args.verbose or args.per_recv else []
        now = time.localtime()
        lines.append(text.split_header(now.tm_hour, now.tm_min, now.tm_sec))
        period = args.period_ns if args.outage else None
        for position, tally in enumerate(self.tallies):
            lines.append(
                text.split_line(
                    self.hosts.host(position), self.width, tally, outage_period_ns=period
                )
            )
            tally.reset_split()
        self.output.stderr("".join(lines))

    def on_resolve_failed(self, name: str, message: str) -> None:
        if self.args.json:
            from pingsock.cli import json_sweep

            self.output.stdout(json_sweep.resolve_failed_line(name, message))
        elif not self.args.quiet:
            self.output.stderr(text.name_error_line(name, message))

    def on_reply(self, event: ProbeReply) -> None:
        position = self.hosts.position(event.target)
        tally = self.tallies[position]
        host = self.hosts.host(position)
        self.stats.received += 1
        args = self.args
        if event.duplicate:
            tally.duplicate()
            if args.json:
                self._json_reply(host, event.target.address, event[1], event, duplicate=True)
            elif not args.per_recv:
                self.output.stderr(text.duplicate_line(host, event[1], event.size, event.rtt_ns))
            return
        tally.reply(event[1], event.rtt_ns)
        self.stats.reply(event.rtt_ns)
        if tally.received == 1:
            self.alive[position] = 1
            self.stats.alive += 1
        if args.json:
            self._json_reply(host, event.target.address, event[1], event, duplicate=False)
        elif args.per_recv:
            self.output.stdout(
                text.reply_line(
                    host,
                    self.width,
                    event[1],
                    event.size,
                    event.rtt_ns,
                    tally=tally,
                    timestamp=time.time() if args.timestamps else None,
                )
            )

    def _json_reply(
        self, host: str, address: str, index: int, event: ProbeReply, *, duplicate: bool
    ) -> None:
        from pingsock.cli import json_sweep

        self.output.stdout(
            json_sweep.reply_line(
                host,
                address,
                index,
                size=event.size,
                ttl=event.ttl,
                rtt_ns=event.rtt_ns,
                duplicate=duplicate,
                timestamp=time.time(),
            )
        )

    def on_lost(self, target: SweepTarget, index: int) -> None:
        position = self.hosts.position(target)
        if (position, index) in self.failed_probes:
            # fping settles a probe that could not be sent at once (no timeout, no line);
            # the engine lets it time out: that timeout is not one for fping.
            return
        tally = self.tallies[position]
        tally.lost(index)
        self.stats.timeouts += 1
        host = self.hosts.host(position)
        if self.args.json:
            from pingsock.cli import json_sweep

            self.output.stdout(
                json_sweep.lost_line(host, target.address, index, timestamp=time.time())
            )
        elif self.args.per_recv:
            self.output.stdout(
                text.timeout_line(
                    host,
                    self.width,
                    index,
                    tally,
                    timestamp=time.time() if self.args.timestamps else None,
                )
            )

    def on_error(self, event: ProbeError) -> None:
        position = self.hosts.position(event.target)
        host = self.hosts.host(position)
        args = self.args
        if event.icmp_type < 0:
            first = position not in self.send_failed
            if first:
                self.send_failed[position] = event[1]
            if self.count_mode:
                self.failed_probes.add((position, event[1]))
                self.tallies[position].lost(event[1])
            elif not first:
                return  # fping reports a host's first send failure only
            message = os.strerror(event.icmp_code)
            if args.json:
                self._json_error(event, host, message)
            elif args.verbose:
                self.output.stderr(text.send_error_line(host, message))
            return
        v4 = event.target.family == AF_INET
        line = text.icmp_error_line(event.icmp_type, event.icmp_code, event.source, host)
        if args.json:
            self._json_error(
                event,
                host,
                line.partition(" from ")[0]
                if v4 and line
                else f"ICMP{'' if v4 else 'v6'} type {event.icmp_type} code {event.icmp_code}",
            )
        if not v4 or not line:
            return  # fping 5.1 decodes no ICMPv6 error (it looks at the wrong offset)
        self.stats.other_icmp += 1
        if not args.json and not args.quiet:
            self.output.stderr(line)

    def _json_error(self, event: ProbeError, host: str, message: str) -> None:
        from pingsock.cli import json_sweep

        self.output.stdout(
            json_sweep.error_line(
                host,
                event.target.address,
                event[1],
                source=event.source,
                icmp_type=event.icmp_type,
                icmp_code=event.icmp_code,
                text=message,
                timestamp=time.time(),
            )
        )

    def on_done(self, result: HostResult) -> None:
        position = self.hosts.position(result.target)
        self.done += 1
        if self.keep_results:
            self.results[position] = result
        args = self.args
        if self.count_mode:
            self.stats.sent += result.sent
        else:
            stats = self.stats
            failed = self.send_failed.get(position) if self.send_failed else None
            sent = result.sent if failed is None else min(result.sent, failed + 1)
            stats.sent += sent
            lost = sent - result.received - (failed is not None)
            if lost > 0:
                stats.timeouts += lost
            if result.received:
                rtts = result.rtts_ns
                rtt = rtts[-1]  # the first reply ends the target: its probe is the last one
                if rtt is None:
                    rtt = next((r for r in rtts if r is not None), 0)
                self.alive[position] = 1
                stats.alive += 1
                stats.received += result.received + result.duplicates
                stats.reply(rtt)
                if args.json:
                    host = self.hosts.host(position)
                    from pingsock.cli import json_sweep

                    index = next(i for i, r in enumerate(result.rtts_ns) if r is not None)
                    self.output.stdout(
                        json_sweep.reply_line(
                            host,
                            result.target.address,
                            index,
                            size=None,
                            ttl=None,
                            rtt_ns=rtt,
                            duplicate=False,
                            timestamp=time.time(),
                        )
                    )
                elif args.verbose or args.alive:
                    self.output.stdout(
                        text.alive_line(
                            self.hosts.host(position),
                            verbose=args.verbose,
                            rtt_ns=rtt if args.elapsed else None,
                        )
                    )
        if self.output.progress:
            self.output.tick(self.done, len(self.alive), self._alive())

    def _alive(self) -> int:
        return self.stats.alive + (self.tally.alive if self.tally is not None else 0)

    def _take_tally(self) -> None:
        """Add the engine's counters to fping's (once, at the end)."""
        tally, self.tally = self.tally, None
        if tally is None:
            return
        stats = self.stats
        self.done += tally.settled
        self.alive_unlisted += tally.alive
        stats.alive += tally.alive
        stats.sent += tally.sent
        stats.timeouts += tally.timeouts
        stats.received += tally.received
        stats.replies += tally.alive
        stats.sum_ns += tally.sum_ns
        if tally.max_ns and (not stats.max_ns or tally.max_ns > stats.max_ns):
            stats.max_ns = tally.max_ns
        if tally.min_ns and (not stats.min_ns or tally.min_ns < stats.min_ns):
            stats.min_ns = tally.min_ns

    # -- the end -------------------------------------------------------------------------

    def finish(self, elapsed_ns: int) -> int:
        self._take_tally()
        args = self.args
        stats = self.stats
        stats.elapsed_ns = elapsed_ns
        self.output.clear()
        self.output.progress = False
        n = len(self.alive)
        stats.unreachable = n - sum(self.alive) - self.alive_unlisted
        if self.count_mode:
            for position, tally in enumerate(self.tallies):
                if position not in self.results:
                    stats.sent += tally.sent  # interrupted before the host finished
        status = self._status()
        if args.json:
            self._json_finish(status)
            return status
        if (args.verbose or args.unreachable) and stats.unreachable:
            suffix = " is unreachable\n" if args.verbose else "\n"
            name = self.hosts.host
            self.output.stdout("".join(name(p) + suffix for p in range(n) if not self.alive[p]))
        if self.count_mode:
            lines = ["\n"] if args.per_recv else []
            period = args.period_ns if args.outage else None
            for position, tally in enumerate(self.tallies):
                host = self.hosts.host(position)
                if args.report_all:
                    rtts = [
                        tally.rtts[j] if j < len(tally.rtts) else None for j in range(tally.sent)
                    ]
                    lines.append(text.vcount_line(host, self.width, rtts))
                else:
                    lines.append(
                        text.count_summary_line(host, self.width, tally, outage_period_ns=period)
                    )
            self.output.stderr("".join(lines))
        if args.stats:
            self.output.stderr(text.global_stats(stats))
        if args.min_reachable:
            self.output.stdout(text.reachable_line(args.min_reachable, n - stats.unreachable))
        return status

    def _status(self) -> int:
        reachable = len(self.alive) - self.stats.unreachable
        if self.args.min_reachable:
            return 0 if reachable >= self.args.min_reachable else 1
        if self.stats.unknown:
            return 2
        return 0 if reachable == len(self.alive) else 1

    def _json_finish(self, status: int) -> None:
        from pingsock.cli import json_sweep

        stats = self.stats
        lines = []
        for position in range(len(self.alive)):
            result = self.results.get(position)
            tally = self.tallies[position] if self.count_mode else None
            lines.append(
                json_sweep.host_line(
                    self.hosts.host(position),
                    None if result is None else result.target.address,
                    sent=result.sent if result is not None else (tally.sent if tally else 0),
                    received=result.received if result is not None else 0,
                    duplicates=result.duplicates if result is not None else 0,
                    errors=result.errors if result is not None else 0,
                    rtts=result.rtts_ns if result is not None else (),
                )
            )
        lines.append(
            json_sweep.summary_line(
                targets=stats.targets,
                alive=len(self.alive) - stats.unreachable,
                unreachable=stats.unreachable,
                unknown=stats.unknown,
                sent=stats.sent,
                received=stats.received,
                timeouts=stats.timeouts,
                other_icmp=stats.other_icmp,
                elapsed_ns=stats.elapsed_ns,
                exit_status=status,
            )
        )
        self.output.stdout("".join(lines))


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def sweep_main(argv: list[str], stdout: TextIO, stderr: TextIO) -> int:
    """``pingsock sweep ARGS``: run fping 5.1's command; returns its exit status."""
    output = _Output(stdout, stderr, progress=False)
    try:
        args = parse_sweep_args(argv)
        backend = _backend()
        if args.size < 16:
            raise SweepExit(
                1,
                stderr=f"{_PROG}: data size {args.size} not supported by pingsock sweep "
                "(at least 16 bytes: the probe's cookie and send time)\n",
            )
        started = time.monotonic_ns()
        hosts, unknown = _hosts(args, output)
    except SweepExit as exc:
        output.stdout(exc.stdout)
        output.stderr(exc.stderr)
        return exc.status
    if not len(hosts):
        return 2 if unknown else 1
    output.progress = not args.json and _isatty(stderr)
    sweep = _Sweep(args, hosts, output, unknown)
    failure = _drive(sweep, args, hosts, backend)
    if failure is not None:
        output.clear()
        output.stderr(failure[1])
        return failure[0]
    return sweep.finish(time.monotonic_ns() - started)


def _drive(sweep: _Sweep, args: SweepArgs, hosts: _Hosts, backend: str) -> tuple[int, str] | None:
    """Run the engine into ``sweep``; (status, message) when it could not run."""
    from pingsock.cli.capabilities import CAP_NET_RAW, PROCESS
    from pingsock.errors import PingPermissionError
    from pingsock.sweep.driver import Sweeper

    sweeper = Sweeper(hosts.engine_targets(), sweep_options(args, backend), tally=sweep.tallied)
    sweep.tally = sweeper.tally
    restore: Callable[[], None] = _no_signals
    # No reference cycles are made here; the collector's passes over the targets in flight
    # would cost more than counting them (Sweeper pauses it only during its own rounds).
    collect = gc.isenabled()
    gc.disable()
    try:
        # The engine opens a family's socket when it first meets a target of that family:
        # CAP_NET_RAW (when the entry point kept it permitted) is effective during the run,
        # as it is for fping (a file capability).
        with PROCESS.raised(CAP_NET_RAW):
            # fping opens its sockets first, then starts its clock (-Q counts from there).
            for family in (AF_INET, AF_INET6):
                if args.family in (socket.AF_UNSPEC, family):
                    sweeper.open_early(family)
            restore = _split_signals(sweep, args)
            sweep.run(sweeper.rounds())
    except KeyboardInterrupt:
        pass  # fping: SIGINT ends the loop, the statistics are still printed
    except PingPermissionError as exc:
        lines = "" if args.quiet else f"{_PROG}: can't create socket (must run as root?)\n"
        return 4, lines + "".join(f"{_PROG}: {line}\n" for line in str(exc).splitlines())
    except OSError as exc:
        return 4, f"{_PROG}: {exc.strerror or exc}\n"
    finally:
        if collect:
            gc.enable()
        restore()
        sweeper.close()
    return None


def _no_signals() -> None:
    pass


def _split_signals(sweep: _Sweep, args: SweepArgs) -> Callable[[], None]:
    """SIGQUIT prints a split report, and ``-Q SECS`` every SECS seconds (count mode, as
    fping; in the default mode SIGQUIT is ignored: the engine reports no probe there).
    Returns what puts the previous handlers back."""
    import signal

    def on_split(_signum: int, _frame: object) -> None:
        sweep.request_splits()

    def ignore(_signum: int, _frame: object) -> None:
        pass

    try:
        previous = {
            signal.SIGQUIT: signal.signal(signal.SIGQUIT, on_split if sweep.count_mode else ignore)
        }
    except ValueError:  # not the main thread (an embedding caller): no signals then
        return lambda: None
    if sweep.count_mode and args.report_interval_ns:
        previous[signal.SIGALRM] = signal.signal(signal.SIGALRM, on_split)
        seconds = args.report_interval_ns / 1e9
        signal.setitimer(signal.ITIMER_REAL, seconds, seconds)

    def restore() -> None:
        if signal.SIGALRM in previous:
            signal.setitimer(signal.ITIMER_REAL, 0)
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    return restore
