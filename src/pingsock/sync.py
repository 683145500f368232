"""The blocking ping driver: one target, iputils' schedule, events out.

It does the I/O (socket, clock, poll) and nothing clever: matching, duplicates and statistics
are the tracker's; what to print is the CLI's. The schedule and the exit rules are iputils'
``main_loop()``/``pinger()``/``schedule_exit()`` (shared/spec/iputils-ping.md sections 4, 5.4):
probes every interval; without -w the run ends once replies + errors reach -c, or when the
linger after the last probe runs out (2 x the largest RTT, at least the interval, if anything
came back; -W otherwise); -w is a hard deadline, and with -w the first ICMP error ends the run.
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import select
import socket
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from pingsock import linux
from pingsock.backends.auto import BackendName, open_socket
from pingsock.backends.base import PingSocket
from pingsock.cmsg import ExtendedError, parse_extended_error, parse_int_cmsg, parse_timestamp_ns
from pingsock.events import Event, IcmpError, LocalError
from pingsock.resolve import Target, resolve
from pingsock.results import PingResult
from pingsock.tracker import ProbeTracker, build_payload

__all__ = ["PingOptions", "Pinger", "ping"]

_ECHO_HEADER = struct.Struct("!BBHHH")
_ANC_SIZE = 512
_DEFAULT_LINGER_S = 10.0  # iputils MAXWAIT
_MAX_DRAIN = 1024  # packets read per wake-up, so a flood cannot starve the sender
_BACKOFF_S = 0.01  # a full send buffer: try again after MIN_INTERVAL_MS, as pinger() does


@dataclass(frozen=True, slots=True)
class PingOptions:
    """What a run does; the defaults are iputils' (``ping`` with no options)."""

    count: int | None = None  # -c: stop after this many replies (None: until stopped)
    interval: float = 1.0  # -i, seconds
    linger: float = _DEFAULT_LINGER_S  # -W: wait after the last probe when nothing came back
    deadline: float | None = None  # -w: stop after this many seconds, whatever happens
    size: int = 56  # -s: payload bytes
    ttl: int | None = None  # -t
    tos: int | None = None  # -Q
    pattern: bytes = b""  # -p
    ident: int | None = None  # -e: bind to this ident (kernel socket) / use it (raw)
    backend: BackendName = "auto"
    family: int = socket.AF_UNSPEC  # -4 / -6
    quiet: bool = False  # -q (only changes what is counted as a local error)


@dataclass(slots=True)
class _Schedule:
    start: float  # CLOCK_MONOTONIC of the first probe
    next_send: float
    linger_until: float | None = None  # schedule_exit(): set when the last probe has left
    deadline_at: float | None = None  # -w


def _icmp_echo_type(family: int) -> int:
    return 128 if family == socket.AF_INET6 else 8


