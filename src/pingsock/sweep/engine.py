"""The sweep as a pure state machine: which probes to send next, what a reply or an error
means, when a probe is lost. The driver owns the sockets and the clock; it feeds targets and
time in, sends the batches the engine packs (:mod:`pingsock.sweep.slots`) and hands back the
batches of replies it reads.

Matching. One socket per family sends to every target, so the ICMP id is the same for all of
them; a probe is known by its sequence number (a per-family 16-bit counter, skipping numbers
still waiting) and must come back from the address it was sent to with its payload intact:
an 8-byte cookie drawn for this sweep, the 8-byte stamp of the batch it went out in (unique
per batch, so a late reply to a reused number never counts) and iputils' filler bytes. A
reply from another process's probe, a late reply, or a corrupted echo never counts (the
kernel's ping socket already keeps other ids away; the raw backend's filter does too).

Timing. fping's model (fping.c ``main_loop()``): a global minimum gap between any two probes
(``-i``), a per-target gap in count mode (``-p``), a per-probe timeout (``-t``) multiplied by
the backoff (``-B``) for each retry in the default mode (``-r``). A reply after its probe's
timeout is not counted (its RTT is over the limit the user gave). All probes of one try share
one timeout, so each try's batches expire in the order they were sent: a FIFO per try
replaces a heap. An answered probe's entry stays in its FIFO until its deadline, so the
FIFOs are compacted (settled entries dropped) once the entries queued since the last pass
outnumber those it kept and 4,096: their length stays within twice the probes waiting plus
4,096, not the send rate times the timeout.

Cost. State lives in per-family tables indexed by sequence number, not in an object per
probe; in the default mode (one reply settles a target) there is no object per target
either. Memory is bounded by the sequence space (65,536 probes per family) and the targets
fed but not yet sent, never by the length of the target list.
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

from pingsock.linux import AF_INET, AF_INET6, SCM_TIMESTAMPNS, SOL_SOCKET
from pingsock.sweep.events import (
    Event,
    HostDone,
    HostResult,
    ProbeError,
    ProbeLost,
    ProbeReply,
    SweepTally,
    SweepTarget,
)
from pingsock.sweep.options import SweepOptions
from pingsock.sweep.slots import (
    ADDRESS_ROOM,
    CONTROL_ROOM,
    ReceiveBatch,
    SendBatch,
)

__all__ = ["ProbeRef", "SweepEngine"]

_SEQ_SPACE = 0x10000
_FREE, _WAITING, _ANSWERED, _SETTLED = 0, 1, 2, 3  # a slot's state
_ECHO_REQUEST: dict[int, int] = {AF_INET: 8, AF_INET6: 128}
_ECHO_REPLY: dict[int, int] = {AF_INET: 0, AF_INET6: 129}
_FAMILY_OF_SIZE = {4: AF_INET, 16: AF_INET6}  # a packed address's length tells its family
_UNLIMITED = 1 << 62
_COMPACT_FLOOR = 4096  # expiry entries held before a compaction pass (a /16 sweep holds 1,024)
# One pack writes a send slot: the sockaddr (host order, as the kernel reads it), zero
# padding to ADDRESS_ROOM, then the packet's head: type, code, checksum and id 0 (the ping
# socket sets both), the sequence number as two bytes, high first (network order, as ping
# and fping send it, in a host-order format), the cookie and the stamp (only echoed back).
_PACK4 = struct.Struct(f"=HH4s{ADDRESS_ROOM - 8}xBBHHBB8sQ").pack_into
_PACK6 = struct.Struct(f"=HHI16sI{ADDRESS_ROOM - 28}xBBHHBB8sQ").pack_into
# A receive slot: the source address and the SO_TIMESTAMPNS cmsg, then the reply's head
# (type, code, checksum and id skipped, the sequence number's two bytes, cookie, stamp) and
# the filler bytes: one unpack reads it all.
_SOURCE4 = f"=4x4s{ADDRESS_ROOM - 8}x"
_SOURCE6 = f"=8x16s{ADDRESS_ROOM - 24}x"
_STAMP_AND_HEAD = f"Qiiqq{CONTROL_ROOM - 32}xBBxxxxBB8sQ"
_new_tuple = tuple.__new__


def _packed(address: str) -> bytes:
    import ipaddress  # only for callers that have no packed address (tests, tools)

    return ipaddress.ip_address(address).packed


def _text(family: int, packed: bytes) -> str:
    import ipaddress

    return str(ipaddress.ip_address(packed))


class ProbeRef(NamedTuple):
    """One probe, as the engine knows it: its family's sequence number."""

    family: int
    seq: int


