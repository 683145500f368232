"""The asyncio twin of :mod:`pingsock.sync`: ``await aping(...)`` and a shared ``AsyncPinger``.

One :class:`AsyncPinger` owns at most one ping socket per address family, opened on first use
and watched with ``loop.add_reader``. Every run (``ping``) and single probe (``probe``) of that
pinger shares it: a demultiplexer routes each echo reply, and each ICMP error read from the
socket's error queue (``IP_RECVERR``), to the probe it answers by (address, sequence). The
sequence numbers on the wire come from one 16-bit counter per family that skips those still in
use, and each run keeps its own iputils numbering (1, 2, ...) in its events and result: the
wire sequence is mapped back before the shared :class:`~pingsock.tracker.ProbeTracker` sees the
packet. A reply counts only when its payload carries what that probe sent: the send stamp
(the first 16 bytes, as iputils writes them) and a random per-pinger cookie (the next 8).

The schedule and exit rules are :class:`pingsock.probe_plan.Schedule`, the statistics
:class:`~pingsock.stats.StatsAccumulator`'s, so ``await aping(host, ...)`` returns the same
:class:`~pingsock.results.PingResult` as ``ping(host, ...)`` for the same events. RTTs use
the kernel's receive stamp (``SO_TIMESTAMPNS``).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import os
import socket
import struct
import time
from collections import deque
from collections.abc import Callable

from pingsock import linux
from pingsock.backends.auto import BackendName, open_socket
from pingsock.backends.base import PingSocket
from pingsock.cmsg import (
    ExtendedError,
    parse_extended_error,
    parse_timestamp_ns,
    parse_tx_timestamp,
)
from pingsock.events import Event, LocalError, Sent
from pingsock.pacing import Pacer
from pingsock.probe_plan import (
    ANC_SIZE,
    DEFAULT_LINGER_S,
    ECHO_HEADER,
    MAX_DRAIN,
    Schedule,
    host_text,
    icmp_echo_type,
    reply_metadata,
    socket_options,
)
from pingsock.resolve import Target, resolve
from pingsock.results import PingResult
from pingsock.tracker import TIMING_BYTES, ProbeTracker, build_payload

__all__ = ["AsyncPinger", "aping"]

_SEQ = struct.Struct("!H")
_SEQ_SPACE = 0x10000
_COOKIE_BYTES = 8
_KEEP_PER_RUN = 1024  # wire sequences a run keeps after sending, to recognise duplicates
_MIN_ECHO_CHECK = 8  # a truncated echo must carry at least this much of the probe's identity
_RCVBUF = 1 << 20  # asked for (the kernel caps it at rmem_max): bursts of hundreds of replies
_HeldError = tuple[ExtendedError, bytes, int]  # an error-queue entry: error, quote, stamp
_RECVERR = ((linux.SOL_IP, linux.IP_RECVERR), (linux.SOL_IPV6, linux.IPV6_RECVERR))


def _normal(host: str) -> str:
    """An address in one canonical text form (no %scope), to compare reply sources."""
    bare = host.split("%", 1)[0]
    try:
        return ipaddress.ip_address(bare).compressed
    except ValueError:
        return bare


def _cookie_slice(size: int) -> slice:
    """Where the cookie goes: after the send stamp, or at the start of a payload too small
    to carry one (iputils times replies only from 16 bytes on)."""
    if size >= TIMING_BYTES:
        return slice(TIMING_BYTES, min(size, TIMING_BYTES + _COOKIE_BYTES))
    return slice(0, min(size, _COOKIE_BYTES))


class _Run:
    """One run: what it sends and to whom, its schedule, tracker and events, how to wake it."""

    __slots__ = (
        "address",
        "elapsed_ns",
        "events",
        "identity_size",
        "on_event",
        "pacer",
        "payload",
        "plan",
        "send_failed",
        "target",
        "tracker",
        "waiter",
        "wire_seqs",
    )

    def __init__(
        self,
        target: Target,
        tracker: ProbeTracker,
        payload: bytearray,
        pacer: Pacer,
        *,
        plan: Schedule,
        on_event: Callable[[Event], None] | None,
    ) -> None:
        self.target = target
        self.address = _normal(target.address)  # what reply sources are compared with
        self.tracker = tracker
        self.payload = payload
        self.identity_size = _cookie_slice(len(payload)).stop  # send stamp + cookie
        self.pacer = pacer
        self.plan = plan
        self.on_event = on_event
        self.events: list[Event] = []
        self.waiter: asyncio.Future[None] | None = None
        self.wire_seqs: deque[int] = deque()
        self.elapsed_ns = 0  # first probe to last probe sent
        self.send_failed = False  # a probe could not leave (no route, ...)

    def deliver(self, event: Event) -> None:
        if not isinstance(event, Sent):
            self.events.append(event)
        if self.on_event is not None:
            self.on_event(event)
        self.wake()

    def wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def sleep(self, loop: asyncio.AbstractEventLoop, seconds: float) -> None:
        """Until ``seconds`` pass or something happens to this run."""
        waiter: asyncio.Future[None] = loop.create_future()
        self.waiter = waiter
        handle = loop.call_later(seconds, _resolve, waiter)
        try:
            await waiter
        finally:
            handle.cancel()
            self.waiter = None


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class _Probe:
    """A wire sequence in use: whose it is, where it went, and what it carried."""

    __slots__ = ("address", "identity", "run", "seq")

    def __init__(self, run: _Run, seq: int, address: str, identity: bytes) -> None:
        self.run = run
        self.seq = seq  # the run's own icmp_seq
        self.address = address  # _normal() of the destination
        self.identity = identity  # send stamp + cookie, as sent

    def echoes(self, data: bytes, *, quoted: bool) -> bool:
        """Whether ``data`` (the echoed or quoted payload) carries this probe's identity.

        A reply must carry all of it (or at least 8 bytes of it when truncated); an ICMP
        error may quote less (routers quote 8 bytes of ICMP), but what it quotes must match.
        """
        identity = self.identity
        n = min(len(identity), len(data))
        if not quoted and n < len(identity) and n < _MIN_ECHO_CHECK:
            return False
        return data[:n] == identity[:n]


class _Channel:
    """One family's socket, shared by every run of a pinger, and its demultiplexer."""

    def __init__(self, sock: PingSocket, loop: asyncio.AbstractEventLoop) -> None:
        self.sock = sock
        self.loop = loop
        self.family = sock.family
        self.echo_type = icmp_echo_type(sock.family)
        self.reply_type = 129 if sock.family == socket.AF_INET6 else 0
        self.probes: dict[int, _Probe] = {}  # wire seq -> probe
        self.runs: set[_Run] = set()
        self.next_seq = 1
        self.fd = sock.fileno()
        # The kernel stamps each datagram as it leaves (SO_TIMESTAMPING; the raw backend passes
        # on its raw socket's stamps): RTTs then run kernel to kernel, as pingsock.ping()'s
        # do. last_sent: (wire seq, length, probe).
        self.last_sent: tuple[int, int, _Probe] | None = None
        flags = linux.SOF_TIMESTAMPING_TX_SOFTWARE | linux.SOF_TIMESTAMPING_SOFTWARE
        sock.setsockopt(linux.SOL_SOCKET, linux.SO_TIMESTAMPING, flags)
        loop.add_reader(self.fd, self.on_readable)

    def close(self) -> None:
        self.loop.remove_reader(self.fd)
        self.sock.close()
        for run in list(self.runs):
            run.wake()

    # -- sequence numbers ------------------------------------------------------------------

    def allocate(self) -> int | None:
        """The next free wire sequence (None: all 65536 are in use)."""
        if len(self.probes) >= _SEQ_SPACE:
            return None
        seq = self.next_seq
        while seq in self.probes:
            seq = (seq + 1) & 0xFFFF
        self.next_seq = (seq + 1) & 0xFFFF
        return seq

    def register(self, wire: int, probe: _Probe) -> None:
        self.probes[wire] = probe
        run = probe.run
        run.wire_seqs.append(wire)
        if len(run.wire_seqs) > _KEEP_PER_RUN:
            self.forget(run, run.wire_seqs.popleft())

    def forget(self, run: _Run, wire: int) -> None:
        probe = self.probes.get(wire)
        if probe is not None and probe.run is run:
            del self.probes[wire]

    def release(self, run: _Run) -> None:
        """The run is over: its sequences are free again, and late packets for it strays."""
        for wire in run.wire_seqs:
            self.forget(run, wire)
        run.wire_seqs.clear()
        self.runs.discard(run)

    # -- receiving ---------------------------------------------------------------------------

    def on_readable(self) -> None:
        """The socket is readable: route every queued reply, then every queued error.

        The emulated socket shows a queued error as POLLIN, the kernel's as POLLERR (which
        asyncio's selector also reports as readable); either way the error queue is read.
        """
        sock = self.sock
        for _ in range(MAX_DRAIN):
            try:
                data, anc, _flags, address = sock.recvmsg(65536, ANC_SIZE, linux.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                # A pending socket error (sk_err) comes before queued data (spec G5); the
                # details are on the error queue.
                self.read_errors()
                continue
            self._reply(data, anc, address)
        self.read_errors()

    def _reply(self, data: bytes, anc: list[tuple[int, int, bytes]], address: object) -> None:
        if len(data) < 8 or data[0] != self.reply_type or not isinstance(address, tuple):
            return
        wire = _SEQ.unpack_from(data, 6)[0]
        probe = self.probes.get(wire)
        if probe is None or _normal(str(address[0])) != probe.address:
            return  # not ours: another run's long-released sequence, or a stray
        if not probe.echoes(data[8:], quoted=False):
            return  # the right sequence with someone else's payload
        received_ns, ttl, options = reply_metadata(anc)
        if not received_ns:
            received_ns = time.time_ns()
        message = data[:6] + _SEQ.pack(probe.seq) + data[8:]
        event = probe.run.tracker.reply(
            message, host_text(address), ttl, received_ns, ip_options=options
        )
        if event is not None:
            probe.run.deliver(event)

    def read_errors(self, hold: _Probe | None = None) -> tuple[int, list[_HeldError]]:
        """Route every error on the error queue to its probe's run.

        Errors for ``hold`` (a probe whose send just failed, not yet counted as sent) are
        returned instead of delivered. Returns how many went to other probes, and those held.
        """
        routed = 0
        held: list[_HeldError] = []
        for _ in range(MAX_DRAIN):
            try:
                data, anc, _flags, address = self.sock.recvmsg(
                    65536, ANC_SIZE, linux.MSG_ERRQUEUE | linux.MSG_DONTWAIT
                )
            except OSError:
                break
            received_ns = time.time_ns()
            if self._restamped(data, anc):
                continue
            error: ExtendedError | None = None
            for level, kind, payload in anc:
                if (level, kind) in _RECVERR:
                    error = parse_extended_error(payload)
                else:
                    stamp = parse_timestamp_ns(level, kind, payload)
                    if stamp is not None:
                        received_ns = stamp
            if error is not None and error.origin == linux.SO_EE_ORIGIN_TIMESTAMPING:
                continue  # a transmit stamp that came too late to matter
            matched = None if error is None else self._match_error(data, address)
            if error is None or matched is None:
                continue
            probe, message = matched
            if probe is hold:
                held.append((error, message, received_ns))
            else:
                routed += 1
                probe.run.deliver(probe.run.tracker.error(error, message, received_ns))
        return routed, held

    def _restamped(self, data: bytes, anc: list[tuple[int, int, bytes]]) -> bool:
        """A transmit stamp of the datagram just sent: its run gets the kernel's send time."""
        if self.last_sent is None:
            return False
        wire, length, probe = self.last_sent
        sent = parse_tx_timestamp(data, anc, length)
        if sent is None:
            return False
        if sent[0] == wire:
            probe.run.tracker.restamp(probe.seq, sent[1])
            self.last_sent = None
        return True

    def _match_error(self, quoted: bytes, address: object) -> tuple[_Probe, bytes] | None:
        """The probe an error-queue entry quotes, and the quote in that run's numbering."""
        if len(quoted) < 8:
            return None  # no sequence: nothing says whose probe it was
        probe = self.probes.get(_SEQ.unpack_from(quoted, 6)[0])
        if probe is None:
            return None
        destination = address[0] if isinstance(address, tuple) and address else None
        if destination and _normal(str(destination)) != probe.address:
            return None
        if not probe.echoes(quoted[8:], quoted=True):
            return None
        return probe, quoted[:6] + _SEQ.pack(probe.seq) + quoted[8:]


class AsyncPinger:
    """Ping from many coroutines over one socket per family.

    ``backend`` is ``pingsock.socket()``'s; ``ttl`` and ``tos`` apply to every probe of this
    pinger (they are socket options). Use it as ``async with AsyncPinger() as p:``, or call
    :meth:`close` when done. It belongs to the event loop that first uses it.
    """

    def __init__(
        self, *, backend: BackendName = "auto", ttl: int | None = None, tos: int | None = None
    ) -> None:
        self.backend_name: BackendName = backend
        self.ttl = ttl
        self.tos = tos
        self._channels: dict[int, _Channel] = {}
        self._closed = False
        self._cookie = os.urandom(_COOKIE_BYTES)

    async def __aenter__(self) -> AsyncPinger:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the sockets; runs still going end at once with what they have so far."""
        self._closed = True
        channels, self._channels = list(self._channels.values()), {}
        for channel in channels:
            channel.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def backend(self, family: int = socket.AF_INET) -> str | None:
        """The backend serving ``family`` ("kernel" or "raw"), None before its first use."""
        channel = self._channels.get(family)
        return None if channel is None else channel.sock.backend

    def ident(self, family: int = socket.AF_INET) -> int | None:
        """The ICMP identifier of ``family``'s socket (its port), None before its first use."""
        channel = self._channels.get(family)
        if channel is None:
            return None
        port: int = channel.sock.getsockname()[1]
        return port

    def _channel(self, family: int) -> _Channel:
        if self._closed:
            raise RuntimeError("this AsyncPinger is closed")
        loop = asyncio.get_running_loop()
        channel = self._channels.get(family)
        if channel is not None:
            if channel.loop is not loop:
                raise RuntimeError("this AsyncPinger belongs to another event loop")
            return channel
        sock = open_socket(family, backend=self.backend_name)
        try:
            for level, option, value in socket_options(
                family, ttl=self.ttl, tos=self.tos, timestamps=True
            ):
                sock.setsockopt(level, option, value)
            with contextlib.suppress(OSError):  # a larger buffer for bursts; optional
                sock.setsockopt(linux.SOL_SOCKET, socket.SO_RCVBUF, _RCVBUF)
            sock.setblocking(False)
            channel = _Channel(sock, loop)
        except BaseException:
            sock.close()
            raise
        self._channels[family] = channel
        return channel

    # -- the public calls --------------------------------------------------------------------

    async def ping(
        self,
        host: str | Target,
        *,
        count: int | None = 4,
        interval: float = 1.0,
        timeout: float = DEFAULT_LINGER_S,
        size: int = 56,
        deadline: float | None = None,
        family: int = socket.AF_UNSPEC,
        pattern: bytes = b"",
        on_event: Callable[[Event], None] | None = None,
    ) -> PingResult:
        """One run, as ``pingsock.ping()`` (``ping -c count -i interval -W timeout -s size
        -w deadline -p pattern``) would do it, sharing this pinger's socket."""
        target = await _target(host, family)
        self._channel(target.family)  # as Pinger: the socket first, then the route check
        _check_route(target)
        return await self._run(
            target,
            count=count,
            interval=interval,
            linger=timeout,
            deadline=deadline,
            size=size,
            pattern=pattern,
            on_event=on_event,
        )

    async def probe(
        self, address: str | Target, timeout: float = 1.0, *, size: int = 56
    ) -> float | None:
        """Send one echo request; the round trip in seconds (from the kernel's receive stamp),
        or None when nothing came back within ``timeout``, an ICMP error answered, or the
        probe could not be sent (no route: at once, without waiting for the timeout)."""
        target = await _target(address, socket.AF_UNSPEC)
        sent: list[int] = []

        def on_event(event: Event) -> None:
            if isinstance(event, Sent):
                sent.append(event.at_ns)

        result = await self._run(
            target,
            count=1,
            interval=timeout,
            linger=timeout,
            deadline=None,
            size=size,
            pattern=b"",
            on_event=on_event,
            give_up_on_send_error=True,
        )
        reply = next((r for r in result.replies if not r.duplicate), None)
        if reply is None or not sent:
            return None
        return max(reply.received_at_ns - sent[0], 0) / 1e9

    # -- one run -----------------------------------------------------------------------------

    async def _run(
        self,
        target: Target,
        *,
        count: int | None,
        interval: float,
        linger: float,
        deadline: float | None,
        size: int,
        pattern: bytes,
        on_event: Callable[[Event], None] | None,
        give_up_on_send_error: bool = False,
    ) -> PingResult:
        channel = self._channel(target.family)
        loop = channel.loop
        payload = build_payload(size, pattern)
        where = _cookie_slice(size)
        payload[where] = self._cookie[: where.stop - where.start]
        pacer = Pacer(round(interval * 1000))
        plan = Schedule.begin(
            count, deadline, linger, now_ns=time.monotonic_ns(), now=time.monotonic()
        )
        tracker = ProbeTracker(target.family, size)
        run = _Run(target, tracker, payload, pacer, plan=plan, on_event=on_event)
        channel.runs.add(run)
        try:
            while not (
                self._closed
                or (give_up_on_send_error and run.send_failed)
                or plan.finished(tracker.stats, time.monotonic())
            ):
                if plan.may_send(tracker.transmitted):
                    wait = pacer.wait_ms(time.monotonic_ns(), tracker.stats.in_flight())
                    if wait is None:
                        _send(channel, run)
                        continue
                    plan.wait_ms = wait
                await run.sleep(loop, plan.wait_seconds(tracker.transmitted, time.monotonic()))
        finally:
            channel.release(run)
        return PingResult.from_run(
            target, channel.sock.backend, run.events, tracker.snapshot(), run.elapsed_ns
        )


def _send(channel: _Channel, run: _Run) -> None:
    """One probe, as ``Pinger._send`` does it, on the shared socket."""
    tracker, plan, pacer, payload = run.tracker, run.plan, run.pacer, run.payload
    wire = channel.allocate()
    if wire is None:
        plan.wait_ms = pacer.sent_again_later()  # every sequence is in use: retry later
        return
    seq = tracker.next_seq()
    header = ECHO_HEADER.pack(channel.echo_type, 0, 0, 0, wire)
    wall_ns = time.time_ns()
    tracker.stamp(payload, wall_ns)  # as late as possible before the send
    probe = _Probe(run, seq, run.address, bytes(payload[: run.identity_size]))
    channel.register(wire, probe)
    sent_at = time.monotonic_ns()
    failure: OSError | None = None
    held: list[_HeldError] = []
    packet = header + payload
    destination = run.target.sockaddr
    for attempt in range(2):
        send_ns = time.time_ns()  # the RTT's start: after the bookkeeping, before the call
        try:
            channel.sock.sendto(packet, destination)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.ENOBUFS, errno.ENOMEM):
                channel.forget(run, wire)
                if exc.errno == errno.EAGAIN:
                    plan.wait_ms = pacer.sent_again_later()
                else:
                    plan.wait_ms = pacer.sent_no_buffers()
                return  # pinger(): the probe is retried, not counted
            failure = exc
            routed, held = channel.read_errors(hold=probe)
            if attempt == 0 and routed and not held:
                # The socket's pending error (sk_err) was another probe's ICMP error, not
                # yet read: the kernel reports it on the next send, which did not happen.
                failure = None
                continue
        break
    if failure is not None:
        plan.wait_ms = pacer.sent_failed()
        run.send_failed = True
        run.deliver(tracker.sent(seq, wall_ns))
        for error, message, received_ns in held:
            run.deliver(tracker.error(error, message, received_ns))
        if not held:
            run.deliver(LocalError(failure.errno or 0, seq, None, time.time_ns(), send_only=True))
    else:
        plan.wait_ms = pacer.sent_ok()
        # The emulation stamps just before its system call (base.PingSocket.last_send_ns).
        run.deliver(tracker.sent(seq, channel.sock.last_send_ns or send_ns))
        channel.last_sent = (wire, len(packet), probe)
        channel.read_errors()  # its transmit stamp, queued inside sendto() as a rule
    run.elapsed_ns = sent_at - plan.start_ns
    if plan.last_probe_left(tracker.transmitted):
        plan.start_linger(tracker.stats, pacer.interval_ms, time.monotonic())


