"""The blocking sweep: sockets, the clock and the loop around :class:`SweepEngine`.

One ping socket per family (opened when the first target of that family comes up). The
engine packs the probes due into a batch per family; on the kernel's ping socket a batch goes
out in one ``sendmmsg()`` and replies come back up to 256 at a time by ``recvmmsg()``
(:mod:`pingsock.sweep.mmsg`), read between batches so the receive buffer never overflows on
a fast path (on loopback every reply is queued inside the send call itself). The raw
backend's emulation gets the same batches one ``sendto()`` at a time. ICMP errors are read
from the error queue (IP_RECVERR); kernel receive stamps (SO_TIMESTAMPNS) are set against
send stamps taken from the same clock around the send call, as iputils does.
"""

from __future__ import annotations

import errno
import functools
import gc
import operator
import os
import select
import socket
import struct
import time
from collections.abc import Callable, Iterable, Iterator
from itertools import repeat

from pingsock import linux
from pingsock.backends.auto import open_socket
from pingsock.backends.base import PingSocket
from pingsock.sweep import mmsg
from pingsock.sweep.engine import ProbeRef, SweepEngine
from pingsock.sweep.events import Event, HostDone, HostResult, ResolveFailed, SweepTarget
from pingsock.sweep.options import SweepOptions
from pingsock.sweep.slots import ReceiveBatch, SendBatch
from pingsock.sweep.targets import block_bounds

__all__ = ["Sweeper", "resolve_target", "run", "sweep"]

_HOLD = 128  # reads in a row that free no slot before a held round gives up
_STEP = 4096  # sends in one step at most
_ERRORS_IN_A_ROW = 64  # pending errors read before a drain moves on
_FEED = 512  # targets resolved ahead of the sender
_RCVBUF = 4 << 20
_ANC = 256
_TIMESPEC = struct.Struct("=qq")
_SO_RCVBUFFORCE = 33
_SCM_TIMESTAMPNS = linux.SCM_TIMESTAMPNS
_SOL_SOCKET = linux.SOL_SOCKET
_DONTWAIT = linux.MSG_DONTWAIT
_ERRQUEUE = linux.MSG_ERRQUEUE | linux.MSG_DONTWAIT
_RECVERR = {(linux.SOL_IP, linux.IP_RECVERR), (linux.SOL_IPV6, linux.IPV6_RECVERR)}
_PACK_V4 = struct.Struct("!I").pack
_EVERY = -1  # _drain(): every family
_ORIGIN_ICMP = (linux.SO_EE_ORIGIN_ICMP, linux.SO_EE_ORIGIN_ICMP6)


def resolve_target(given: str, family: int = socket.AF_UNSPEC) -> SweepTarget | ResolveFailed:
    """``given`` as a target: a literal as is (IPv6 with an optional %scope), a name through
    getaddrinfo (its first address of an allowed family)."""
    for candidate in (socket.AF_INET, socket.AF_INET6):
        if family not in (socket.AF_UNSPEC, candidate):
            continue
        bare, _, scope = given.partition("%")
        try:
            packed = socket.inet_pton(candidate, bare)
        except OSError:
            continue
        scope_id = 0
        if scope:
            try:
                scope_id = int(scope) if scope.isdigit() else socket.if_nametoindex(scope)
            except OSError:
                return ResolveFailed(given, "No such device")
        return SweepTarget(given, socket.inet_ntop(candidate, packed), candidate, scope_id)
    try:
        infos = socket.getaddrinfo(given, None, family, socket.SOCK_DGRAM)
    except socket.gaierror as exc:
        return ResolveFailed(given, exc.strerror or str(exc))
    except UnicodeError:
        return ResolveFailed(given, "Name or service not known")
    for info_family, _type, _proto, _name, sockaddr in infos:
        if info_family in (socket.AF_INET, socket.AF_INET6):
            scope_id = int(sockaddr[3]) if len(sockaddr) > 3 else 0
            return SweepTarget(given, str(sockaddr[0]), info_family, scope_id)
    return ResolveFailed(given, "Address family for hostname not supported")


