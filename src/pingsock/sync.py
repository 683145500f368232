"""The blocking ping driver: one target, iputils' schedule, events out.

It does the I/O (socket, clock, poll) and nothing clever: matching, duplicates and statistics
are the tracker's; what to print is the CLI's. The schedule and the exit rules are iputils'
``main_loop()``/``pinger()``/``schedule_exit()`` (shared/spec/iputils-ping.md sections 4, 5.4),
kept in ``pingsock.probe_plan`` (shared with the asyncio driver, ``pingsock.aio``): probes
every interval; without -w the run ends once replies + errors reach -c, or when the linger
after the last probe runs out (2 x the largest RTT, at least the interval, if anything came
back; -W otherwise); -w is a hard deadline, and with -w the first ICMP error ends the run.
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
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pingsock import linux
from pingsock.backends.auto import BackendName, open_socket
from pingsock.backends.base import PingSocket
from pingsock.cmsg import parse_extended_error, parse_timestamp_ns, parse_tx_timestamp
from pingsock.events import Event, IcmpError, LocalError, NoAnswerYet, Sent, StatusRequest
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
from pingsock.tracker import SEND_STAMP, ProbeTracker, build_payload

if TYPE_CHECKING:  # imported when a flood first needs it: pingsock ping starts without it
    from pingsock.sweep.mmsg import MessageBatches

__all__ = ["PingOptions", "Pinger", "ping"]

_TIMESPEC = struct.Struct("=qq")  # SO_TIMESTAMPNS: struct timespec
_SO_TIMESTAMPNS, _SOL_SOCKET = linux.SO_TIMESTAMPNS, linux.SOL_SOCKET


@dataclass(frozen=True, slots=True)
class PingOptions:
    """What a run does; the defaults are iputils' (``ping`` with no options)."""

    count: int | None = None  # -c: stop after this many replies (None: until stopped)
    interval: float = 1.0  # -i, seconds (0: flood pacing)
    linger: float = DEFAULT_LINGER_S  # -W: wait after the last probe when nothing came back
    deadline: float | None = None  # -w: stop after this many seconds, whatever happens
    size: int = 56  # -s: payload bytes
    ttl: int | None = None  # -t
    tos: int | None = None  # -Q
    pattern: bytes = b""  # -p
    ident: int | None = None  # -e: bind to this ident (kernel socket) / use it (raw)
    backend: BackendName = "auto"
    family: int = socket.AF_UNSPEC  # -4 / -6
    quiet: bool = False  # -q (only changes what is counted as a local error)
    preload: int = 1  # -l: probes sent at once before waiting for replies
    adaptive: bool = False  # -A: the interval follows the round-trip time
    min_interval_ms: int = 0  # -A's floor: iputils MIN_USER_INTERVAL_MS (2) for non-root
    report_outstanding: bool = False  # -O: NoAnswerYet events
    user_latency: bool = False  # -U: receive time from the clock after recvmsg, not the kernel
    flowinfo: int = 0  # -F: the IPv6 flow label put in each probe's destination (network order)
    # RTTs from the kernel's software transmit stamp (SO_TIMESTAMPING, read back from the error
    # queue), rather than the clock read before sendto() as iputils does: kernel to kernel,
    # about a microsecond on loopback. On the raw backend the emulation passes on its raw
    # socket's stamps. pingsock.ping() sets it, and the CLI but for -f.
    kernel_send_stamps: bool = False
    # False: probes sent and echo replies read are counted in the statistics but yield no
    # Sent / Reply events (errors still do), and PingResult.replies stays empty. For a run
    # that reports only its summary (the CLI's -q); a flood then skips an object per packet.
    reply_events: bool = True