async def _target(host: str | Target, family: int) -> Target:
    if isinstance(host, Target):
        return host
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        # A name: getaddrinfo blocks, so it runs in the loop's default executor.
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, resolve, host, family)
    return resolve(host, family)


def _check_route(target: Target) -> None:
    """iputils' probe ``connect()`` on a UDP socket (see ``Pinger.check_route``): a routing
    failure raises ``OSError`` before any probe is sent. A UDP connect does not block."""
    probe = socket.socket(target.family, socket.SOCK_DGRAM)
    try:
        probe.connect(target.sockaddr)
    finally:
        probe.close()


async def aping(
    host: str,
    *,
    count: int | None = 4,
    interval: float = 1.0,
    timeout: float = DEFAULT_LINGER_S,
    size: int = 56,
    ttl: int | None = None,
    deadline: float | None = None,
    family: int = socket.AF_UNSPEC,
    backend: BackendName = "auto",
    tos: int | None = None,
    pattern: bytes = b"",
    on_event: Callable[[Event], None] | None = None,
) -> PingResult:
    """``await aping(host, ...)``: :func:`pingsock.ping` without blocking the event loop.

    Same parameters, same schedule, same :class:`PingResult`; it opens its own socket (the
    ``ttl`` and ``tos`` options are per socket). Raises ``ResolveError``,
    ``PingPermissionError`` and ``OSError`` (routing failures) as ``ping()`` does.
    """
    async with AsyncPinger(backend=backend, ttl=ttl, tos=tos) as pinger:
        return await pinger.ping(
            host,
            count=count,
            interval=interval,
            timeout=timeout,
            size=size,
            deadline=deadline,
            family=family,
            pattern=pattern,
            on_event=on_event,
        )
