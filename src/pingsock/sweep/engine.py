"""The sweep as a pure state machine: which probe to send next, what a reply or an error
means, when a probe is lost. The driver owns the sockets and the clock; it feeds targets,
packets and time in and sends what the engine hands out.

Matching. One socket per family sends to every target, so the ICMP id is the same for all of
them; a probe is known by its sequence number (a per-family 16-bit counter, skipping numbers
still waiting) and must come back from the address it was sent to with its payload intact:
an 8-byte cookie drawn for this sweep and the 8-byte send stamp. A reply from another
process's probe, a late reply whose slot was reused, or a corrupted echo never counts (the
kernel's ping socket already keeps other ids away; the raw backend's filter does too).

Timing. fping's model (fping.c ``main_loop()``): a global minimum gap between any two probes
(``-i``), a per-target gap in count mode (``-p``), a per-probe timeout (``-t``) multiplied by
the backoff (``-B``) for each retry in the default mode (``-r``). A reply after its probe's
timeout is not counted (its RTT is over the limit the user gave). Since all probes of one try
share one timeout, each try's probes expire in the order they were sent: a FIFO per try
replaces a heap.

Memory is bounded by the probes waiting (at most ``max_in_flight`` per family, 65,536) and
the targets the driver has fed but not yet sent, never by the length of the target list.
"""

from __future__ import annotations

import struct
from collections import deque

from pingsock.linux import AF_INET, AF_INET6
from pingsock.sweep.events import (
    Event,
    HostDone,
    HostResult,
    ProbeError,
    ProbeLost,
    ProbeReply,
    SweepTarget,
)
from pingsock.sweep.options import SweepOptions

__all__ = ["SweepEngine"]

_SEQ_SPACE = 0x10000
_HEAD = struct.Struct("!BBHHH8sQ")  # type, code, checksum, id, seq, cookie, send stamp
_ECHO_REQUEST: dict[int, int] = {AF_INET: 8, AF_INET6: 128}
_ECHO_REPLY: dict[int, int] = {AF_INET: 0, AF_INET6: 129}
_PAYLOAD_OFFSET = 8
_new_tuple = tuple.__new__


class _Host:
    """One target's progress."""

    __slots__ = (
        "address",
        "duplicates",
        "errors",
        "fam",
        "family",
        "finished",
        "next_index",
        "received",
        "rtts",
        "sockaddr",
        "target",
        "waiting",
    )

    def __init__(self, target: SweepTarget, tries: int, fam: _Family) -> None:
        self.target = target
        self.address = target.address
        self.family = target.family
        self.fam = fam
        self.sockaddr = (
            (target.address, 0, 0, target.scope_id)
            if target.family == AF_INET6
            else (target.address, 0)
        )
        self.next_index = 0  # probes sent so far
        self.waiting = 0  # probes sent, neither answered nor expired
        self.received = 0
        self.duplicates = 0
        self.errors = 0
        self.rtts: list[int | None] = [None] * tries
        self.finished = False

    def result(self) -> HostResult:
        # tuple.__new__ skips the named tuple's Python-level __new__ (a third of the cost).
        return _new_tuple(
            HostResult,
            (
                self.target,
                self.next_index,
                self.received,
                self.duplicates,
                self.errors,
                tuple(self.rtts[: self.next_index]),
            ),
        )


class _Probe:
    """One echo request on the wire (``packet`` is what was sent, ids and checksum 0)."""

    __slots__ = ("answered", "deadline", "host", "index", "packet", "sent_ns")

    def __init__(self, host: _Host, index: int, sent_ns: int, deadline: int, packet: bytes) -> None:
        self.host = host
        self.index = index
        self.sent_ns = sent_ns
        self.deadline = deadline
        self.packet = packet
        self.answered = False


class _Family:
    """The sequence space of one family's socket."""

    __slots__ = ("next_seq", "reply", "request", "slots", "waiting")

    def __init__(self, family: int) -> None:
        self.request = _ECHO_REQUEST[family]
        self.reply = _ECHO_REPLY[family]
        self.slots: list[_Probe | None] = [None] * _SEQ_SPACE
        self.next_seq = 0
        self.waiting = 0  # probes in slots that are neither answered nor expired