class Pinger:
    """One ping run against one target; iterate :meth:`events` or call :meth:`run`.

    ``sock`` lets the caller hand in a socket it opened and configured itself (the CLI does,
    to report each option's failure as iputils does); by default one is opened.
    """

    def __init__(
        self,
        target: Target | str,
        options: PingOptions | None = None,
        *,
        sock: PingSocket | None = None,
    ) -> None:
        self.options = options or PingOptions()
        self.target = target if isinstance(target, Target) else resolve(target, self.options.family)
        self.family = self.target.family
        self.socket: PingSocket = sock or open_socket(self.family, backend=self.options.backend)
        self._tx_stamps = False
        self._sent_length = 8 + self.options.size
        try:
            self._configure()
        except BaseException:
            self.socket.close()
            raise
        self.tracker = ProbeTracker(self.family, self.options.size, quiet=self.options.quiet)
        self._payload = build_payload(self.options.size, self.options.pattern)
        # The flood path's probe: header and payload in one buffer, rewritten in place.
        self._packet = bytearray(ECHO_HEADER.pack(icmp_echo_type(self.family), 0, 0, 0, 0))
        self._packet += self._payload
        self._batches: MessageBatches | None = None  # _reply_batches()
        self._batch_layout = struct.Struct("")  # the slots as _count_batch() reads them
        self._echo_type = icmp_echo_type(self.family)
        self._destination = self.target.sockaddr
        if self.options.flowinfo and self.family == socket.AF_INET6:
            host, port, _flow, scope = self.target.sockaddr  # type: ignore[misc]
            self._destination = (host, port, self.options.flowinfo, scope)
        self._stop_requested = False
        self._status_requested = False
        self.pacer = Pacer(round(self.options.interval * 1000), self.options.preload)
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
        # What iputils' setup() asks of the socket (spec L11): errors on the error queue,
        # the TTL / hop limit of each reply, and a kernel receive time stamp (not with -U,
        # which reads the clock after recvmsg).
        for level, option, value in socket_options(
            self.family,
            ttl=self.options.ttl,
            tos=self.options.tos,
            timestamps=not self.options.user_latency,
            reply_ttl=self.options.reply_events,
        ):
            sock.setsockopt(level, option, value)
        if self.options.ident is not None:
            sock.bind(("::", self.options.ident, 0, 0) if v6 else ("0.0.0.0", self.options.ident))
        if self.options.kernel_send_stamps and not self.options.user_latency:
            flags = linux.SOF_TIMESTAMPING_TX_SOFTWARE | linux.SOF_TIMESTAMPING_SOFTWARE
            sock.setsockopt(linux.SOL_SOCKET, linux.SO_TIMESTAMPING, flags)
            self._tx_stamps = True

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

    def request_status(self) -> None:
        """Ask for a :class:`StatusRequest` event at the next turn of the loop (SIGQUIT)."""
        self._status_requested = True

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
        plan = Schedule.begin(
            opts.count, opts.deadline, opts.linger, now_ns=time.monotonic_ns(), now=time.monotonic()
        )
        poller = select.poll()
        fd = self.socket.fileno()
        poller.register(fd, select.POLLIN | select.POLLERR)
        if self.interrupt_fd is not None:
            poller.register(self.interrupt_fd, select.POLLIN)
        flood = self._unpaced_flood()
        while not self._finished(plan):
            if self._status_requested:
                # main_loop(): the status line is printed at the top of the next turn.
                self._status_requested = False
                yield StatusRequest(time.time_ns())
            if flood and (yield from self._flood(plan)):
                continue
            if plan.may_send(self.tracker.transmitted):
                pending = self._pending(poller, fd) if plan.wait_ms > 0 else 0
                if pending:
                    # Between two scheduled probes iputils polls, so a reply that has already
                    # arrived is read before the next probe leaves; do that explicitly, or a
                    # loaded machine reorders them. A preload burst (pinger() returning <= 0)
                    # sends without reading, as iputils does.
                    yield from self._drain(pending)
                    continue
                wait = self.pacer.wait_ms(time.monotonic_ns(), self.tracker.stats.in_flight())
                if wait is None:
                    yield from self._send(plan)
                    continue
                plan.wait_ms = wait
            timeout = self._wait_seconds(plan)
            for ready_fd, revents in poller.poll(math.ceil(timeout * 1000)):
                if ready_fd == fd:
                    yield from self._drain(revents)
                else:
                    _drain_fd(ready_fd)

    def _unpaced_flood(self) -> bool:
        """Whether the run may take :meth:`_flood`: interval 0 (``-f`` as root), no -A
        (which paces), no -O (which looks at each send), no transmit stamps to read."""
        opts = self.options
        return (
            self.pacer.interval_ms == 0
            and not opts.adaptive
            and not opts.report_outstanding
            and not self._tx_stamps
        )

    def _flood(self, plan: Schedule) -> Generator[Event, None, bool]:
        """An unpaced flood's turns that need no waiting, in one tight loop.

        iputils' ``main_loop()`` with interval 0: probes leave while fewer than ``preload``
        are unanswered; then replies are read until none is waiting or none is in flight,
        and sending resumes. What this loop meets and does not handle in a few lines (a
        socket error, a failed send) goes to the general code, and when nothing can be sent
        or read it returns, so that the general loop waits (poll, the 10 ms "no reply"
        probe, the linger, signals). It keeps the same books as the general loop, so the two
        can take turns within a run. Returns whether it did anything.

        Per round trip it does only what changes per round trip; the books that matter only
        to the general loop (the pacer's clock, its hint, iputils' "time") are written when
        it returns.
        """
        tracker, pacer, sock = self.tracker, self.pacer, self.socket
        stats = tracker.stats
        if plan.finished(stats, time.monotonic()):
            return True
        sendto, recvmsg = sock.sendto, sock.recvmsg
        packet, destination = self._packet, self._destination
        events, timing = self.options.reply_events, tracker.timing
        stamp_from_kernel = not self.options.user_latency
        preload = pacer.preload
        monotonic_ns, time_ns = time.monotonic_ns, time.time_ns
        pack_stamp = SEND_STAMP.pack_into
        count_echo, reply_type = tracker.count_echo, tracker.reply_type
        # Schedule.finished() as numbers: the replies that end the run (-c, less the errors:
        # they are the general code's, so they stay as they are while this loop runs; -w's
        # "first error ends the run" is checked above), and the clock limit (-w, the
        # linger; it changes only when the last probe leaves).
        goal = (plan.count if plan.count is not None else 1 << 62) - stats.errors
        clock_limit = plan.clock_limit()
        # Schedule.may_send() and last_probe_left() for this run, as one number: the probes
        # to send (-c without -w), or no limit.
        limit = plan.count if plan.count is not None and not plan.deadline else -1
        count = tracker.transmitted  # only this loop sends while it runs
        flying = stats.in_flight()  # refreshed after each read (sends go to the read next)
        batches = self._reply_batches()
        draining = progressed = False
        # The books written when the loop returns: the start of the last burst (for the
        # pacer; 0 once written) and the time of its last send (iputils' "time"; 0: none).
        burst_ns = sent_ns = 0
        try:
            while not (self._stop_requested or self._status_requested):
                if not draining:
                    now_ns = monotonic_ns()
                    if now_ns / 1e9 >= clock_limit or stats.received >= goal:
                        return True
                    room = preload - flying
                    if limit >= 0 and limit - count < room:
                        room = limit - count
                    if room > 0:
                        # pinger() until the window is full: nothing in between ends the run.
                        for _ in range(room):
                            count += 1
                            seq = count & 0xFFFF  # tracker.next_seq()
                            packet[6] = seq >> 8
                            packet[7] = seq & 0xFF
                            wall_ns = time_ns()
                            if timing:
                                sec, nsec = divmod(wall_ns, 1_000_000_000)
                                pack_stamp(packet, 8, sec, nsec // 1000)  # tracker.stamp()
                            try:
                                sendto(packet, destination)
                            except OSError as exc:
                                # The books as the general loop has them before a send,
                                # then pinger()'s handling of the failure.
                                pacer.flood_sent(now_ns)
                                if sent_ns:
                                    self.elapsed_ns = sent_ns - plan.start_ns
                                burst_ns = sent_ns = 0
                                yield from self._send_failed(
                                    exc, seq, wall_ns, monotonic_ns(), plan
                                )
                                return True
                            at_ns = sock.last_send_ns or wall_ns
                            tracker.mark_sent(seq, at_ns)
                            if events:
                                yield Sent(seq, at_ns)
                        burst_ns = now_ns
                        sent_ns = monotonic_ns() if room > 1 else now_ns  # to the last send
                        if count == limit:
                            self._sent_at(sent_ns, plan)  # the last probe: the linger starts
                            clock_limit = plan.clock_limit()
                        progressed = draining = True  # then main_loop() reads what has come
                try:
                    if batches is not None:
                        read = self._count_batch(batches)  # read and counted
                    else:
                        data, anc, _flags, address = recvmsg(65536, ANC_SIZE, linux.MSG_DONTWAIT)
                        read = 1
                except (BlockingIOError, InterruptedError):
                    read = 0
                except OSError:
                    yield from self._read_errors()  # a pending socket error (spec G5)
                    return True
                if not read:
                    if draining and stats.in_flight() < preload and (limit < 0 or count < limit):
                        draining = False
                        continue
                    return progressed  # nothing to send or to read: the general loop waits
                progressed = draining = True
                if batches is not None:
                    pass  # read and counted by _count_batch()
                elif events:
                    yield from self._message(data, anc, address)
                elif len(data) >= 8 and data[0] == reply_type:  # an echo reply
                    received_ns = 0
                    if stamp_from_kernel and anc:
                        # ping_recvmsg() puts the time stamp before the IP cmsgs.
                        level, kind, payload = anc[0]
                        if kind == _SO_TIMESTAMPNS and level == _SOL_SOCKET and len(payload) == 16:
                            sec, nsec = _TIMESPEC.unpack(payload)
                            received_ns = sec * 1_000_000_000 + nsec
                        else:
                            received_ns = reply_metadata(anc)[0]
                    count_echo((data[6] << 8) | data[7], len(data), received_ns or time_ns())
                flying = stats.in_flight()
                if not flying:
                    draining = False  # main_loop(): "If nothing is in flight, break"
            return True  # a stop or status request: the general loop sees it at its top
        finally:
            # What pinger() and the clock would have left after the last burst.
            if burst_ns:
                pacer.flood_sent(burst_ns)
                plan.wait_ms = 0  # pacer.sent_ok() with interval 0
            if sent_ns:
                self.elapsed_ns = sent_ns - plan.start_ns

    def _reply_batches(self) -> MessageBatches | None:
        """``recvmmsg()`` for a count-only flood with a window (-q -f -l N) on the kernel's
        socket: the replies waiting are read in one call. Sends stay one ``sendto()`` each,
        so each probe keeps its own send time; a window of 1 gains nothing from it."""
        if (
            self._batches is None
            and not self.options.reply_events
            and self.pacer.preload > 1
            and self.socket.backend == "kernel"
        ):
            from pingsock.sweep import mmsg, slots

            if mmsg.available():
                size = 8 + self.options.size
                self._batches = mmsg.MessageBatches(
                    self.socket.fileno(),
                    self.family,
                    slots.SendBatch(self.family, size, 1),
                    slots.ReceiveBatch(size),
                )
                self._batch_layout = slots.stamp_echo_layout(self._batches.incoming.stride)
        return self._batches

    def _count_batch(self, batches: MessageBatches) -> int:
        """Read the replies waiting into the batch and count them; how many were read."""
        got = batches.receive()
        if not got:
            return 0
        incoming = batches.incoming
        tracker, reply_type = self.tracker, self.tracker.reply_type
        clock = time.time_ns
        from_kernel = not self.options.user_latency
        view = memoryview(incoming.buffer)[: got * incoming.stride]
        for (level, kind, sec, nsec, icmp_type, seq_high, seq_low), size in zip(
            self._batch_layout.iter_unpack(view), incoming.message_lengths(got), strict=True
        ):
            if size < 8 or icmp_type != reply_type:
                continue  # the kernel's socket passes echo replies only; kept as a guard
            if from_kernel and kind == _SO_TIMESTAMPNS and level == _SOL_SOCKET:
                received_ns = sec * 1_000_000_000 + nsec  # ping_recvmsg() writes it first
            else:
                received_ns = clock()
            tracker.count_echo((seq_high << 8) | seq_low, size, received_ns)
        return got

    @staticmethod
    def _pending(poller: select.poll, fd: int) -> int:
        """The socket's poll events right now (0: nothing has arrived)."""
        return next((events for ready, events in poller.poll(0) if ready == fd), 0)

    def run(self, on_event: Callable[[Event], None] | None = None) -> PingResult:
        """Run to the end and return the result; ``on_event`` sees each event as it happens."""
        collected: list[Event] = []
        for event in self.events():
            if not isinstance(event, (StatusRequest, Sent)):
                collected.append(event)
            if on_event is not None:
                on_event(event)
        return PingResult.from_run(
            self.target, self.backend, collected, self.tracker.snapshot(), self.elapsed_ns
        )

    def _finished(self, plan: Schedule) -> bool:
        # Called on every turn of the loop: read the live counters, build no snapshot.
        if self._stop_requested:
            return True
        return plan.finished(self.tracker.stats, time.monotonic())

    def _wait_seconds(self, plan: Schedule) -> float:
        return plan.wait_seconds(self.tracker.transmitted, time.monotonic())

    def _send(self, plan: Schedule) -> Iterator[Event]:
        tracker = self.tracker
        if self.options.report_outstanding and tracker.transmitted:
            previous = tracker.transmitted & 0xFFFF
            if not tracker.answered(previous):
                yield NoAnswerYet(previous, time.time_ns())
        seq = tracker.next_seq()
        header = ECHO_HEADER.pack(self._echo_type, 0, 0, 0, seq)
        wall_ns = time.time_ns()
        tracker.stamp(self._payload, wall_ns)  # as late as possible before the send
        sent_at = time.monotonic_ns()
        try:
            self.socket.sendto(header + self._payload, self._destination)
        except OSError as exc:
            yield from self._send_failed(exc, seq, wall_ns, sent_at, plan)
            return
        plan.wait_ms = self.pacer.sent_ok()
        # The emulation's own checks run between our stamp and the kernel: its stamp
        # taken just before the system call keeps RTTs comparable across backends.
        sent = tracker.sent(seq, self.socket.last_send_ns or wall_ns)
        if self.options.reply_events:
            yield sent
        if self._tx_stamps:
            # The transmit stamp is queued inside sendto() on loopback and most devices;
            # one that comes later is taken by the next read of the error queue.
            yield from self._read_errors()
        self._sent_at(sent_at, plan)

    def _sent_at(self, sent_at: int, plan: Schedule) -> None:
        """After a probe counted as sent: iputils' "time" runs to it, and the last one
        starts the linger (``schedule_exit()``)."""
        self.elapsed_ns = sent_at - plan.start_ns
        if plan.last_probe_left(self.tracker.transmitted):
            plan.start_linger(self.tracker.stats, self.pacer.interval_ms, time.monotonic())

    def _send_failed(
        self, exc: OSError, seq: int, wall_ns: int, sent_at: int, plan: Schedule
    ) -> Iterator[IcmpError | LocalError | Sent]:
        """pinger() after a failed send: EAGAIN and ENOBUFS retry later; another error
        counts the probe as sent and reports what the error queue holds."""
        if exc.errno == errno.EAGAIN:
            plan.wait_ms = self.pacer.sent_again_later()
            return  # pinger(): the buffer is full; the probe is retried, not counted
        if exc.errno in (errno.ENOBUFS, errno.ENOMEM):
            plan.wait_ms = self.pacer.sent_no_buffers()
            return
        plan.wait_ms = self.pacer.sent_failed()
        sent = self.tracker.sent(seq, wall_ns)
        if self.options.reply_events:
            yield sent
        queued = list(self._read_errors())
        if queued:
            yield from queued
        else:
            yield LocalError(exc.errno or 0, seq, None, time.time_ns(), send_only=True)
        self._sent_at(sent_at, plan)

    def _adapt(self) -> None:
        # update_interval(): the moving average plus 0.5 ms, in whole ms, never under the floor.
        ewma_x8 = self.tracker.stats.ewma_x8
        estimate_us = ewma_x8 // 8 if ewma_x8 else self.pacer.interval_ms * 1000
        interval = (estimate_us + 500) // 1000
        self.pacer.set_interval(max(interval, self.options.min_interval_ms))

    def _drain(self, revents: int) -> Iterator[Event]:
        sock = self.socket
        read_any = False
        for _ in range(MAX_DRAIN):
            try:
                data, anc, _flags, address = sock.recvmsg(65536, ANC_SIZE, linux.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                if not read_any:
                    # Readable, yet no datagram: the emulated socket signals a queued error
                    # as POLLIN (it cannot raise POLLERR), so look at the error queue.
                    revents |= select.POLLERR
                break
            except OSError:
                # A pending socket error (sk_err) comes before queued data (spec G5); the
                # details are on the error queue.
                read_any = True
                yield from self._read_errors()
                continue
            read_any = True
            yield from self._message(data, anc, address)
            if self.tracker.stats.in_flight() == 0:
                # main_loop(): "If nothing is in flight, break returns us to pinger", where the
                # exit checks run; so a late duplicate of the last probe is never read.
                break
        if revents & select.POLLERR:
            yield from self._read_errors()

    def _message(
        self, data: bytes, anc: list[tuple[int, int, bytes]], address: tuple[object, ...]
    ) -> Iterator[Event]:
        """One datagram read from the socket: an echo reply of this run, or nothing."""
        received_ns, ttl, options = reply_metadata(anc)
        if self.options.user_latency or not received_ns:
            received_ns = time.time_ns()
        event = self.tracker.reply(data, host_text(address), ttl, received_ns, ip_options=options)
        if event is not None:
            if self.options.adaptive:
                self._adapt()
            if self.options.reply_events:
                yield event

    def _read_errors(self) -> Iterator[IcmpError | LocalError]:
        for _ in range(MAX_DRAIN):
            try:
                data, anc, _flags, _address = self.socket.recvmsg(
                    65536, ANC_SIZE, linux.MSG_ERRQUEUE | linux.MSG_DONTWAIT
                )
            except OSError:
                return
            received_ns = time.time_ns()
            if self._tx_stamps:
                sent = parse_tx_timestamp(data, anc, self._sent_length)
                if sent is not None:
                    self.tracker.restamp(*sent)
                    continue
            for level, kind, payload in anc:
                if (level, kind) in (
                    (linux.SOL_IP, linux.IP_RECVERR),
                    (linux.SOL_IPV6, linux.IPV6_RECVERR),
                ):
                    error = parse_extended_error(payload)
                    if error is not None and error.origin == linux.SO_EE_ORIGIN_TIMESTAMPING:
                        # A transmit stamp no probe claims (a fragment of a datagram over
                        # the MTU carries only part of it): the probe keeps the clock
                        # reading from before sendto(); it is not an error.
                        continue
                    if error is not None:
                        yield self.tracker.error(error, data, received_ns)
                else:
                    stamp = parse_timestamp_ns(level, kind, payload)
                    if stamp is not None:
                        received_ns = stamp


def _drain_fd(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.read(fd, 512)


def ping(
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
    """Ping ``host`` as ``ping -c count -i interval -W timeout -s size -t ttl`` would, and
    return what happened, with iputils' statistics. Raises ``ResolveError`` for an unknown
    name, ``PingPermissionError`` when no backend is allowed, ``OSError`` for routing failures.
    """
    options = PingOptions(
        kernel_send_stamps=True,
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