class Pinger:
    """One ping run against one target; iterate :meth:`events` or call :meth:`run`."""

    def __init__(self, target: Target | str, options: PingOptions | None = None) -> None:
        self.options = options or PingOptions()
        self.target = target if isinstance(target, Target) else resolve(target, self.options.family)
        self.family = self.target.family
        self.socket: PingSocket = open_socket(self.family, backend=self.options.backend)
        try:
            self._configure()
        except BaseException:
            self.socket.close()
            raise
        self.tracker = ProbeTracker(self.family, self.options.size, quiet=self.options.quiet)
        self._payload = build_payload(self.options.size, self.options.pattern)
        self._echo_type = _icmp_echo_type(self.family)
        self._stop_requested = False
        self.elapsed_ns = 0
        # A readable fd that ends the wait early (the CLI's signal wake-up fd): poll returns
        # at once when a signal arrives, and the stop request is seen without delay.
        self.interrupt_fd: int | None = None

    @property
    def backend(self) -> str:
        return self.socket.backend

    @property
    def payload(self) -> bytes:
        """The echo data this run sends (its first 16 bytes are each probe's send stamp)."""
        return bytes(self._payload)

    def _configure(self) -> None:
        sock, v6 = self.socket, self.family == socket.AF_INET6
        level = linux.SOL_IPV6 if v6 else linux.SOL_IP
        # What iputils' setup() asks of the socket (spec L11): errors on the error queue,
        # the TTL / hop limit of each reply, and a kernel receive time stamp.
        sock.setsockopt(level, linux.IPV6_RECVERR if v6 else linux.IP_RECVERR, 1)
        sock.setsockopt(level, linux.IPV6_RECVHOPLIMIT if v6 else linux.IP_RECVTTL, 1)
        sock.setsockopt(linux.SOL_SOCKET, linux.SO_TIMESTAMPNS, 1)
        if self.options.ttl is not None:
            sock.setsockopt(
                level, linux.IPV6_UNICAST_HOPS if v6 else linux.IP_TTL, self.options.ttl
            )
        if self.options.tos is not None:
            sock.setsockopt(level, linux.IPV6_TCLASS if v6 else linux.IP_TOS, self.options.tos)
        if self.options.ident is not None:
            sock.bind(("::", self.options.ident, 0, 0) if v6 else ("0.0.0.0", self.options.ident))

    def check_route(self) -> None:
        """iputils' probe ``connect()`` on a UDP socket: a routing failure is reported before
        any probe is sent (``ping: connect: Network is unreachable``, exit 2)."""
        probe = socket.socket(self.family, socket.SOCK_DGRAM)
        try:
            probe.connect(self.target.sockaddr)
        finally:
            probe.close()

    def stop(self) -> None:
        """Ask the run to end (SIGINT): the statistics of what happened so far stand."""
        self._stop_requested = True

    def close(self) -> None:
        self.socket.close()

    def __enter__(self) -> Pinger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the run ---------------------------------------------------------------------------

    def events(self) -> Iterator[Event]:
        """Run the schedule, yielding each event as it happens."""
        opts = self.options
        now = time.monotonic()
        plan = _Schedule(start=now, next_send=now)
        if opts.deadline:
            plan.deadline_at = now + opts.deadline
        poller = select.poll()
        fd = self.socket.fileno()
        poller.register(fd, select.POLLIN | select.POLLERR)
        if self.interrupt_fd is not None:
            poller.register(self.interrupt_fd, select.POLLIN)
        while not self._finished(plan):
            now = time.monotonic()
            if self._may_send() and now >= plan.next_send:
                yield from self._send(plan, now)
                continue
            wait = self._wait_seconds(plan, now)
            for ready_fd, revents in poller.poll(math.ceil(wait * 1000)):
                if ready_fd == fd:
                    yield from self._drain(revents)
                else:
                    _drain_fd(ready_fd)

    def run(self, on_event: Callable[[Event], None] | None = None) -> PingResult:
        """Run to the end and return the result; ``on_event`` sees each event as it happens."""
        collected: list[Event] = []
        for event in self.events():
            collected.append(event)
            if on_event is not None:
                on_event(event)
        return PingResult.from_run(
            self.target, self.backend, collected, self.tracker.snapshot(), self.elapsed_ns
        )

    def _may_send(self) -> bool:
        count = self.options.count
        # pinger(): with -w, probes go on past -c until enough replies came back.
        return count is None or self.tracker.transmitted < count or bool(self.options.deadline)

    def _finished(self, plan: _Schedule) -> bool:
        # Called on every turn of the loop: read the live counters, build no snapshot.
        opts, stats = self.options, self.tracker.stats
        if self._stop_requested:
            return True
        if opts.count is not None and stats.received + stats.errors >= opts.count:
            return True
        if opts.deadline and stats.errors:
            return True  # main_loop(): "if (deadline && nerrors) break" (iputils #565)
        now = time.monotonic()
        if plan.deadline_at is not None and now >= plan.deadline_at:
            return True
        return plan.linger_until is not None and now >= plan.linger_until

    def _wait_seconds(self, plan: _Schedule, now: float) -> float:
        limits = []
        if self._may_send():
            limits.append(plan.next_send - now)
        if plan.linger_until is not None:
            limits.append(plan.linger_until - now)
        if plan.deadline_at is not None:
            limits.append(plan.deadline_at - now)
        return max(0.0, min(limits)) if limits else 1.0

    def _send(self, plan: _Schedule, now: float) -> Iterator[Event]:
        seq = self.tracker.next_seq()
        header = _ECHO_HEADER.pack(self._echo_type, 0, 0, 0, seq)
        wall_ns = time.time_ns()
        self.tracker.stamp(self._payload, wall_ns)  # as late as possible before the send
        try:
            self.socket.sendto(header + self._payload, self.target.sockaddr)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.ENOBUFS, errno.ENOMEM):
                plan.next_send = now + _BACKOFF_S
                return  # pinger(): back off and retry; the probe is not counted
            yield self.tracker.sent(seq, wall_ns)
            queued = list(self._read_errors())
            if queued:
                yield from queued
            else:
                yield self.tracker.error(_local(exc.errno), b"", time.time_ns())
        else:
            yield self.tracker.sent(seq, wall_ns)
        self.elapsed_ns = int((now - plan.start) * 1e9)
        plan.next_send = max(plan.next_send + self.options.interval, now)
        count = self.options.count
        if count is not None and self.tracker.transmitted >= count and not self.options.deadline:
            self._start_linger(plan, now)

    def _start_linger(self, plan: _Schedule, now: float) -> None:
        # schedule_exit(): computed once, when the last probe has been sent.
        stats = self.tracker.stats
        if stats.received:
            wait = max(2 * stats.tmax_us / 1e6, self.options.interval)
        else:
            wait = self.options.linger
        plan.linger_until = now + wait if wait > 0 else None

    def _drain(self, revents: int) -> Iterator[Event]:
        sock = self.socket
        for _ in range(_MAX_DRAIN):
            try:
                data, anc, _flags, address = sock.recvmsg(65536, _ANC_SIZE, linux.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                # A pending socket error (sk_err) comes before queued data (spec G5); the
                # details are on the error queue.
                yield from self._read_errors()
                continue
            received_ns, ttl = _reply_metadata(anc)
            event = self.tracker.reply(data, _host(address), ttl, received_ns)
            if event is not None:
                yield event
            if self.tracker.stats.in_flight() == 0:
                # main_loop(): "If nothing is in flight, break returns us to pinger", where the
                # exit checks run; so a late duplicate of the last probe is never read.
                break
        if revents & select.POLLERR:
            yield from self._read_errors()

    def _read_errors(self) -> Iterator[IcmpError | LocalError]:
        for _ in range(_MAX_DRAIN):
            try:
                data, anc, _flags, _address = self.socket.recvmsg(
                    65536, _ANC_SIZE, linux.MSG_ERRQUEUE | linux.MSG_DONTWAIT
                )
            except OSError:
                return
            received_ns = time.time_ns()
            for level, kind, payload in anc:
                if (level, kind) in (
                    (linux.SOL_IP, linux.IP_RECVERR),
                    (linux.SOL_IPV6, linux.IPV6_RECVERR),
                ):
                    error = parse_extended_error(payload)
                    if error is not None:
                        yield self.tracker.error(error, data, received_ns)
                else:
                    stamp = parse_timestamp_ns(level, kind, payload)
                    if stamp is not None:
                        received_ns = stamp


def _local(code: int | None) -> ExtendedError:
    """A send that failed locally, shaped like the error-queue entry it stands for."""
    return ExtendedError(code or 0, linux.SO_EE_ORIGIN_LOCAL, 0, 0, 0, 0, None)


def _drain_fd(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.read(fd, 512)


def _reply_metadata(anc: list[tuple[int, int, bytes]]) -> tuple[int, int | None]:
    received_ns = 0
    ttl = None
    for level, kind, payload in anc:
        if level == linux.SOL_SOCKET:
            stamp = parse_timestamp_ns(level, kind, payload)
            if stamp is not None:
                received_ns = stamp
        elif (level, kind) in ((linux.SOL_IP, linux.IP_TTL), (linux.SOL_IPV6, linux.IPV6_HOPLIMIT)):
            ttl = parse_int_cmsg(payload)
    return (received_ns or time.time_ns()), ttl


def _host(address: tuple[object, ...]) -> str:
    host = str(address[0])
    if len(address) >= 4 and address[3] and "%" not in host and host.startswith("fe80"):
        return f"{host}%{address[3]}"
    return host


def ping(
    host: str,
    *,
    count: int | None = 4,
    interval: float = 1.0,
    timeout: float = _DEFAULT_LINGER_S,
    size: int = 56,
    ttl: int | None = None,
    deadline: float | None = None,
    family: int = socket.AF_UNSPEC,
    backend: BackendName = "auto",
    tos: int | None = None,
    pattern: bytes = b"",
    on_event: Callable[[Event], None] | None = None,
) -> PingResult:
    """Ping ``host`` as ``ping -c count -i interval -W timeout -s size -t ttl`` would, and
    return what happened, with iputils' statistics. Raises ``ResolveError`` for an unknown
    name, ``PingPermissionError`` when no backend is allowed, ``OSError`` for routing failures.
    """
    options = PingOptions(
        count=count,
        interval=interval,
        linger=timeout,
        deadline=deadline,
        size=size,
        ttl=ttl,
        tos=tos,
        pattern=pattern,
        backend=backend,
        family=family,
    )
    with Pinger(host, options) as pinger:
        pinger.check_route()
        return pinger.run(on_event)