class _Host:
    """Count mode: one target's progress (the default mode keeps none)."""

    __slots__ = (
        "duplicates",
        "errors",
        "finished",
        "next_index",
        "packed",
        "received",
        "rtts",
        "target",
        "waiting",
    )

    def __init__(self, target: SweepTarget, packed: bytes, tries: int) -> None:
        self.target = target
        self.packed = packed
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


class _Family:
    """One family's socket: its sequence space, as tables indexed by sequence number."""

    __slots__ = (
        "family",
        "hosts",
        "index",
        "next_seq",
        "packed",
        "reply",
        "request",
        "sent",
        "stamp",
        "state",
        "targets",
        "v6",
        "waiting",
    )

    def __init__(self, family: int) -> None:
        self.family = family
        self.v6 = family == AF_INET6
        self.request = _ECHO_REQUEST[family]
        self.reply = _ECHO_REPLY[family]
        self.next_seq = 0
        self.waiting = 0  # probes neither answered nor expired
        self.state = bytearray(_SEQ_SPACE)
        self.targets: list[SweepTarget | None] = [None] * _SEQ_SPACE
        self.hosts: list[_Host | None] = [None] * _SEQ_SPACE  # count mode
        self.packed: list[bytes] = [b""] * _SEQ_SPACE  # the address, as replies carry it
        self.index = [0] * _SEQ_SPACE  # the probe's number for its target
        self.stamp = [0] * _SEQ_SPACE  # its batch's stamp (in the payload), deadlines count from it
        self.sent = [0] * _SEQ_SPACE  # when it left (RTTs count from it)


# (due, target, packed address, probe number, count mode's host); a tallied sweep's block
# targets have no SweepTarget until an event needs one (None)
_Retry = tuple[int, "SweepTarget | None", bytes, int, "_Host | None"]
_Fresh = tuple["SweepTarget | None", bytes]
# (deadline, family, batch stamp, sequence numbers)
_Expiry = tuple[int, _Family, int, list[int]]