def _addresses(
    family: int, first: int, last: int, *, named: bool = True
) -> Iterator[list[tuple[SweepTarget | None, bytes]]]:
    """The hosts ``first``..``last`` as (target, packed address) pairs, made a chunk at a time
    by C-level maps (``inet_ntop`` gives the same text as ``targets.canonical()``; a test holds
    them equal): a /16 is fed in a few milliseconds. Not ``named``: no target (a tallied
    sweep makes one only for a target that needs an event)."""
    if family == socket.AF_INET:
        to_bytes: Callable[[int], bytes] = _PACK_V4
        ntop: Callable[[bytes], str] = socket.inet_ntoa  # IPv4's inet_ntop, a little faster
    else:
        to_bytes = operator.methodcaller("to_bytes", 16, "big")
        ntop = functools.partial(socket.inet_ntop, family)
    make = functools.partial(tuple.__new__, SweepTarget)  # without its Python-level __new__
    for start in range(first, last + 1, _FEED):
        packed = list(map(to_bytes, range(start, min(start + _FEED, last + 1))))
        if not named:
            yield list(zip(repeat(None, len(packed)), packed, strict=True))
            continue
        texts = list(map(ntop, packed))
        n = len(texts)
        targets = map(make, zip(texts, texts, repeat(family, n), repeat(0, n), strict=True))
        yield list(zip(targets, packed, strict=True))


def _open(family: int, options: SweepOptions) -> PingSocket:
    sock = open_socket(family, backend=options.backend)  # type: ignore[arg-type]
    v6 = family == socket.AF_INET6
    level = linux.SOL_IPV6 if v6 else linux.SOL_IP
    sock.setsockopt(level, linux.IPV6_RECVERR if v6 else linux.IP_RECVERR, 1)
    sock.setsockopt(_SOL_SOCKET, linux.SO_TIMESTAMPNS, 1)
    if options.ttl is not None:
        sock.setsockopt(level, linux.IPV6_UNICAST_HOPS if v6 else linux.IP_TTL, options.ttl)
    if options.tos is not None:
        sock.setsockopt(level, linux.IPV6_TCLASS if v6 else linux.IP_TOS, options.tos)
    try:  # as root: past net.core.rmem_max
        sock.setsockopt(_SOL_SOCKET, _SO_RCVBUFFORCE, _RCVBUF)
    except OSError:
        sock.setsockopt(_SOL_SOCKET, linux.SO_RCVBUF, _RCVBUF)
    return sock


