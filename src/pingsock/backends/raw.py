"""The ping socket emulated on a raw ICMP socket, for processes with CAP_NET_RAW.

The pure core (``pingsock.emulation``) decides; this module and its helpers move bytes:

* a raw ``SOCK_RAW``/``IPPROTO_ICMP(V6)`` socket carries the packets, with a kernel BPF
  filter (``backends.bpf``) so it wakes only for this socket's ident; ``backends.raw_recv``
  turns what it reads into the ping socket's replies, cmsgs and errors;
* idents are claimed across processes (``backends.reserve``), allocated like ``ping_get_port()``;
* socket options go to the raw socket, which validates them with the kernel's own code and
  applies them to what it sends and receives (``backends.raw_options``): TTL and hop limits,
  TOS and traffic class, IP_OPTIONS (record route, timestamps, source routes), PMTU
  discovery, SO_BROADCAST, SO_MARK, SO_BINDTODEVICE, buffers, timestamps, receive cmsgs;
* throw-away UDP sockets answer the routing questions of ``bind()`` and ``connect()`` as the
  kernel does for the ping socket (``backends.raw_kernel``: same functions, same errnos);
* ICMP errors become IP_RECVERR entries and a pending ``sk_err`` by the core's rules; a local
  ``EMSGSIZE`` entry is read back from the kernel itself.

Capabilities are the caller's on both backends: privileged options (SO_MARK, SO_DEBUG,
SO_PRIORITY > 6, re-binding a device, a source route) are checked against the calling process
when the raw socket's setsockopt() runs, as for the ping socket. LSRR/SSRR in IP_OPTIONS
fail with ``EPERM`` without CAP_NET_RAW (Linux "ipv4: restrict IPOPT_SSRR and IPOPT_LSRR
options", CVE-2026-53249), for every socket type; observed to be ``ns_capable()`` on the
network namespace's user namespace (its root passes). Other non-whitelisted options give
``EINVAL`` without it. iputils drops CAP_NET_RAW after socket(): ``EPERM`` on both backends.

Deviation (asserted in tests/backends/test_contract_options.py): with IPV6_FLOWINFO_SEND,
once the namespace holds an exclusive flow label, a label the socket does not hold is sent as
is by ``ping_v6_sendmsg()`` (no lookup) but refused with ``EINVAL`` by ``rawv6_sendmsg()``
(``fl6_sock_lookup()``). Registering labels for the user would change the namespace's label
table, so it is not done; iputils ``-F`` registers its label and behaves the same on both.

Readiness (``backends.raw_ready``): ``fileno()`` is an epoll descriptor over the raw socket
and an eventfd that is readable while the emulation's own queues (replies read ahead, the error
queue, ``sk_err``) hold something, so select/poll/epoll/asyncio wait on it as on the kernel's
socket. The BPF filter follows the socket's state (ident, IP_RECVERR, connected, PMTU
discovery), so an ICMP error the socket would ignore does not wake it; packets that arrived
under the previous state are processed before the state changes, as the kernel processed
them on arrival (J8: enabling IP_RECVERR queues nothing retroactively). Reads look at
everything that has arrived first, so a pending error comes before a reply queued earlier
(G5). Timeouts are the stdlib socket's: with one set, even ``MSG_DONTWAIT`` and
``MSG_ERRQUEUE`` reads wait for it and end in ``TimeoutError`` rather than ``EAGAIN``.

Deviations of the descriptor (asserted in tests/backends/test_readiness.py), because an epoll
descriptor only ever reports ``POLLIN``:

* a pending error (a queued error-queue entry or ``sk_err``) shows as ``POLLIN``, where the
  kernel's socket shows ``POLLERR`` (and ``POLLIN`` only if a reply is queued too).
  ``select()`` agrees (it counts ``POLLERR`` as readable), poll/epoll masks do not: a poller
  that waits for errors must treat ``POLLIN`` as "read the error queue too";
* it is never writable (no ``POLLOUT``): wait on it for reading only. A send does not block
  on the raw socket (a full send buffer is ``EAGAIN``);
* ``SO_SELECT_ERR_QUEUE`` adds no ``POLLPRI``;
* a packet the filter passes but the emulation drops (IPv4: a reply or error with a bad
  checksum, a reply to a broadcast or multicast destination; both families: a reply to
  another local address while connected without a bound address) makes it readable until
  the next call on the socket reads it; a read then finds nothing (``EAGAIN``, or it waits
  on), as after a spurious wake-up.

Known gap (for a later issue): a send checks the pending error before, not after, the route
(E1 steps 8-11).
"""

