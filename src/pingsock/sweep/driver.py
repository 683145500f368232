"""The blocking sweep: sockets, the clock and the loop around :class:`SweepEngine`.

One ping socket per family (opened when the first target of that family comes up), replies
read in batches between bursts of sends so the receive buffer never overflows on a fast
path (on loopback every reply is queued inside ``sendto()`` itself), ICMP errors read from the
error queue (IP_RECVERR), kernel receive stamps (SO_TIMESTAMPNS) against send stamps taken
from the same clock just before ``sendto()``, as iputils does.
"""

from __future__ import annotations

import errno
import gc
import os
import select
import socket
import struct
import time
from collections.abc import Iterable, Iterator

from pingsock import linux
from pingsock.backends.auto import open_socket
from pingsock.backends.base import PingSocket
from pingsock.sweep.engine import SweepEngine
from pingsock.sweep.events import Event, HostDone, HostResult, ResolveFailed, SweepTarget
from pingsock.sweep.options import SweepOptions
from pingsock.sweep.targets import block_bounds

__all__ = ["Sweeper", "resolve_target", "run", "sweep"]

_BURST = 128  # sends between two reads of the receive queue (32 to 256 measured alike)
_STEP = 4096  # sends in one step at most
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


def _addresses(family: int, first: int, last: int) -> Iterator[tuple[str, int]]:
    """The hosts ``first``..``last`` as (text, family): ``inet_ntop`` formats them at C speed
    (the same text as ``targets.canonical()``; a test holds them equal)."""
    ntop = socket.inet_ntop
    size = 4 if family == socket.AF_INET else 16
    for value in range(first, last + 1):
        yield ntop(family, value.to_bytes(size, "big")), family


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
    """One sweep: iterate :meth:`events` once; :meth:`close` releases the sockets."""

    def __init__(self, targets: Iterable[str], options: SweepOptions | None = None) -> None:
        self.options = options or SweepOptions()
        self.engine = SweepEngine(self.options, os.urandom(8))
        self._specs = iter(targets)
        self._block: Iterator[tuple[str, int]] = iter(())
        self._exhausted = False
        self._sockets: dict[int, PingSocket] = {}
        self._pollers: list[tuple[int, PingSocket]] = []

    @property
    def backends(self) -> dict[int, str]:
        """The backend ("kernel" or "raw") of each family's socket opened so far."""
        return {family: sock.backend for family, sock in self._sockets.items()}

    def close(self) -> None:
        for sock in self._sockets.values():
            sock.close()
        self._sockets.clear()
        self._pollers.clear()

    def __enter__(self) -> Sweeper:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- targets -------------------------------------------------------------------------

    def _feed(self, out: list[Event]) -> None:
        """Resolve targets until ``_FEED`` wait for their first probe (lazily: a /8 is
        never held in memory). Blocks and ranges need no resolving (``block_bounds``)."""
        engine = self.engine
        allowed = self.options.family
        new_target = tuple.__new__  # SweepTarget(...) without its Python-level __new__
        add = engine.add
        while engine.backlog < _FEED:
            room = _FEED - engine.backlog
            for address, family in self._block:
                if allowed and family != allowed:
                    continue
                if family not in self._sockets:
                    self._open(family)
                add(new_target(SweepTarget, (address, address, family, 0)))
                room -= 1
                if not room:
                    return
            spec = next(self._specs, None)
            if spec is None:
                self._exhausted = True
                return
            try:
                bounds = block_bounds(spec)
            except ValueError as exc:
                out.append(ResolveFailed(spec, str(exc)))
                continue
            if bounds is not None:
                self._block = _addresses(*bounds)
                continue
            target = resolve_target(spec, allowed)
            if isinstance(target, ResolveFailed):
                out.append(target)
                continue
            if target.family not in self._sockets:
                self._open(target.family)
            engine.add(target)

    def _open(self, family: int) -> None:
        sock = _open(family, self.options)
        self._sockets[family] = sock
        self._pollers.append((family, sock))

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
        sockets = self._sockets
        time_ns = time.time_ns
        if not self._exhausted:
            self._feed(out)
        now = time_ns()
        out.extend(engine.expire(now))
        burst = sent = held = 0
        while sent < _STEP:
            item = engine.next_probe(now)
            if item is None:
                # Held by the window (max_in_flight) or the gap: replies read now may free a
                # slot, and the next probe goes out in this same round. Bounded, so that a
                # stream of replies that frees nothing (duplicates) cannot hold the round.
                held += 1
                if held > _BURST or not self._drain(out):
                    break
                now = time_ns()
                continue
            sent += 1
            held = 0
            packet, probe = item
            sock = sockets[probe.host.family]
            try:
                sock.sendto(packet, probe.host.sockaddr)
            except OSError as exc:
                out.extend(engine.send_failed(probe, exc.errno or errno.EIO))
            else:
                if sock.last_send_ns:  # the emulation: its stamp is closer to the wire
                    probe.sent_ns = sock.last_send_ns
            burst += 1
            if burst == _BURST:
                self._drain(out)
                if not self._exhausted and engine.backlog < _FEED // 2:
                    self._feed(out)
                burst = 0
            now = time_ns()
        self._drain(out)

    def events(self) -> Iterator[Event]:
        """Every event of the sweep, as it happens."""
        out: list[Event] = []
        while True:
            self.step(out)
            if out:
                yield from out
                out.clear()
            if self.done:
                return
            delay = self.delay()
            if delay is None or delay > 0:
                select.select(self.pollables, [], [], 1.0 if delay is None else min(delay, 1.0))

    def _drain(self, out: list[Event]) -> int:
        """Read every queued reply (and error) of every socket; how many were read."""
        read = 0
        on_reply = self.engine.on_reply
        family_state = self.engine.family_state
        unpack_timespec = _TIMESPEC.unpack_from
        for family, sock in self._pollers:
            state = family_state(family)
            recvmsg = sock.recvmsg
            while True:
                try:
                    data, anc, _flags, address = recvmsg(2048, _ANC, _DONTWAIT)
                except BlockingIOError:
                    break
                except InterruptedError:
                    continue
                except OSError:
                    # A pending ICMP error (sk_err) comes first; its details are queued.
                    self._read_errors(family, sock, out)
                    continue
                received = 0
                for level, kind, value in anc:  # one cmsg: the stamp
                    if kind == _SCM_TIMESTAMPNS and level == _SOL_SOCKET:
                        sec, nsec = unpack_timespec(value)
                        received = sec * 1_000_000_000 + nsec
                on_reply(family, address[0], data, received or time.time_ns(), out)
                read += 1
                if not state.waiting:
                    break  # all answered: spare the EAGAIN (an exception) the next read costs
            if sock.backend == "raw":
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
    return (event.result for event in run(targets, options) if isinstance(event, HostDone))