class SweepEngine:
    """Targets in, probes out, replies and errors in, events out. No I/O, no clock."""

    def __init__(
        self,
        options: SweepOptions,
        cookie: bytes,
        *,
        tally: bool = False,
        name: Callable[[int, bytes], str] | None = None,
    ) -> None:
        """``tally``: count the default mode's uneventful targets in :attr:`tally` instead
        of reporting each (a summary-only sweep: fping ``-q -s``); ``name`` formats a packed
        address as text for the targets fed without one (``inet_ntop``; ``ipaddress``'s
        text when left out)."""
        if len(cookie) != 8:
            raise ValueError("the cookie is 8 bytes")
        if tally and options.count is not None:
            raise ValueError("only the default mode (count=None) can be tallied")
        self.tally = SweepTally() if tally else None
        self._name = name or _text
        self.options = options
        self._cookie = cookie
        self.packet_size = 8 + options.size
        # iputils' payload bytes after cookie and stamp (the driver writes them once per slot).
        self.filler = bytes(i & 0xFF for i in range(16, options.size))
        rest = f"{_STAMP_AND_HEAD}{len(self.filler)}s"
        self._slot_formats = {
            AF_INET: _SOURCE4 + rest,
            AF_INET6: _SOURCE6 + rest,
        }
        self._slot_layouts: dict[tuple[int, int], struct.Struct] = {}
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
        self._fresh: deque[_Fresh] = deque()  # fed, not yet probed
        self._later: deque[_Retry] = deque()  # due times ascending
        self._expiry: list[deque[_Expiry]] = [deque() for _ in self._timeouts_ns]
        self._compact_at = _COMPACT_FLOOR  # expiry entries queued before the next compaction
        self._errors: dict[int, int] = {}  # default mode: id(target) -> ICMP errors
        self._next_allowed = 0
        self._stamp = 0
        self._active = 0  # targets fed and not finished
        self._scratch: dict[int, tuple[SendBatch, ReceiveBatch]] = {}

    # -- feeding -------------------------------------------------------------------------

    def add(self, target: SweepTarget, packed: bytes | None = None) -> None:
        """Queue ``target`` for its first probe; ``packed`` is its address in network order
        (the driver has it already; derived from ``target.address`` when left out)."""
        if packed is None:
            packed = _packed(target.address)
        self._fresh.append((target, packed))
        self._active += 1

    def extend(self, targets: Sequence[_Fresh]) -> None:
        """:meth:`add` for many: (target, packed address) pairs. In a tallied sweep the
        target may be None (a block's address: its SweepTarget is made if an event needs
        it, with ``given`` and ``address`` its text)."""
        self._fresh.extend(targets)
        self._active += len(targets)

    @property
    def backlog(self) -> int:
        """Targets fed but not probed yet (the driver feeds while this is small)."""
        return len(self._fresh)

    def family_state(self, family: int) -> _Family:
        """The record of ``family``'s sequence space; its ``waiting`` attribute counts the
        probes neither answered nor expired (read per batch by the driver: an attribute,
        not a call)."""
        return self._families[family]

    def target_of(self, family: int, seq: int) -> SweepTarget:
        """The target of the probe ``seq`` of ``family`` (sent or being sent)."""
        fam = self._families[family]
        if not fam.packed[seq]:
            raise KeyError(seq)
        return self._target(fam, seq)

    def _target(self, fam: _Family, seq: int) -> SweepTarget:
        """The probe's SweepTarget, made now for a block's address fed without one (and kept
        in the slot, so the target's later events and its retries carry the same one)."""
        target = fam.targets[seq]
        if target is None:
            text = self._name(fam.family, fam.packed[seq])
            target = fam.targets[seq] = _new_tuple(SweepTarget, (text, text, fam.family, 0))
        return target

    @property
    def finished(self) -> bool:
        """Every target fed has finished."""
        return self._active == 0

    # -- sending -------------------------------------------------------------------------

    def fill(self, now_ns: int, batches: Mapping[int, SendBatch], limit: int = _UNLIMITED) -> int:
        """Pack the probes due at ``now_ns`` into ``batches`` (one per family, cleared by the
        driver) until a batch is full, the window (``max_in_flight``) is, or ``limit`` is
        reached; with a gap (``interval``) one probe at most. Returns how many.

        The driver sends them right away and reports when with :meth:`sent`. ICMP id and
        checksum are left 0 (the ping socket sets both)."""
        if now_ns < self._next_allowed:
            return 0
        stamp = now_ns if now_ns > self._stamp else self._stamp + 1
        room = 1 if self._gap_ns else limit
        if self._count_mode:
            return self._fill_count(now_ns, stamp, batches, room)
        later = self._later
        fresh = self._fresh
        families = self._families
        cookie = self._cookie
        cap = self._cap
        groups: dict[int, list[int]] = {}  # by try and family: each try's FIFO of expiries
        packed_count = 0
        while packed_count < room:
            if later and later[0][0] <= now_ns:
                # A retry, one at a time.
                _due, target, packed, index, _host = later[0]
                family = _FAMILY_OF_SIZE[len(packed)]
                fam = families[family]
                batch = batches[family]
                if fam.waiting >= cap or len(batch.seqs) >= batch.capacity:
                    break  # until a reply or an expiry frees a slot (wake_at() knows)
                later.popleft()
                seq = self._place(fam, batch, target, packed, index=index, stamp=stamp)
                key = index * 64 + family
                group = groups.get(key)
                if group is None:
                    group = groups[key] = []
                group.append(seq)
                packed_count += 1
                continue
            if not fresh:
                break
            # First probes, as a run of one family: the hot path of a large sweep, inlined
            # (the retries due were taken first, and none falls due during one call).
            family = _FAMILY_OF_SIZE[len(fresh[0][1])]
            fam = families[family]
            batch = batches[family]
            seqs = batch.seqs
            run = min(room - packed_count, batch.capacity - len(seqs), cap - fam.waiting)
            if run <= 0:
                break
            group = groups.get(family)
            if group is None:
                group = groups[family] = []
            state = fam.state
            targets = fam.targets
            packed_at = fam.packed
            index_at = fam.index
            stamp_at = fam.stamp
            buffer = batch.buffer
            stride = batch.stride
            request = fam.request
            v6 = fam.v6
            width = 16 if v6 else 4
            seq = fam.next_seq
            offset = len(seqs) * stride
            placed = 0
            while placed < run and fresh:
                target, packed = fresh[0]
                if len(packed) != width:
                    break  # the other family's: a run of its own
                fresh.popleft()
                while state[seq] == _WAITING:  # bounded: fewer than 65,536 slots are waiting
                    seq = (seq + 1) & 0xFFFF
                if v6:
                    _PACK6(
                        buffer, offset, AF_INET6, 0, 0, packed, target.scope_id if target else 0,
                        request, 0, 0, 0, seq >> 8, seq & 0xFF, cookie, stamp,
                    )  # fmt: skip
                else:
                    _PACK4(
                        buffer, offset, AF_INET, 0, packed,
                        request, 0, 0, 0, seq >> 8, seq & 0xFF, cookie, stamp,
                    )  # fmt: skip
                offset += stride
                seqs.append(seq)
                group.append(seq)
                state[seq] = _WAITING
                targets[seq] = target
                packed_at[seq] = packed
                index_at[seq] = 0
                stamp_at[seq] = stamp
                seq = (seq + 1) & 0xFFFF
                placed += 1
            fam.next_seq = seq
            fam.waiting += placed
            packed_count += placed
        if packed_count:
            self._stamp = stamp
            if self._gap_ns:
                self._next_allowed = now_ns + self._gap_ns
            for key, group in groups.items():
                index = key // 64
                fam = families[key % 64]
                deadline = now_ns + self._timeouts_ns[index]
                self._expiry[index].append((deadline, fam, stamp, group))
            self._expiries_queued(len(groups))
        return packed_count

    def _fill_count(
        self, now_ns: int, stamp: int, batches: Mapping[int, SendBatch], room: int
    ) -> int:
        """:meth:`fill` in count mode: each probe a target's next (due ``period`` after its
        previous one) or a new target's first; a window's worth at most (the caller's few
        probes a call: no per-call set-up to amortize)."""
        later = self._later
        fresh = self._fresh
        families = self._families
        cap = self._cap
        tries = self._tries
        next_due = now_ns + self._period_ns
        place = self._place
        groups: dict[int, list[int]] = {}
        placed = 0
        while placed < room:
            if later and later[0][0] <= now_ns:
                _due, target, packed, index, host = later[0]
                queue: deque[_Retry] | deque[_Fresh] = later
            elif fresh:
                target, packed = fresh[0]
                index = 0
                host = None
                queue = fresh
            else:
                break
            family = _FAMILY_OF_SIZE[len(packed)]
            fam = families[family]
            batch = batches[family]
            if fam.waiting >= cap or len(batch.seqs) >= batch.capacity:
                break  # until a reply or an expiry frees a slot (wake_at() knows)
            queue.popleft()
            seq = place(fam, batch, target, packed, index=index, stamp=stamp)
            if host is None:
                host = _Host(self._target(fam, seq), packed, tries)
            fam.hosts[seq] = host
            index += 1
            host.next_index = index
            host.waiting += 1
            if index < tries:
                later.append((next_due, target, packed, index, host))
            group = groups.get(family)
            if group is None:
                group = groups[family] = []
            group.append(seq)
            placed += 1
        if placed:
            self._stamp = stamp
            if self._gap_ns:
                self._next_allowed = now_ns + self._gap_ns
            deadline = now_ns + self._timeouts_ns[0]
            for family, group in groups.items():
                self._expiry[0].append((deadline, families[family], stamp, group))
            self._expiries_queued(len(groups))
        return placed

    def _expiries_queued(self, added: int) -> None:
        """``added`` expiry entries were queued: once as many have come since the last pass
        as it kept (and ``_COMPACT_FLOOR``), drop the entries whose probes are all settled.
        Each entry kept holds a waiting probe, so no more are kept than probes wait; a pass
        costs no more than the entries queued since the one before (O(1) each, amortized)."""
        self._compact_at -= added
        if self._compact_at > 0:
            return
        live = 0
        for index, queue in enumerate(self._expiry):
            kept: deque[_Expiry] = deque()
            for deadline, fam, stamp, seqs in queue:
                state, stamps = fam.state, fam.stamp
                waiting = [s for s in seqs if state[s] == _WAITING and stamps[s] == stamp]
                if waiting:
                    kept.append((deadline, fam, stamp, waiting))
            self._expiry[index] = kept
            live += len(kept)
        self._compact_at = max(live, _COMPACT_FLOOR)

    @property
    def expiry_entries(self) -> int:
        """Expiry entries held (a probe's, or a batch's, until its deadline or compaction)."""
        return sum(len(queue) for queue in self._expiry)

    def _place(
        self,
        fam: _Family,
        batch: SendBatch,
        target: SweepTarget | None,
        packed: bytes,
        *,
        index: int,
        stamp: int,
    ) -> int:
        """Pack one probe (the target's ``index``-th) into ``batch`` and record it; its
        sequence number."""
        state = fam.state
        seq = fam.next_seq
        while state[seq] == _WAITING:  # bounded: fewer than 65,536 slots are waiting
            seq = (seq + 1) & 0xFFFF
        fam.next_seq = (seq + 1) & 0xFFFF
        offset = len(batch.seqs) * batch.stride
        if fam.v6:
            _PACK6(
                batch.buffer, offset, AF_INET6, 0, 0, packed, target.scope_id if target else 0,
                fam.request, 0, 0, 0, seq >> 8, seq & 0xFF, self._cookie, stamp,
            )  # fmt: skip
        else:
            _PACK4(
                batch.buffer, offset, AF_INET, 0, packed,
                fam.request, 0, 0, 0, seq >> 8, seq & 0xFF, self._cookie, stamp,
            )  # fmt: skip
        batch.seqs.append(seq)
        state[seq] = _WAITING
        fam.targets[seq] = target
        fam.packed[seq] = packed
        fam.index[seq] = index
        fam.stamp[seq] = stamp
        fam.waiting += 1
        return seq

    def sent(self, batch: SendBatch, first: int, count: int, start_ns: int, end_ns: int) -> None:
        """Probes ``first`` .. ``first + count - 1`` of ``batch`` went out in one call that
        began at ``start_ns`` and returned at ``end_ns``: each one's send time is placed
        across the call in order (a batch's messages are sent one after the other, each in
        about the same time), so an RTT is off by a fraction of one message's cost."""
        times = self._families[batch.family].sent
        seqs = batch.seqs
        span = end_ns - start_ns
        for i in range(count):
            times[seqs[first + i]] = start_ns + span * i // count

    def send_failed(self, probe: ProbeRef, errno_value: int) -> list[Event]:
        """The driver could not send ``probe`` (``errno_value``, reported as a ProbeError
        with type -1). In the default mode the target ends there, as fping gives up on a
        host whose send fails; in count mode the probe is left to time out (lost)."""
        fam = self._families[probe.family]
        seq = probe.seq
        if not fam.packed[seq] or fam.state[seq] != _WAITING:
            return []
        target = self._target(fam, seq)
        index = fam.index[seq]
        events: list[Event] = [ProbeError(target, index, "", -1, errno_value)]
        if self._count_mode:
            host = fam.hosts[seq]
            assert host is not None
            host.errors += 1
            return events
        fam.state[seq] = _SETTLED  # no retry, no reply can count
        fam.waiting -= 1
        errors = self._errors.pop(id(target), 0) + 1
        result = (target, index + 1, 0, 0, errors, (None,) * (index + 1))
        events.append(self._done(_new_tuple(HostResult, result)))
        return events

    def next_probe(self, now_ns: int) -> tuple[bytes, ProbeRef] | None:
        """One probe due at ``now_ns`` as a packet, sent at ``now_ns`` (a per-packet caller's
        :meth:`fill`)."""
        batches = {family: self._scratch_pair(family)[0] for family in self._families}
        for batch in batches.values():
            batch.clear()
        if not self.fill(now_ns, batches, limit=1):
            return None
        for family, batch in batches.items():
            if batch.seqs:
                self.sent(batch, 0, 1, now_ns, now_ns)
                return batch.packet(0), ProbeRef(family, batch.seqs[0])
        return None  # pragma: no cover - fill() packed one

    def _scratch_pair(self, family: int) -> tuple[SendBatch, ReceiveBatch]:
        pair = self._scratch.get(family)
        if pair is None:
            pair = self._scratch[family] = (
                SendBatch(family, self.packet_size, capacity=1),
                ReceiveBatch(self.packet_size, capacity=1),
            )
            self.prepare(pair[0])
        return pair

    def prepare(self, batch: SendBatch) -> None:
        """Write the filler bytes into every slot of ``batch`` (once: :meth:`fill` rewrites
        only the address and the packet's head)."""
        filler = self.filler
        start = ADDRESS_ROOM + 24
        for offset in range(0, batch.capacity * batch.stride, batch.stride):
            batch.buffer[offset + start : offset + start + len(filler)] = filler

    # -- receiving -----------------------------------------------------------------------

    def on_replies(
        self, family: int, batch: ReceiveBatch, count: int, out: list[Event], now_ns: int
    ) -> int:
        """The first ``count`` messages of ``batch``, read from ``family``'s socket (ICMP
        header first; a message without a receive stamp is stamped ``now_ns``): their
        events are appended to ``out``. Returns how many answered a probe of this sweep."""
        fam = self._families[family]
        if self._count_mode:
            return self._count_replies(fam, batch, count, out, now_ns)
        stride = batch.stride
        read = self._slot_layout(family, stride).iter_unpack
        size = self.packet_size
        reply_type = fam.reply
        cookie = self._cookie
        filler = self.filler
        state = fam.state
        stamps = fam.stamp
        packed_of = fam.packed
        index_of = fam.index
        sent_at = fam.sent
        targets = fam.targets
        timeouts = self._timeouts_ns
        errors = self._errors
        append = out.append
        new = _new_tuple
        matched = answered = 0
        tally = self.tally
        tallied = tally is not None
        t_sent = t_timeouts = t_alive = t_sum = 0
        t_min = tally.min_ns if tally is not None else 0
        t_max = tally.max_ns if tally is not None else 0
        # One C-level pass reads every slot (iter_unpack); msg_len comes from the headers.
        view = memoryview(batch.buffer)[: count * stride]
        lengths = batch.message_lengths(count)
        for length, (
            source, _len, level, kind_of_cmsg, seconds, nanoseconds,
            kind, code, high, low, echoed, stamp, rest,
        ) in zip(lengths, read(view), strict=True):  # fmt: skip
            if length == size:
                seq = high << 8 | low
                if (
                    kind == reply_type
                    and not code
                    and stamp == stamps[seq]
                    and echoed == cookie
                    and source == packed_of[seq]
                    and rest == filler
                ):
                    if level == SOL_SOCKET and kind_of_cmsg == SCM_TIMESTAMPNS:
                        received = seconds * 1_000_000_000 + nanoseconds
                    else:
                        received = now_ns
                    slot = state[seq]
                    index = index_of[seq]
                    if received - stamp > timeouts[index]:
                        pass  # over its timeout: not counted
                    elif slot == _WAITING:
                        # fping's default mode: the first reply settles the target.
                        matched += 1
                        answered += 1
                        state[seq] = _ANSWERED
                        # The send time is placed within its batch's call, so it can
                        # come out past the reply's stamp by a part of that call.
                        rtt = received - sent_at[seq]
                        if rtt < 0:  # noqa: PLR1730 - a branch, not a call: the hot path
                            rtt = 0
                        target = targets[seq]
                        error_count = errors.pop(id(target), 0) if errors and target else 0
                        if tallied and not error_count:
                            t_sent += index + 1
                            t_timeouts += index
                            t_alive += 1
                            if not t_max or rtt > t_max:
                                t_max = rtt
                            if not t_min or rtt < t_min:
                                t_min = rtt
                            t_sum += rtt
                            continue
                        if target is None:
                            target = self._target(fam, seq)
                        result = (
                            target, index + 1, 1, 0, error_count,
                            (None,) * index + (rtt,) if index else (rtt,),
                        )  # fmt: skip
                        append(new(HostDone, (new(HostResult, result),)))
                    elif slot == _ANSWERED:
                        matched += 1  # a duplicate: its target is settled already
        view.release()
        if tally is not None and t_alive:
            tally.settled += t_alive
            tally.alive += t_alive
            tally.received += t_alive
            tally.sent += t_sent
            tally.timeouts += t_timeouts
            tally.min_ns, tally.max_ns = t_min, t_max
            tally.sum_ns += t_sum
        fam.waiting -= answered
        self._active -= answered
        return matched

    def _count_replies(
        self, fam: _Family, batch: ReceiveBatch, count: int, out: list[Event], now_ns: int
    ) -> int:
        """:meth:`on_replies` in count mode: a few replies a call (the window), each one an
        event, so a plain loop of ``unpack_from`` (no per-call set-up to amortize)."""
        read = self._slot_layout(fam.family, batch.stride).unpack_from
        buffer, stride, lengths = batch.buffer, batch.stride, batch.message_lengths(count)
        size = self.packet_size
        timeout = self._timeouts_ns[0]
        reply_type, cookie, filler = fam.reply, self._cookie, self.filler
        state, stamps, packed_of = fam.state, fam.stamp, fam.packed
        sent_at, hosts, index_of = fam.sent, fam.hosts, fam.index
        tries = self._tries
        append = out.append
        new = _new_tuple
        matched = answered = 0
        # A target whose last probe is answered finishes after the whole read: copies of
        # that reply read with it still count (fping reads every queued reply before it
        # decides the run is over).
        finishing: list[_Host] = []
        for i in range(count):
            if lengths[i] != size:
                continue
            (source, _len, level, kind_of_cmsg, seconds, nanoseconds,
             kind, code, high, low, echoed, stamp, rest) = read(buffer, i * stride)  # fmt: skip
            seq = high << 8 | low
            if (
                kind != reply_type
                or code
                or stamp != stamps[seq]
                or echoed != cookie
                or source != packed_of[seq]
                or rest != filler
            ):
                continue
            if level == SOL_SOCKET and kind_of_cmsg == SCM_TIMESTAMPNS:
                received = seconds * 1_000_000_000 + nanoseconds
            else:
                received = now_ns
            if received - stamp > timeout:
                continue  # over its timeout: not counted
            slot = state[seq]
            if slot != _WAITING and slot != _ANSWERED:  # noqa: PLR1714 - the hot path
                continue
            rtt = received - sent_at[seq]
            if rtt < 0:  # noqa: PLR1730 - see on_replies()
                rtt = 0
            host = hosts[seq]
            assert host is not None
            index = index_of[seq]
            matched += 1
            if slot == _WAITING:
                state[seq] = _ANSWERED
                answered += 1
                host.waiting -= 1
                host.received += 1
                host.rtts[index] = rtt
                append(new(ProbeReply, (host.target, index, rtt, size, None, False)))
                if host.next_index >= tries and not host.waiting:
                    finishing.append(host)
            else:  # a duplicate
                host.duplicates += 1
                if not host.finished:
                    append(new(ProbeReply, (host.target, index, rtt, size, None, True)))
        fam.waiting -= answered
        if finishing:
            out.extend([self._finish(host) for host in finishing])
        return matched

    def _slot_layout(self, family: int, stride: int) -> struct.Struct:
        """A whole receive slot of ``family`` (``stride`` bytes), for ``iter_unpack`` over a
        batch or ``unpack_from`` one slot at a time."""
        layout = self._slot_layouts.get((family, stride))
        if layout is None:
            head = struct.Struct(self._slot_formats[family])
            layout = struct.Struct(f"{head.format}{stride - head.size}x")
            self._slot_layouts[family, stride] = layout
        return layout

    def on_reply(
        self, family: int, source: str | bytes, data: bytes, received_ns: int, out: list[Event]
    ) -> bool:
        """One ICMP message read from ``family``'s socket (ICMP header first) from ``source``
        (text or packed): its events are appended to ``out``; False when it answers none of
        this sweep's probes. (A batch of one: :meth:`on_replies` decides.)"""
        if isinstance(source, str):
            try:
                source = _packed(source.partition("%")[0])
            except ValueError:
                return False
        if len(source) != (16 if family == AF_INET6 else 4):
            return False
        batch = self._scratch_pair(family)[1]
        batch.put(0, family, source, data, received_ns)
        return self.on_replies(family, batch, 1, out, received_ns) > 0

    def on_error(
        self, family: int, destination: str, quoted: bytes, *, source: str, kind: int, code: int
    ) -> ProbeError | None:
        """An ICMP error from the error queue about the echo ``quoted`` (its ICMP header
        first) sent to ``destination``. The probe still times out unless answered."""
        if len(quoted) < 8:
            return None
        fam = self._families[family]
        seq = (quoted[6] << 8) | quoted[7]
        if not fam.packed[seq] or fam.state[seq] != _WAITING:
            return None
        target = self._target(fam, seq)
        if target.address != destination:
            return None
        if self._count_mode:
            host = fam.hosts[seq]
            assert host is not None
            host.errors += 1
        else:
            self._errors[id(target)] = self._errors.get(id(target), 0) + 1
        return ProbeError(target, fam.index[seq], source, kind, code)

    # -- time ----------------------------------------------------------------------------

    def expire(self, now_ns: int) -> list[Event]:
        """Probes whose timeout has passed at ``now_ns``: lost, retried, targets finished."""
        events: list[Event] = []
        for queue in self._expiry:
            while queue and queue[0][0] <= now_ns:
                deadline, fam, stamp, seqs = queue.popleft()
                state = fam.state
                stamps = fam.stamp
                for seq in seqs:
                    if state[seq] == _WAITING and stamps[seq] == stamp:
                        self._lose(fam, seq, deadline, events)
        return events

    def _lose(self, fam: _Family, seq: int, deadline: int, events: list[Event]) -> None:
        fam.state[seq] = _SETTLED  # a late reply must not count
        fam.waiting -= 1
        index = fam.index[seq]
        if self._count_mode:
            host = fam.hosts[seq]
            assert host is not None
            host.waiting -= 1
            events.append(ProbeLost(host.target, index))
            if host.next_index >= self._tries and not host.waiting:
                events.append(self._finish(host))
            return
        target = fam.targets[seq]
        if index + 1 < self._tries:
            # fping: the retry goes out now (its due time has passed)
            self._later.append((deadline, target, fam.packed[seq], index + 1, None))
            return
        errors = self._errors.pop(id(target), 0) if self._errors and target else 0
        tally = self.tally
        if tally is not None and not errors:
            self._active -= 1
            tally.settled += 1
            tally.sent += self._tries
            tally.timeouts += self._tries
            return
        if target is None:
            target = self._target(fam, seq)
        result = (target, self._tries, 0, 0, errors, (None,) * self._tries)
        events.append(self._done(_new_tuple(HostResult, result)))

    def _finish(self, host: _Host) -> HostDone:
        host.finished = True
        return self._done(host.result())

    def _done(self, result: HostResult) -> HostDone:
        self._active -= 1
        return _new_tuple(HostDone, (result,))

    def wake_at(self, now_ns: int) -> int | None:
        """When something is next due (a send or an expiry), or None if nothing is."""
        times = [queue[0][0] for queue in self._expiry if queue]
        if self._later:
            due, _target, packed = self._later[0][:3]
            if self._families[_FAMILY_OF_SIZE[len(packed)]].waiting < self._cap:
                times.append(max(due, self._next_allowed))
        if self._fresh:
            family = _FAMILY_OF_SIZE[len(self._fresh[0][1])]
            if self._families[family].waiting < self._cap:
                times.append(max(now_ns, self._next_allowed))
        return min(times) if times else None