class Sweeper:
    """One sweep: iterate :meth:`events` (or :meth:`rounds`) once; :meth:`close` releases the
    sockets. ``tally``: the default mode's targets that end without an ICMP error or a
    failed send are counted in :attr:`tally` rather than reported one by one (a summary-only
    sweep: no result object, not even a target object, is made for them)."""

    def __init__(
        self, targets: Iterable[str], options: SweepOptions | None = None, *, tally: bool = False
    ) -> None:
        self.options = options or SweepOptions()
        self.engine = SweepEngine(self.options, os.urandom(8), tally=tally, name=socket.inet_ntop)
        self.tally = self.engine.tally
        self._specs = iter(targets)
        self._block: Iterator[list[tuple[SweepTarget | None, bytes]]] = iter(())
        self._exhausted = False
        self._sockets: dict[int, PingSocket] = {}
        self._pollers: list[tuple[int, PingSocket]] = []
        self._outgoing: dict[int, SendBatch] = {}
        self._incoming: dict[int, ReceiveBatch] = {}
        self._batched: dict[int, mmsg.MessageBatches] = {}  # kernel sockets

    @property
    def backends(self) -> dict[int, str]:
        """The backend ("kernel" or "raw") of each family's socket opened so far."""
        return {family: sock.backend for family, sock in self._sockets.items()}

    def close(self) -> None:
        for sock in self._sockets.values():
            sock.close()
        self._sockets.clear()
        self._pollers.clear()
        self._batched.clear()

    def __enter__(self) -> Sweeper:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- targets -------------------------------------------------------------------------

    def _feed(self, out: list[Event]) -> None:
        """Resolve targets until ``_FEED`` wait for their first probe (lazily: a /8 is
        never held in memory). Blocks and ranges need no resolving (``block_bounds``), nor
        do IPv4 addresses, the commonest target (one ``inet_pton``: a fast path)."""
        engine = self.engine
        allowed = self.options.family
        v4_allowed = allowed != socket.AF_INET6
        pton = socket.inet_pton
        ntop = socket.inet_ntop
        v4 = socket.AF_INET
        room = _FEED - engine.backlog
        while room > 0:
            chunk = next(self._block, None)
            if chunk:
                engine.extend(chunk)
                room -= len(chunk)
                continue
            spec = next(self._specs, None)
            if spec is None:
                self._exhausted = True
                return
            if v4_allowed:
                try:
                    packed = pton(v4, spec)
                except OSError:
                    pass  # not a dotted quad: a block, a range, IPv6 or a name
                else:
                    if v4 not in self._sockets:
                        self._open(v4)
                    engine.add(tuple.__new__(SweepTarget, (spec, ntop(v4, packed), v4, 0)), packed)
                    room -= 1
                    continue
            try:
                bounds = block_bounds(spec)
            except ValueError as exc:
                out.append(ResolveFailed(spec, str(exc)))
                continue
            if bounds is not None:
                family = bounds[0]
                if allowed and family != allowed:
                    continue
                if family not in self._sockets:
                    self._open(family)
                self._block = _addresses(*bounds, named=self.engine.tally is None)
                continue
            target = resolve_target(spec, allowed)
            if isinstance(target, ResolveFailed):
                out.append(target)
                continue
            if target.family not in self._sockets:
                self._open(target.family)
            engine.add(target, pton(target.family, target.address))
            room -= 1

    def open_early(self, family: int) -> bool:
        """Open ``family``'s socket now rather than at its first target (fping opens its
        sockets before its clock starts); False when it cannot be opened (a target of that
        family will report why)."""
        if family in self._sockets:
            return True
        try:
            self._open(family)
        except OSError:
            return False
        return True

    def _open(self, family: int) -> None:
        sock = _open(family, self.options)
        self._sockets[family] = sock
        self._pollers.append((family, sock))
        size = self.engine.packet_size
        outgoing = self._outgoing[family] = SendBatch(family, size)
        self.engine.prepare(outgoing)
        incoming = self._incoming[family] = ReceiveBatch(size)
        if sock.backend == "kernel" and mmsg.available():
            self._batched[family] = mmsg.MessageBatches(sock.fileno(), family, outgoing, incoming)

    # -- the loop ------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        """Every target has been read, probed and settled."""
        return self._exhausted and self.engine.finished

    @property
    def pollables(self) -> list[PingSocket]:
        """The sockets to wait on between steps (readable: replies or errors)."""
        return [sock for _family, sock in self._pollers]

    def delay(self) -> float | None:
        """Seconds until the next step has something to do without news from the sockets
        (0: at once), or None when only a reply can change anything."""
        wake = self.engine.wake_at(time.time_ns())
        if wake is None:
            return None if self._exhausted else 0.0
        return max(wake - time.time_ns(), 0) / 1e9

    def step(self, out: list[Event]) -> None:
        """One bounded round: read targets, settle expired probes, send what is due (at most
        ``_STEP`` probes, so events stream and an event loop stays responsive), read
        replies. Its events are appended to ``out``.

        The cyclic collector is paused during the round, never while the caller's code
        runs: the sweep makes no reference cycles, but it makes hundreds of thousands of
        small objects, and the generation-0 passes over them cost more than the probes."""
        collect = gc.isenabled()
        gc.disable()
        try:
            self._round(out)
        finally:
            if collect:
                gc.enable()

    def _round(self, out: list[Event]) -> None:
        engine = self.engine
        time_ns = time.time_ns
        batches = self._outgoing
        if not self._exhausted:
            self._feed(out)
        now = time_ns()
        out.extend(engine.expire(now))
        sent = held = 0
        while sent < _STEP:
            for batch in batches.values():
                batch.clear()
            packed = engine.fill(now, batches)
            if not packed:
                # Held by the window (max_in_flight) or the gap: replies read now may free a
                # slot, and the next probe goes out in this same round. Bounded, so that a
                # stream of replies that frees nothing (duplicates) cannot hold the round.
                held += 1
                if held > _HOLD or not self._drain(out):
                    break
                now = time_ns()
                continue
            sent += packed
            held = 0
            only: int | None = None
            for family, batch in batches.items():
                if batch.seqs:
                    self._send(family, batch, out)
                    only = family if only is None else _EVERY
            self._drain(out, only)  # the replies the batch brought (queued in the send, on lo)
            if not self._exhausted and engine.backlog < _FEED // 2:
                self._feed(out)
            now = time_ns()
        self._drain(out)

    def _send(self, family: int, batch: SendBatch, out: list[Event]) -> None:
        """Send ``batch``: one ``sendmmsg()`` on the kernel socket (again from the message
        after one that fails), one ``sendto()`` per probe on the emulation."""
        engine = self.engine
        time_ns = time.time_ns
        count = len(batch.seqs)
        batched = self._batched.get(family)
        if batched is not None:
            first = 0
            while first < count:
                start = time_ns()
                try:
                    done = batched.send(first, count - first)
                except OSError as exc:
                    failed = ProbeRef(family, batch.seqs[first])
                    out.extend(engine.send_failed(failed, exc.errno or errno.EIO))
                    first += 1
                    continue
                engine.sent(batch, first, done, start, time_ns())
                first += done
            return
        sock = self._sockets[family]
        for i, seq in enumerate(batch.seqs):
            start = time_ns()
            try:
                sock.sendto(batch.packet(i), engine.target_of(family, seq).sockaddr)
            except OSError as exc:
                out.extend(engine.send_failed(ProbeRef(family, seq), exc.errno or errno.EIO))
                continue
            stamp = sock.last_send_ns or start  # the emulation's stamp is closer to the wire
            engine.sent(batch, i, 1, stamp, stamp)

    def rounds(self) -> Iterator[list[Event]]:
        """The events of each round of the sweep, as they happen (the same list, refilled:
        read it before asking for the next)."""
        out: list[Event] = []
        while True:
            self.step(out)
            if out:
                yield out
                out.clear()
            if self.done:
                return
            delay = self.delay()
            if delay is None or delay > 0:
                select.select(self.pollables, [], [], 1.0 if delay is None else min(delay, 1.0))

    def events(self) -> Iterator[Event]:
        """Every event of the sweep, as it happens."""
        for events in self.rounds():
            yield from events

    def _drain(self, out: list[Event], only: int | None = None) -> int:
        """Read every queued reply (and error) of every socket (or only of family ``only``);
        how many were read."""
        read = 0
        engine = self.engine
        for family, sock in self._pollers:
            if only is not None and only not in (family, _EVERY):
                continue
            state = engine.family_state(family)
            batched = self._batched.get(family)
            if batched is not None:
                incoming = batched.incoming
                errors = 0
                while True:
                    try:
                        got = batched.receive()
                    except OSError:
                        # A pending ICMP error (sk_err) comes first; its details are queued.
                        self._read_errors(family, sock, out)
                        errors += 1
                        if errors < _ERRORS_IN_A_ROW:
                            continue
                        break
                    if not got:
                        break
                    read += got
                    engine.on_replies(family, incoming, got, out, time.time_ns())
                    if got < incoming.capacity or not state.waiting:
                        break  # the queue is empty, or nothing is waiting: spare a call
                continue
            read += self._drain_one_by_one(family, sock, out)
        return read

    def _drain_one_by_one(self, family: int, sock: PingSocket, out: list[Event]) -> int:
        """The emulation's replies, one ``recvmsg()`` each, handed to the engine as one batch
        (as ``recvmmsg()`` would: copies of a reply read with it count alike)."""
        engine = self.engine
        incoming = self._incoming[family]
        unpack_timespec = _TIMESPEC.unpack_from
        pton = socket.inet_pton
        recvmsg = sock.recvmsg
        read = 0
        for _ in range(incoming.capacity * 2):  # bounded: errors and interruptions included
            if read == incoming.capacity:
                break
            try:
                data, anc, _flags, address = recvmsg(2048, _ANC, _DONTWAIT)
            except BlockingIOError:
                break
            except InterruptedError:
                continue
            except OSError:
                self._read_errors(family, sock, out)
                continue
            received = 0
            for level, kind, value in anc:  # one cmsg: the stamp
                if kind == _SCM_TIMESTAMPNS and level == _SOL_SOCKET:
                    sec, nsec = unpack_timespec(value)
                    received = sec * 1_000_000_000 + nsec
            source = pton(family, str(address[0]).partition("%")[0])
            incoming.put(read, family, source, data, received or time.time_ns())
            read += 1
        if read:
            engine.on_replies(family, incoming, read, out, time.time_ns())
        self._read_errors(family, sock, out)  # the emulation shows errors as POLLIN
        return read

    def _read_errors(self, family: int, sock: PingSocket, out: list[Event]) -> None:
        from pingsock.cmsg import parse_extended_error

        for _ in range(1024):
            try:
                data, anc, _flags, address = sock.recvmsg(2048, 512, _ERRQUEUE)
            except OSError:
                return
            for level, kind, value in anc:
                if (level, kind) not in _RECVERR:
                    continue
                error = parse_extended_error(value)
                if error is None or error.origin not in _ORIGIN_ICMP:
                    continue
                event = self.engine.on_error(
                    family,
                    str(address[0]),
                    data,
                    source=error.offender or "",
                    kind=error.icmp_type,
                    code=error.icmp_code,
                )
                if event is not None:
                    out.append(event)


def run(targets: Iterable[str], options: SweepOptions | None = None) -> Iterator[Event]:
    """Every event of a sweep of ``targets`` (addresses, names, blocks, ranges), as it
    happens; leaving the loop closes the sockets."""
    sweeper = Sweeper(targets, options)
    try:
        yield from sweeper.events()
    finally:
        sweeper.close()


def sweep(targets: Iterable[str], **fields: object) -> Iterator[HostResult]:
    """``pingsock.sweep()``: one :class:`HostResult` per target, as each finishes.
    Keyword arguments are :class:`SweepOptions` fields."""
    options = SweepOptions(**fields)  # type: ignore[arg-type]  # bad fields fail here, at once
    return _results(Sweeper(targets, options))


def _results(sweeper: Sweeper) -> Iterator[HostResult]:
    try:
        for events in sweeper.rounds():
            for event in events:
                if type(event) is HostDone:
                    yield event.result
    finally:
        sweeper.close()