from __future__ import annotations

import contextlib
import errno
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, overload

from pingsock import linux
from pingsock.backends import bpf
from pingsock.backends.base import Address, AncData
from pingsock.backends.kernel import protocol_for
from pingsock.backends.raw_kernel import check_bind_address, queue_local_error, route_probe
from pingsock.backends.raw_options import PROBE_PORT, ROUTE_OPTIONS, RawOptions, apply_options
from pingsock.backends.raw_ready import Readiness, internal_socket, wait_readable
from pingsock.backends.raw_recv import (
    Reply,
    acted_on_errors,
    error_queue_read,
    strip_scope,
    translate,
    truncate,
)
from pingsock.backends.reserve import IdentClaim, claim_ident, kernel_held_idents
from pingsock.emulation.ancillary import needs_scope_id
from pingsock.emulation.idents import IdentAllocator, IdentsExhausted
from pingsock.emulation.oserror import os_error
from pingsock.emulation.state import PingSocketState
from pingsock.emulation.validate import check_send, rewrite_echo

__all__ = ["RawPingSocket"]

_T = TypeVar("_T")
_SO_BINDTOIFINDEX = 62
_MSG_PROBE = 0x10
# IPV6_PKTINFO, and the extension headers: 2292 HOPOPTS, DSTOPTS, RTHDR, PKTOPTIONS, then
# HOPOPTS, RTHDRDSTOPTS, RTHDR, DSTOPTS.
_VALIDATED_AND_DROPPED = frozenset({linux.IPV6_PKTINFO, 3, 4, 5, 6, 54, 55, 57, 59})
_MSG_MORE = 0x8000
_IPV6_MULTICAST_IF = 17
_IPV6_UNICAST_IF = 76
_V4_MAPPED_PREFIX = b"\0" * 10 + b"\xff\xff"
_NO_IDENT = (0, False, False, False)  # the filter key of a socket without an ident

_RECV_SIZE = 65535 + 60  # the largest IPv4 datagram plus slack
_INTERNAL_ANC = 1024
_MAX_QUEUED_REPLIES = 4096

# One allocator per process and family space: the kernel's rover is per namespace and shared
# by v4 and v6 (C3); a process rarely spans namespaces, and claims are per namespace anyway.
_allocator = IdentAllocator(random.randrange(1, 0x10000))


# Held, besides the ident's claim (backends.reserve), by a holder whose SO_REUSEADDR is 0: a
# sharer's bind() tries the mark, and finds it taken when some holder refuses to share (C7).
_EXCLUSIVE_PREFIX = b"\0pingsock/ident-exclusive/"