class SweepEngine:
    """Targets in, probes out, replies and errors in, events out. No I/O, no clock."""

    def __init__(self, options: SweepOptions, cookie: bytes) -> None:
        if len(cookie) != 8:
            raise ValueError("the cookie is 8 bytes")
        self.options = options
        self._cookie = cookie
        pad = bytes(i & 0xFF for i in range(16, options.size))
        # One pack makes the whole packet (iputils' payload bytes after cookie and stamp).
        self._pack = struct.Struct(f"!BBHHH8sQ{len(pad)}s").pack
        self._pad = pad
        self._cap = options.max_in_flight
        self._count_mode = options.count is not None
        self._tries = options.tries
        self._gap_ns = round(options.interval * 1e9)
        self._period_ns = round(options.period * 1e9)
        self._timeouts_ns = [
            round(options.timeout * options.backoff**k * 1e9)
            for k in range(1 if self._count_mode else self._tries)
        ]
        self._families: dict[int, _Family] = {f: _Family(f) for f in (AF_INET, AF_INET6)}
        self._fresh: deque[_Host] = deque()  # fed, not yet probed
        self._later: deque[tuple[int, _Host]] = deque()  # (due, host), due times ascending
        self._expiry: list[deque[_Probe]] = [deque() for _ in self._timeouts_ns]
        self._next_allowed = 0
        self._active = 0  # hosts fed and not finished

    # -- feeding -------------------------------------------------------------------------

    def add(self, target: SweepTarget) -> None:
        """Queue ``target`` for its first probe."""
        self._fresh.append(_Host(target, self._tries, self._families[target.family]))
        self._active += 1

    @property
    def backlog(self) -> int:
        """Targets fed but not probed yet (the driver feeds while this is small)."""
        return len(self._fresh)

    def family_state(self, family: int) -> _Family:
        """The record of ``family``'s sequence space; its ``waiting`` attribute counts the
        probes neither answered nor expired (read per reply by the driver: an attribute,
        not a call)."""
        return self._families[family]

    @property
    def finished(self) -> bool:
        """Every target fed has finished."""
        return self._active == 0

    # -- sending -------------------------------------------------------------------------

    def next_probe(self, now_ns: int) -> tuple[bytes, _Probe] | None:
        """The next echo request due at ``now_ns`` (its packet and its probe), or None.

        The packet's send stamp is ``now_ns``: the driver sends it right away. ICMP id and
        checksum are left 0 (the ping socket sets both)."""
        if now_ns < self._next_allowed:
            return None
        later = self._later
        if later and later[0][0] <= now_ns:
            host = later[0][1]
            fresh = False
        elif self._fresh:
            host = self._fresh[0]
            fresh = True
        else:
            return None
        family = host.fam
        if family.waiting >= self._cap:
            return None  # until a reply or an expiry frees a slot (wake_at() knows)
        if fresh:
            self._fresh.popleft()
        else:
            later.popleft()
        slots = family.slots
        seq = family.next_seq
        held = slots[seq]
        while held is not None and not held.answered:  # answered or settled: reusable
            seq = (seq + 1) & 0xFFFF  # bounded: fewer than 65,536 slots hold a waiting probe
            held = slots[seq]
        family.next_seq = (seq + 1) & 0xFFFF
        packet = self._pack(family.request, 0, 0, 0, seq, self._cookie, now_ns, self._pad)
        index = host.next_index
        if self._count_mode:
            probe = _Probe(host, index, now_ns, now_ns + self._timeouts_ns[0], packet)
            self._expiry[0].append(probe)
            if index + 1 < self._tries:
                later.append((now_ns + self._period_ns, host))
        else:
            probe = _Probe(host, index, now_ns, now_ns + self._timeouts_ns[index], packet)
            self._expiry[index].append(probe)
        slots[seq] = probe
        family.waiting += 1
        host.next_index = index + 1
        host.waiting += 1
        if self._gap_ns:
            self._next_allowed = now_ns + self._gap_ns
        return packet, probe

    def send_failed(self, probe: _Probe, errno_value: int) -> list[Event]:
        """The driver could not send ``probe`` (``errno_value``, reported as a ProbeError
        with type -1). In the default mode the target ends there, as fping gives up on a
        host whose send fails; in count mode the probe is left to time out (lost)."""
        host = probe.host
        host.errors += 1
        events: list[Event] = [ProbeError(host.target, probe.index, "", -1, errno_value)]
        if not self._count_mode:
            probe.answered = True  # settled: no retry, no reply can count
            host.fam.waiting -= 1
            host.waiting -= 1
            events.append(self._finish(host))
        return events

    # -- receiving -----------------------------------------------------------------------

    def on_reply(
        self,
        family: int,
        source: str,
        data: bytes,
        received_ns: int,
        out: list[Event],
        *,
        ttl: int | None = None,
    ) -> bool:
        """An ICMP message read from ``family``'s socket (ICMP header first): its events are
        appended to ``out``; False when it answers none of this sweep's probes."""
        fam = self._families[family]
        if len(data) < 24 or data[0] != fam.reply or data[1]:
            return False
        probe = fam.slots[(data[6] << 8) | data[7]]
        if (
            probe is None
            or probe.host.address != source
            or data[_PAYLOAD_OFFSET:] != probe.packet[_PAYLOAD_OFFSET:]
            or received_ns > probe.deadline
        ):
            return False
        host = probe.host
        rtt = received_ns - probe.sent_ns
        if probe.answered:
            host.duplicates += 1
            if self._count_mode and not host.finished:
                reply = (host.target, probe.index, rtt, len(data), ttl, True)
                out.append(_new_tuple(ProbeReply, reply))
            return True
        probe.answered = True
        fam.waiting -= 1
        host.waiting -= 1
        host.received += 1
        host.rtts[probe.index] = rtt
        if not self._count_mode:
            out.append(self._finish(host))  # fping's default mode: the first reply settles it
            return True
        out.append(_new_tuple(ProbeReply, (host.target, probe.index, rtt, len(data), ttl, False)))
        if host.next_index >= self._tries and not host.waiting:
            out.append(self._finish(host))
        return True

    def on_error(
        self, family: int, destination: str, quoted: bytes, *, source: str, kind: int, code: int
    ) -> ProbeError | None:
        """An ICMP error from the error queue about the echo ``quoted`` (its ICMP header
        first) sent to ``destination``. The probe still times out unless answered."""
        if len(quoted) < 8:
            return None
        probe = self._families[family].slots[(quoted[6] << 8) | quoted[7]]
        if probe is None or probe.host.address != destination or probe.answered:
            return None
        probe.host.errors += 1
        return ProbeError(probe.host.target, probe.index, source, kind, code)

    # -- time ----------------------------------------------------------------------------

    def expire(self, now_ns: int) -> list[Event]:
        """Probes whose timeout has passed at ``now_ns``: lost, retried, hosts finished."""
        events: list[Event] = []
        for queue in self._expiry:
            while queue and queue[0].deadline <= now_ns:
                probe = queue.popleft()
                if not probe.answered:
                    events.extend(self._lose(probe, self._families[probe.host.family]))
        return events

    def _lose(self, probe: _Probe, fam: _Family) -> list[Event]:
        probe.answered = True  # settled: a late reply must not count
        fam.waiting -= 1
        host = probe.host
        host.waiting -= 1
        events: list[Event] = []
        if self._count_mode:
            events.append(ProbeLost(host.target, probe.index))
            if host.next_index >= self._tries and not host.waiting:
                events.append(self._finish(host))
        elif host.next_index < self._tries:
            self._later.append((probe.deadline, host))  # fping: the retry goes out now
        else:
            events.append(self._finish(host))
        return events

    def _finish(self, host: _Host) -> HostDone:
        host.finished = True
        self._active -= 1
        return _new_tuple(HostDone, (host.result(),))

    def wake_at(self, now_ns: int) -> int | None:
        """When something is next due (a send or an expiry), or None if nothing is."""
        times = [queue[0].deadline for queue in self._expiry if queue]
        if self._later:
            due, host = self._later[0]
            if host.fam.waiting < self._cap:  # else only a reply or an expiry can help
                times.append(max(due, self._next_allowed))
        if self._fresh and self._fresh[0].fam.waiting < self._cap:
            times.append(max(now_ns, self._next_allowed))
        return min(times) if times else None
