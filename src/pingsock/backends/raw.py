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
  ``EMSGSIZE`` entry is read back from the kernel itself, and so are transmit stamps
  (SO_TIMESTAMPING with a TX flag): the kernel queues them on the raw socket's error queue in
  the ping socket's format, and they move to the emulated queue in arrival order.

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

A send that finds an error pending routes the datagram and checks its size first, as the
kernel does (E1 steps 8-11; ``raw_send.check_before_pending_error``).
"""

from __future__ import annotations

import contextlib
import errno
import socket
import threading
from collections import deque
from collections.abc import Iterable
from typing import Any, overload

from pingsock import linux
from pingsock.backends import bpf
from pingsock.backends.base import Address, AncData
from pingsock.backends.kernel import protocol_for
from pingsock.backends.raw_idents import NO_IDENT, IdentHolder, claim_port
from pingsock.backends.raw_kernel import check_bind_address, route_probe
from pingsock.backends.raw_options import RawOptions
from pingsock.backends.raw_queues import ReceiveQueues
from pingsock.backends.raw_ready import Readiness, internal_socket
from pingsock.backends.raw_recv import Reply
from pingsock.backends.raw_send import (
    check_before_pending_error,
    destination,
    transmit,
    v4_mapped,
)
from pingsock.backends.reserve import IdentClaim
from pingsock.emulation.idents import IdentsExhausted
from pingsock.emulation.oserror import os_error
from pingsock.emulation.state import PingSocketState
from pingsock.emulation.validate import rewrite_echo

__all__ = ["RawPingSocket"]


class RawPingSocket(IdentHolder, ReceiveQueues):
    """A ping socket served by a raw socket; see the module docstring."""

    backend = "raw"

    def __init__(self, family: int = socket.AF_INET) -> None:
        self.family = family
        self.type = socket.SOCK_DGRAM
        self.proto = protocol_for(family)
        self._raw = internal_socket(family, socket.SOCK_RAW, self.proto)
        self._raw.setblocking(False)
        bpf.attach_filter(self._raw, bpf.drop_all_program())
        self._filter_key = NO_IDENT  # what the attached filter was built for
        self._discard_queued()
        self._readiness = Readiness(self._raw.fileno())  # fileno(): see backends.raw_ready
        self._v6 = family == socket.AF_INET6
        self._state = PingSocketState(family)
        self._options = RawOptions(self._raw, family, self._state)
        self.last_send_ns = 0  # base.PingSocket.last_send_ns
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
            self._claim = claim_port(port, self._state.reuseaddr)
            self._take_ident(port)
            self._state.bind_locked = True

    def connect(self, address: Address, /) -> None:
        with self._lock:
            self._autobind()  # C2: connect autobinds before its own checks
            if self._v6 and self._options.v6only and v4_mapped(str(address[0])):
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
    def sendto(self, data: bytes | bytearray, address: Address, /) -> int: ...
    @overload
    def sendto(self, data: bytes | bytearray, flags: int, address: Address, /) -> int: ...

    def sendto(self, data: bytes | bytearray, flags_or_address: Any, address: Any = None, /) -> int:
        if address is None:
            return self.sendmsg([data], (), 0, flags_or_address)
        return self.sendmsg([data], (), int(flags_or_address), address)

    def sendmsg(
        self,
        buffers: Iterable[bytes | bytearray],
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
        ancdata = list(ancdata)
        peer = (self._peer_flowinfo, self._peer_scope)
        to = destination(self._raw, self._state, message, flags, address=address, peer=peer)
        wire = rewrite_echo(self.family, message, self._state.ident)
        self._pump()
        too_big = False
        if self._state.sk_err:
            too_big = check_before_pending_error(
                self._raw, self._options, self._state, wire, ancdata=ancdata, address=to
            )
        pending = 0 if too_big else self._state.take_pending_error()
        if pending:
            raise os_error(pending)  # J5/J6: the datagram is dropped
        self.last_send_ns = transmit(
            self._raw, self._options, self._state, wire, message=message, ancdata=ancdata,
            flags=flags, address=to, peer_scope=self._peer_scope,
        )  # fmt: skip

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