def claim_exclusive(ident: int) -> IdentClaim | None:
    """Mark ``ident`` as held by a socket with SO_REUSEADDR 0; None when already marked.
    Abstract names are per network namespace and vanish with the process, like the claims."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
    try:
        sock.bind(_EXCLUSIVE_PREFIX + str(ident).encode())
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            return None
        raise
    return IdentClaim(ident, sock)


def _v4_mapped(host: str) -> bool:
    try:
        return socket.inet_pton(socket.AF_INET6, strip_scope(host))[:12] == _V4_MAPPED_PREFIX
    except OSError:
        return False


class RawPingSocket:
    """A ping socket served by a raw socket; see the module docstring."""

    backend = "raw"

    def __init__(self, family: int = socket.AF_INET) -> None:
        self.family = family
        self.type = socket.SOCK_DGRAM
        self.proto = protocol_for(family)
        self._raw = internal_socket(family, socket.SOCK_RAW, self.proto)
        self._raw.setblocking(False)
        bpf.attach_filter(self._raw, bpf.drop_all_program())
        self._filter_key = _NO_IDENT  # what the attached filter was built for
        self._discard_queued()
        self._readiness = Readiness(self._raw.fileno())  # fileno(): see backends.raw_ready
        self._v6 = family == socket.AF_INET6
        self._state = PingSocketState(family)
        self._options = RawOptions(self._raw, family, self._state)
        self._peer_flowinfo = 0  # the flow label connect() stored (IPV6_FLOWINFO_SEND)
        self._peer_scope = 0  # the scope getpeername() shows (M7)
        self._claim: IdentClaim | None = None
        self._exclusive: IdentClaim | None = None  # held while bound with SO_REUSEADDR 0
        self._source_bound = False  # the raw socket is bound to the source connect() chose
        self._replies: deque[Reply] = deque()
        self._timeout: float | None = socket.getdefaulttimeout()
        self._lock = threading.RLock()
        self._closed = False
        # pingsock sockets: publish this socket's /proc/net/icmp row (backends/listing.py).
        from pingsock.backends import listing

        listing.track(self)

    # -- life cycle ------------------------------------------------------------------------

    def fileno(self) -> int:
        """Readable exactly while a read would not wait (see ``backends.raw_ready``)."""
        return self._readiness.fileno()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._release_ident()
            # pingsock sockets: withdraw this socket's row (backends/listing.py).
            from pingsock.backends import listing

            listing.untrack(self)
            self._readiness.close()
            self._options.close()
            self._raw.close()

    def __enter__(self) -> RawPingSocket:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"<pingsock.RawPingSocket fd={self.fileno()} family={self.family} "
            f"ident={self._state.ident}>"
        )

    # -- idents ----------------------------------------------------------------------------

    def _discard_queued(self) -> None:
        # Packets that raced in before the filter was attached (bounded: the queue is finite).
        for _ in range(10_000):
            try:
                self._raw.recv(1, socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                return

    def _take_ident(self, ident: int) -> None:
        self._state.ident = ident
        self._sync_exclusive()
        self._refilter()

    def _sync_exclusive(self) -> None:
        # C7: a holder with SO_REUSEADDR 0 refuses sharers, whenever it cleared the option;
        # other processes see that as the ident's exclusive mark (backends.reserve).
        want = bool(self._state.ident) and not self._state.reuseaddr
        if want and self._exclusive is None:
            self._exclusive = claim_exclusive(self._state.ident)
        elif not want and self._exclusive is not None:
            self._exclusive.release()
            self._exclusive = None

    def _refilter(self) -> None:
        """Attach the filter of the current state: this ident's replies and the errors the
        state acts on (``raw_recv.acted_on_errors()``); nothing without an ident."""
        state = self._state
        pmtudisc_dont = state.pmtudisc == linux.IP_PMTUDISC_DONT
        key = (state.ident, state.recverr, state.connected, pmtudisc_dont)
        if not state.ident:
            key = _NO_IDENT
        if key == self._filter_key:
            return
        if key == _NO_IDENT:
            program = bpf.drop_all_program()
        else:
            errors = acted_on_errors(self.family, *key[1:])
            ident_program = bpf.ident_program_v6 if self._v6 else bpf.ident_program_v4
            program = ident_program(state.ident, errors)
        bpf.attach_filter(self._raw, program)
        self._filter_key = key

    def _allocate(self) -> int:
        held = kernel_held_idents()

        def try_take(candidate: int) -> bool:
            if candidate in held:
                return False
            claim = claim_ident(candidate)
            if claim is None:
                return False
            self._claim = claim
            return True

        return _allocator.allocate(try_take)

    def _autobind(self) -> None:
        # inet_send_prepare()/inet_autobind(): the first send or connect picks an ident, before
        # any validation (C2); exhaustion is EAGAIN (C9).
        if self._state.ident:
            return
        try:
            self._take_ident(self._allocate())
        except IdentsExhausted:
            raise os_error(errno.EAGAIN) from None

    def _release_ident(self) -> None:
        if self._claim is not None:
            self._claim.release()
            self._claim = None
        self._state.ident = 0
        self._sync_exclusive()

    # -- addresses -------------------------------------------------------------------------

    def _address(self, host: str, port: int, flowinfo: int = 0) -> Address:
        return (host, port, flowinfo, 0) if self._v6 else (host, port)

    def getsockname(self) -> Address:
        local = self._state.local or ("::" if self._v6 else "0.0.0.0")
        return self._address(local, self._state.ident)

    def getpeername(self) -> Address:
        if self._state.peer is None or not self._state.peer[1]:
            raise os_error(errno.ENOTCONN)  # inet_getname(): no peer, or peer port 0
        # inet6_getname(): the connect() flow label is shown with IPV6_FLOWINFO_SEND.
        flowinfo = self._peer_flowinfo if self._options.sndflow else 0
        host, port = self._state.peer
        if self._v6:
            return (host, port, flowinfo, self._peer_scope)
        return (host, port)

    def bind(self, address: Address, /) -> None:
        host, port = str(address[0]), int(address[1])
        with self._lock:
            scope = int(address[3]) if self._v6 and len(address) > 3 else 0
            check_bind_address(self.family, host, self._options, scope)
            if self._state.ident:
                raise os_error(errno.EINVAL)  # C5: address checked first, then "already bound"
            if host not in ("", "0.0.0.0", "::"):
                # The raw socket filters on the destination itself once bound (raw_v4_match).
                if scope:
                    self._raw.bind((host, 0, 0, scope))  # a scoped address binds the device
                else:
                    self._raw.bind(self._address(host, 0))
                self._state.local = host
                self._state.addr_locked = True  # SOCK_BINDADDR_LOCK: disconnect keeps it
            if port == 0:
                # inet_bind() -> ping_get_port(): a full table is EADDRINUSE here (C9), while
                # the autobind of send/connect reports EAGAIN.
                try:
                    self._take_ident(self._allocate())
                except IdentsExhausted:
                    raise os_error(errno.EADDRINUSE) from None
                return
            # ping_get_port(): N is in use when held and either side has SO_REUSEADDR 0.
            # The kernel's own ping sockets are in /proc/net/icmp; their SO_REUSEADDR is not
            # known, so they refuse only a socket with SO_REUSEADDR 0.
            claim = claim_ident(port)
            if (claim is None or port in kernel_held_idents()) and not self._state.reuseaddr:
                if claim is not None:
                    claim.release()
                raise os_error(errno.EADDRINUSE)
            probe = claim_exclusive(port)
            if probe is None:  # a holder with SO_REUSEADDR 0
                if claim is not None:
                    claim.release()
                raise os_error(errno.EADDRINUSE)
            probe.release()
            self._claim = claim
            self._take_ident(port)
            self._state.bind_locked = True

    def connect(self, address: Address, /) -> None:
        with self._lock:
            self._autobind()  # C2: connect autobinds before its own checks
            if self._v6 and self._options.v6only and _v4_mapped(str(address[0])):
                raise os_error(errno.ENETUNREACH)  # ip6_datagram_connect(): a v4-mapped peer
            local, peer, scope = route_probe(self.family, address, self._state.local, self._options)
            self._pump()  # what arrived so far met an unconnected socket
            try:
                if not self._state.local:
                    self._state.local = local
                    self._bind_source(local)
                self._state.peer = (peer, int(address[1]))
                self._peer_flowinfo = self._options.peer_flowinfo(address)
                self._peer_scope = scope
                self._refilter()
            finally:
                self._update_readiness()

    def _bind_source(self, local: str) -> None:
        # ip4_datagram_connect() keeps the source it chose in inet_saddr: later sends leave
        # from it, also after a re-connect to a peer another route serves (D2). A raw socket
        # bound to it does the same (raw_bind() may be repeated); a scoped address stays
        # unbound (its scope would have to be given).
        if "%" in local:
            return
        try:
            self._raw.bind(self._address(local, 0))
        except OSError:
            return
        self._source_bound = True

    def disconnect(self) -> None:
        """``connect(AF_UNSPEC)``; idempotent (the CVE-2015-3636 lesson, spec C10)."""
        with self._lock:
            self._pump()  # what arrived so far met a connected socket, and stays queued
            try:
                if self._state.disconnect() and self._claim is not None:
                    self._claim.release()
                    self._claim = None
                self._sync_exclusive()
                if self._source_bound and not self._state.local:
                    self._source_bound = False
                    with contextlib.suppress(OSError):
                        self._raw.bind(self._address("::" if self._v6 else "0.0.0.0", 0))
                self._refilter()
            finally:
                self._update_readiness()

    # -- options ---------------------------------------------------------------------------

    def setsockopt(self, level: int, option: int, value: int | bytes, /) -> None:
        with self._lock:
            if (level, option) in self._options.state_options:
                # The kernel acted on what arrived under the old value (J8: no retroactive
                # queueing); the filter then follows the new one.
                self._pump()
            try:
                self._options.set(level, option, value)
                self._sync_exclusive()
                self._refilter()
            finally:
                self._update_readiness()

    @overload
    def getsockopt(self, level: int, option: int, /) -> int: ...
    @overload
    def getsockopt(self, level: int, option: int, buflen: int, /) -> bytes: ...

    def getsockopt(self, level: int, option: int, buflen: int = 0, /) -> int | bytes:
        with self._lock:
            if (level, option) == (linux.SOL_SOCKET, linux.SO_ERROR):
                try:
                    self._pump()
                    value = self._state.take_pending_error()
                finally:
                    self._update_readiness()
                return value.to_bytes(4, "little", signed=True)[:buflen] if buflen else value
            return self._options.get(level, option, buflen)

    # -- timeouts --------------------------------------------------------------------------

    def settimeout(self, value: float | None, /) -> None:
        if value is not None and value < 0:
            raise ValueError("Timeout value out of range")
        self._timeout = value

    def gettimeout(self) -> float | None:
        return self._timeout

    def setblocking(self, flag: bool, /) -> None:
        self._timeout = None if flag else 0.0

    def getblocking(self) -> bool:
        return self._timeout != 0.0

    # -- sending ---------------------------------------------------------------------------

    def send(self, data: bytes, flags: int = 0, /) -> int:
        return self.sendmsg([data], (), flags, None)

    @overload
    def sendto(self, data: bytes, address: Address, /) -> int: ...
    @overload
    def sendto(self, data: bytes, flags: int, address: Address, /) -> int: ...

    def sendto(self, data: bytes, flags_or_address: Any, address: Any = None, /) -> int:
        if address is None:
            return self.sendmsg([data], (), 0, flags_or_address)
        return self.sendmsg([data], (), int(flags_or_address), address)

    def sendmsg(
        self,
        buffers: Iterable[bytes],
        ancdata: Iterable[tuple[int, int, bytes]] = (),
        flags: int = 0,
        address: Address | None = None,
        /,
    ) -> int:
        message = b"".join(bytes(b) for b in buffers)
        with self._lock:
            try:
                self._send(message, ancdata, flags, address)
            finally:
                self._update_readiness()
        return len(message)

    def _send(
        self,
        message: bytes,
        ancdata: Iterable[tuple[int, int, bytes]],
        flags: int,
        address: Address | None,
    ) -> None:
        self._autobind()
        destination_family = None if address is None else self.family
        check_send(
            self.family,
            message,
            flags,
            address_family=destination_family,
            connected=self._state.connected,
        )
        if self._v6:
            self._check_v6_destination(address)
        if address is None:
            assert self._state.peer is not None
            address = self._address(self._state.peer[0], 0, self._peer_flowinfo)
        else:
            address = (address[0], 0, *address[2:])
        wire = rewrite_echo(self.family, message, self._state.ident)
        self._pump()
        pending = self._state.take_pending_error()
        if pending:
            raise os_error(pending)  # J5/J6: the datagram is dropped
        anc = list(ancdata)
        if self._v6:
            anc = self._without_pktinfo(anc, address)
        flags &= ~linux.MSG_DONTWAIT
        # E5: ping_v4_sendmsg()/ping_v6_sendmsg() push every datagram (MSG_MORE does not cork,
        # the raw socket's would), and the v6 one never looks at MSG_PROBE (rawv6 does).
        flags &= ~_MSG_MORE
        if self._v6:
            flags &= ~_MSG_PROBE

        def send() -> None:
            self._raw.sendmsg([wire], anc, flags, address)

        try:
            send()
        except OSError as exc:
            # F2/M12: with RECVERR the kernel also queues a LOCAL error (ee_info = MTU).
            if exc.errno != errno.EMSGSIZE or not self._state.recverr:
                raise
            if not queue_local_error(self._raw, self._options, self._state, send, message):
                raise

    def _without_pktinfo(self, anc: AncData, address: Address) -> AncData:
        # M9: ping_v6_sendmsg() validates an IPV6_PKTINFO cmsg (ip6_datagram_send_ctl(): a
        # non-local source is EINVAL) and then builds its flow afresh, from the socket's own
        # source; extension headers are validated too (EPERM without the privilege) and then
        # dropped (ipc6.opt = NULL). A UDP socket runs the same validation; MSG_PROBE keeps
        # it from sending.
        info = [c for c in anc if c[0] == linux.SOL_IPV6 and c[1] in _VALIDATED_AND_DROPPED]
        if not info:
            return anc
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe:
            apply_options(probe, self._options.route, ROUTE_OPTIONS)
            try:
                scope = int(address[3]) if len(address) > 3 else 0
                if not scope and self._state.peer and address[0] == self._state.peer[0]:
                    scope = self._peer_scope
                flowinfo = int(address[2]) if len(address) > 2 else 0
                destination = (address[0], PROBE_PORT, flowinfo, scope)
                probe.sendmsg([b""], info, _MSG_PROBE, destination)
            except OSError as exc:
                if exc.errno in (errno.EINVAL, errno.EPERM):
                    raise
        return [c for c in anc if c not in info]

    def _check_v6_destination(self, address: Address | None) -> None:
        # ping_v6_sendmsg() (M5, M1): EINVAL for a v4-mapped destination, for one that needs a
        # scope when no interface is known, and for a scope other than the bound device.
        bound = self._raw.getsockopt(linux.SOL_SOCKET, _SO_BINDTOIFINDEX)
        if address is None:
            assert self._state.peer is not None
            host, oif = self._state.peer[0], bound or self._peer_scope
        else:
            host = strip_scope(str(address[0]))
            oif = 0
        try:
            raw = socket.inet_pton(socket.AF_INET6, host)
        except OSError:
            return  # a name: the raw socket's own resolution and errors
        scoped = needs_scope_id(raw)
        if address is not None and scoped and len(address) > 3:
            oif = int(address[3])
        if not oif:
            oif = bound
        if not oif:
            option = _IPV6_MULTICAST_IF if raw[0] == 0xFF else _IPV6_UNICAST_IF
            oif = self._raw.getsockopt(linux.SOL_IPV6, option)
        if (
            (scoped and not oif)
            or raw[:12] == _V4_MAPPED_PREFIX
            or (oif and bound and oif != bound)
        ):
            raise os_error(errno.EINVAL)

    # -- receiving -------------------------------------------------------------------------

    def recv(self, bufsize: int, flags: int = 0, /) -> bytes:
        return self.recvmsg(bufsize, 0, flags)[0]

    def recvfrom(self, bufsize: int, flags: int = 0, /) -> tuple[bytes, Address]:
        data, _anc, _flags, address = self.recvmsg(bufsize, 0, flags)
        return data, address

    def recvmsg(
        self, bufsize: int, ancbufsize: int = 0, flags: int = 0, /
    ) -> tuple[bytes, AncData, int, Address]:
        if bufsize < 0:
            raise ValueError("negative buffer size in recvmsg()")
        if flags & linux.MSG_OOB:
            if self._timeout:
                # With a timeout the stdlib waits for readability before it calls recv().
                self._until_ready(self._readable, True)
            raise os_error(errno.EOPNOTSUPP)  # G4
        if flags & linux.MSG_ERRQUEUE:
            # G4: an empty error queue is EAGAIN at once; the kernel never waits for one.
            return self._until_ready(lambda: self._read_error(bufsize, ancbufsize), False)
        blocking = not flags & linux.MSG_DONTWAIT
        return self._until_ready(lambda: self._read_data(bufsize, ancbufsize, flags), blocking)

    def _until_ready(self, attempt: Callable[[], _T | None], blocking: bool) -> _T:
        """Repeat ``attempt`` (None: nothing to read) as the stdlib socket repeats a read.

        Without a timeout a read waits only if ``blocking``. With one, ``sock_call_ex()`` waits
        for readiness before each try whatever the flags, and an ``EAGAIN`` becomes "timed out"
        once the time is up; a timeout of 0 is ``EAGAIN`` at once.
        """
        timeout = self._timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            result = attempt()
            if result is not None:
                return result
            if timeout == 0.0 or (timeout is None and not blocking):
                raise os_error(errno.EAGAIN)
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                raise TimeoutError("timed out")
            with self._lock:
                if self._closed:
                    raise os_error(errno.EBADF)  # closed by another thread meanwhile
                # New arrivals, or (when the queues held nothing) whatever another thread
                # reads ahead; not the eventfd while it is already readable (that would spin).
                fds = [self._raw.fileno()]
                if not self._readiness.pending:
                    fds.append(self._readiness.wake_fd)
            wait_readable(fds, deadline, now)

    def _read_data(
        self, bufsize: int, ancbufsize: int, flags: int
    ) -> tuple[bytes, AncData, int, Address] | None:
        with self._lock:
            try:
                self._pump()  # the kernel processed every arrival as it came (G5)
                pending = self._state.take_pending_error()
                if pending:
                    raise os_error(pending)  # G5: a pending error before queued data
                if not self._replies:
                    return None
                reply = self._replies[0] if flags & linux.MSG_PEEK else self._replies.popleft()
                return truncate(reply.message, bufsize, reply.ancillary, ancbufsize, reply.source)
            finally:
                self._update_readiness()

    def _read_error(
        self, bufsize: int, ancbufsize: int
    ) -> tuple[bytes, AncData, int, Address] | None:
        with self._lock:
            try:
                self._pump()
                entry = self._state.pop_error_entry()
                if entry is None:
                    return None
                return error_queue_read(entry, self._options, bufsize, ancbufsize)
            finally:
                self._update_readiness()

    def _readable(self) -> bool | None:
        with self._lock:
            try:
                self._pump()
            finally:
                self._update_readiness()
            state = self._state
            return True if self._replies or state.errors or state.sk_err else None

    def _update_readiness(self) -> None:
        """Keep the eventfd of ``fileno()`` readable exactly while the Python queues hold a
        reply, an error-queue entry or a pending error (G7)."""
        if self._closed:
            return
        state = self._state
        self._readiness.update(bool(self._replies or state.errors or state.sk_err))

    def _pump(self) -> None:
        """Read everything queued on the raw socket, so pending errors are known (the kernel
        would have processed them on arrival)."""
        for _ in range(_MAX_QUEUED_REPLIES):
            if not self._read_one():
                return

    def _read_one(self) -> bool:
        """Read and classify one packet; False when the raw socket had nothing."""
        try:
            packet, anc, _flags, source = self._raw.recvmsg(
                _RECV_SIZE, _INTERNAL_ANC, socket.MSG_DONTWAIT
            )
        except (BlockingIOError, InterruptedError):
            return False
        result = translate(
            packet, anc, source, ident=self._state.ident, local=self._state.local,
            options=self._options,
        )  # fmt: skip
        if isinstance(result, Reply):
            if len(self._replies) < _MAX_QUEUED_REPLIES:
                self._replies.append(result)
        elif result is not None:
            error = result
            self._state.on_icmp_error(
                error.arrival, ancillary=error.ancillary, flowinfo=error.flowinfo,
                scope_id=error.scope_id,
            )  # fmt: skip
        return True
