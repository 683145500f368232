"""The ping socket emulated on a raw ICMP socket, for processes with CAP_NET_RAW.

The pure core (``pingsock.emulation``) decides; this module moves bytes:

* a raw ``SOCK_RAW``/``IPPROTO_ICMP(V6)`` socket carries the packets, with a kernel BPF
  filter (``backends.bpf``) so it wakes only for this socket's ident;
* idents are claimed across processes (``backends.reserve``) and allocated like
  ``ping_get_port()``;
* a throw-away UDP socket answers the routing questions of ``connect()`` exactly as the
  kernel's ``ip4_datagram_connect()`` does for the ping socket (same function, same errnos);
* ICMP errors arrive as packets and are turned into IP_RECVERR error-queue entries and a
  pending ``sk_err`` by the core's rules.

Known gaps (kernel-fidelity work of a later issue): a reply already pulled from the raw socket
into the internal queue does not make ``fileno()`` readable; the pending-error check of a
send runs before, not after, the route check (E1 steps 8-11); subnet-broadcast bind
addresses are not refused.
"""

from __future__ import annotations

import errno
import random
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable
from typing import Any, overload

from pingsock import linux
from pingsock.backends import bpf
from pingsock.backends.base import Address, AncData
from pingsock.backends.kernel import protocol_for
from pingsock.backends.reserve import IdentClaim, claim_ident, kernel_held_idents
from pingsock.emulation.demux import Delivery, classify_icmp6, classify_ipv4
from pingsock.emulation.idents import IdentAllocator, IdentsExhausted
from pingsock.emulation.oserror import os_error
from pingsock.emulation.state import ErrorEntry, PingSocketState
from pingsock.emulation.validate import check_send, rewrite_echo

__all__ = ["RawPingSocket"]

_RECV_SIZE = 65535 + 60  # the largest IPv4 datagram plus slack
_INTERNAL_ANC = 1024
_MAX_QUEUED_REPLIES = 4096

# One allocator per process and family space: the kernel's rover is per namespace and shared
# by v4 and v6 (C3); a process rarely spans namespaces, and claims are per namespace anyway.
_allocator = IdentAllocator(random.randrange(1, 0x10000))

# Options the emulation answers itself rather than passing to the raw socket.
_REFUSED_SET = {
    (linux.SOL_IP, linux.IP_HDRINCL): errno.ENOPROTOOPT,  # L9
    (linux.SOL_RAW, linux.ICMP_FILTER): errno.ENOPROTOOPT,  # L9
    (linux.SOL_IPV6, linux.IPV6_CHECKSUM): errno.ENOPROTOOPT,  # M8
    (linux.SOL_ICMPV6, linux.ICMPV6_FILTER): errno.ENOPROTOOPT,  # M8
    (linux.SOL_SOCKET, linux.SO_ATTACH_FILTER): errno.EINVAL,  # our filter must stay
    (linux.SOL_SOCKET, linux.SO_DETACH_FILTER): errno.EINVAL,
}
_REFUSED_GET = {
    (linux.SOL_RAW, linux.ICMP_FILTER): errno.EOPNOTSUPP,  # L9
    (linux.SOL_IPV6, linux.IPV6_CHECKSUM): errno.ENOPROTOOPT,
    (linux.SOL_ICMPV6, linux.ICMPV6_FILTER): errno.ENOPROTOOPT,
}
# Options that also shape routing, so the connect() probe socket must carry them too.
_ROUTE_OPTIONS = {
    (linux.SOL_SOCKET, linux.SO_BROADCAST),
    (linux.SOL_SOCKET, linux.SO_BINDTODEVICE),
    (linux.SOL_SOCKET, linux.SO_DONTROUTE),
    (linux.SOL_IP, linux.IP_FREEBIND),
}


class RawPingSocket:
    """A ping socket served by a raw socket; see the module docstring."""

    backend = "raw"

    def __init__(self, family: int = socket.AF_INET) -> None:
        self.family = family
        self.type = socket.SOCK_DGRAM
        self.proto = protocol_for(family)
        self._raw = socket.socket(family, socket.SOCK_RAW | socket.SOCK_CLOEXEC, self.proto)
        self._raw.setblocking(False)
        bpf.attach_filter(self._raw, bpf.drop_all_program())
        self._discard_queued()
        self._v6 = family == socket.AF_INET6
        self._level = linux.SOL_IPV6 if self._v6 else linux.SOL_IP
        if self._v6:
            # The destination address of each reply is needed to honour a bound address (H1).
            self._raw.setsockopt(linux.SOL_IPV6, linux.IPV6_RECVPKTINFO, 1)
        self._state = PingSocketState(family)
        self._claim: IdentClaim | None = None
        self._replies: deque[tuple[bytes, AncData, Address]] = deque()
        self._route_options: dict[tuple[int, int], int | bytes] = {}
        self._user_pktinfo = False
        self._timeout: float | None = socket.getdefaulttimeout()
        self._lock = threading.RLock()
        self._closed = False

    # -- life cycle ------------------------------------------------------------------------

    def fileno(self) -> int:
        return self._raw.fileno()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._release_ident()
            self._raw.close()

    def __enter__(self) -> RawPingSocket:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"<pingsock.RawPingSocket fd={self._raw.fileno()} family={self.family} "
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
        program = bpf.ident_program_v6(ident) if self._v6 else bpf.ident_program_v4(ident)
        bpf.attach_filter(self._raw, program)

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

    # -- addresses -------------------------------------------------------------------------

    def _address(self, host: str, port: int) -> Address:
        return (host, port, 0, 0) if self._v6 else (host, port)

    def getsockname(self) -> Address:
        local = self._state.local or ("::" if self._v6 else "0.0.0.0")
        return self._address(local, self._state.ident)

    def getpeername(self) -> Address:
        if self._state.peer is None:
            raise os_error(errno.ENOTCONN)
        return self._address(*self._state.peer)

    def bind(self, address: Address, /) -> None:
        host, port = str(address[0]), int(address[1])
        with self._lock:
            self._check_bind_address(host)
            if self._state.ident:
                raise os_error(errno.EINVAL)  # C5: address checked first, then "already bound"
            if host not in ("", "0.0.0.0", "::"):
                # The raw socket filters on the destination itself once bound (raw_v4_match).
                self._raw.bind(self._address(host, 0))
                self._state.local = host
            if port == 0:
                self._autobind()
                return
            claim = claim_ident(port)
            if claim is None and not self._state.reuseaddr:
                raise os_error(errno.EADDRINUSE)
            self._claim = claim
            self._take_ident(port)
            self._state.bind_locked = True

    def _check_bind_address(self, host: str) -> None:
        if host in ("", "0.0.0.0", "::"):
            return
        try:
            packed = socket.inet_pton(self.family, host.split("%", 1)[0])
        except OSError:
            raise os_error(errno.EINVAL) from None
        # C6 / M6: multicast and limited broadcast are never bindable on a ping socket, while a
        # raw socket would accept them.
        if self._v6:
            if packed[0] == 0xFF:
                raise os_error(errno.EINVAL)
        elif packed[0] >= 224 or packed == b"\xff\xff\xff\xff":
            raise os_error(errno.EADDRNOTAVAIL)
        probe = socket.socket(self.family, socket.SOCK_DGRAM)
        try:
            for (level, option), value in self._route_options.items():
                if option != linux.SO_BROADCAST:
                    probe.setsockopt(level, option, value)
            probe.bind(self._address(host, 0))
        finally:
            probe.close()

    def connect(self, address: Address, /) -> None:
        with self._lock:
            self._autobind()  # C2: connect autobinds before its own checks
            probe = socket.socket(self.family, socket.SOCK_DGRAM)
            try:
                for (level, option), value in self._route_options.items():
                    probe.setsockopt(level, option, value)
                if self._state.local:
                    probe.bind(self._address(self._state.local, 0))
                # ip4_datagram_connect() is what the ping socket runs too: same route lookup,
                # same errnos (D2: ENETUNREACH, EHOSTUNREACH, EACCES, EINVAL).
                probe.connect(address)
                local = probe.getsockname()[0]
                peer = probe.getpeername()
            finally:
                probe.close()
            if not self._state.local:
                self._state.local = local
            self._state.peer = (str(peer[0]), int(address[1]))

    def disconnect(self) -> None:
        """``connect(AF_UNSPEC)``; idempotent (the CVE-2015-3636 lesson, spec C10)."""
        with self._lock:
            if self._state.disconnect():
                if self._claim is not None:
                    self._claim.release()
                    self._claim = None
                bpf.attach_filter(self._raw, bpf.drop_all_program())

    # -- options ---------------------------------------------------------------------------

    def setsockopt(self, level: int, option: int, value: int | bytes, /) -> None:
        key = (level, option)
        if key in _REFUSED_SET:
            raise os_error(_REFUSED_SET[key])
        if key in ((linux.SOL_IP, linux.IP_RECVERR), (linux.SOL_IPV6, linux.IPV6_RECVERR)):
            self._state.set_recverr(_as_int(value) != 0)
            return
        if key == (linux.SOL_SOCKET, linux.SO_REUSEADDR):
            self._state.reuseaddr = _as_int(value) != 0
        if key == (linux.SOL_IPV6, linux.IPV6_RECVPKTINFO):
            self._user_pktinfo = _as_int(value) != 0
            return  # always on internally; only whether the cmsg is shown changes
        self._raw.setsockopt(level, option, value)
        if key == (linux.SOL_IP, linux.IP_MTU_DISCOVER):
            self._state.pmtudisc = _as_int(value)
        if key in _ROUTE_OPTIONS:
            self._route_options[key] = value

    @overload
    def getsockopt(self, level: int, option: int, /) -> int: ...
    @overload
    def getsockopt(self, level: int, option: int, buflen: int, /) -> bytes: ...

    def getsockopt(self, level: int, option: int, buflen: int = 0, /) -> int | bytes:
        key = (level, option)
        if key in _REFUSED_GET:
            raise os_error(_REFUSED_GET[key])
        value: int | None = None
        if key == (linux.SOL_SOCKET, linux.SO_ERROR):
            self._pump()
            value = self._state.take_pending_error()
        elif key == (linux.SOL_SOCKET, linux.SO_TYPE):
            value = socket.SOCK_DGRAM
        elif key == (linux.SOL_SOCKET, linux.SO_REUSEADDR):
            value = int(self._state.reuseaddr)
        elif key in ((linux.SOL_IP, linux.IP_RECVERR), (linux.SOL_IPV6, linux.IPV6_RECVERR)):
            value = int(self._state.recverr)
        elif key == (linux.SOL_IPV6, linux.IPV6_RECVPKTINFO):
            value = int(self._user_pktinfo)
        elif key in ((linux.SOL_IP, linux.IP_MTU), (linux.SOL_IPV6, linux.IPV6_MTU)):
            return self._path_mtu(buflen)
        if value is not None:
            return value.to_bytes(4, "little", signed=True)[:buflen] if buflen else value
        if buflen:
            return self._raw.getsockopt(level, option, buflen)
        return self._raw.getsockopt(level, option)

    def _path_mtu(self, buflen: int) -> int | bytes:
        if self._state.peer is None:
            raise os_error(errno.ENOTCONN)  # C1, K1
        probe = socket.socket(self.family, socket.SOCK_DGRAM)
        try:
            probe.connect(self._address(*self._state.peer))
            option = linux.IPV6_MTU if self._v6 else linux.IP_MTU
            if buflen:
                return probe.getsockopt(self._level, option, buflen)
            return probe.getsockopt(self._level, option)
        finally:
            probe.close()

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
            self._autobind()
            destination_family = None if address is None else self.family
            check_send(
                self.family,
                message,
                flags,
                address_family=destination_family,
                connected=self._state.connected,
            )
            if address is None:
                assert self._state.peer is not None
                address = self._address(self._state.peer[0], 0)
            else:
                address = (address[0], 0, *address[2:])
            wire = rewrite_echo(self.family, message, self._state.ident)
            self._pump()
            pending = self._state.take_pending_error()
            if pending:
                raise os_error(pending)  # J5/J6: the datagram is dropped
            self._raw.sendmsg([wire], list(ancdata), flags & ~linux.MSG_DONTWAIT, address)
        return len(message)

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
            raise os_error(errno.EOPNOTSUPP)  # G4
        if flags & linux.MSG_ERRQUEUE:
            return self._recv_error(bufsize, ancbufsize)
        deadline = None if not self._timeout else time.monotonic() + self._timeout
        nonblocking = self._timeout == 0.0 or bool(flags & linux.MSG_DONTWAIT)
        while True:
            with self._lock:
                pending = self._state.take_pending_error()
                if pending:
                    raise os_error(pending)  # G5: a pending error before queued data
                if not self._replies:
                    self._read_one()
                    pending = self._state.take_pending_error()
                    if pending:
                        raise os_error(pending)
                if self._replies:
                    if flags & linux.MSG_PEEK:
                        message, anc, source = self._replies[0]
                    else:
                        message, anc, source = self._replies.popleft()
                    return _truncate(message, bufsize, anc, ancbufsize, source)
            if nonblocking:
                raise os_error(errno.EAGAIN)
            self._wait_readable(deadline)

    def _wait_readable(self, deadline: float | None) -> None:
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            raise TimeoutError("timed out")
        ready, _, _ = select.select([self._raw], [], [], remaining)
        if not ready and deadline is not None and time.monotonic() >= deadline:
            raise TimeoutError("timed out")

    def _recv_error(self, bufsize: int, ancbufsize: int) -> tuple[bytes, AncData, int, Address]:
        with self._lock:
            self._pump()
            entry = self._state.pop_error_entry()
            if entry is None:
                raise os_error(errno.EAGAIN)  # G4: an empty error queue
            return self._error_message(entry, bufsize, ancbufsize)

    def _error_message(
        self, entry: ErrorEntry, bufsize: int, ancbufsize: int
    ) -> tuple[bytes, AncData, int, Address]:
        anc: AncData = []
        option = linux.IPV6_RECVERR if self._v6 else linux.IP_RECVERR
        anc.append((self._level, option, entry.error.pack(self.family)))
        data, anc, flags, _ = _truncate(entry.quoted, bufsize, anc, ancbufsize, None)
        return data, anc, flags | linux.MSG_ERRQUEUE, self._address(entry.destination, 0)

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
        if self._v6:
            destination = _pktinfo_destination(anc)
            verdict = classify_icmp6(
                packet,
                _strip_scope(source[0]),
                self._state.ident,
                destination,
                _packed(self.family, self._state.local),
            )
            if not self._user_pktinfo:
                anc = [c for c in anc if c[:2] != (linux.SOL_IPV6, linux.IPV6_PKTINFO)]
        else:
            verdict = classify_ipv4(
                packet, self._state.ident, _packed(self.family, self._state.local)
            )
        if verdict is None:
            return True
        if isinstance(verdict, Delivery):
            if len(self._replies) < _MAX_QUEUED_REPLIES:
                self._replies.append((verdict.message, anc, self._reply_source(verdict, source)))
            return True
        self._state.on_icmp_error(verdict)
        return True

    def _reply_source(self, delivery: Delivery, raw_source: Address) -> Address:
        if self._v6:
            # G2: (src, 0, flowinfo 0, scope_id); the scope is kept for link-local sources.
            return (delivery.source, 0, 0, int(raw_source[3]))
        return (delivery.source, 0)


def _truncate(
    message: bytes, bufsize: int, anc: AncData, ancbufsize: int, source: Address
) -> tuple[bytes, AncData, int, Address]:
    flags = 0
    if len(message) > bufsize:
        # G3: copy bufsize bytes, set MSG_TRUNC, return the truncated length.
        message = message[:bufsize]
        flags |= linux.MSG_TRUNC
    kept: AncData = []
    used = 0
    for level, kind, data in anc:
        space = socket.CMSG_SPACE(len(data))
        if used + socket.CMSG_LEN(len(data)) > ancbufsize:
            flags |= linux.MSG_CTRUNC
            break
        kept.append((level, kind, data))
        used += space
    return message, kept, flags, source


def _pktinfo_destination(anc: AncData) -> bytes | None:
    for level, kind, data in anc:
        if level == linux.SOL_IPV6 and kind == linux.IPV6_PKTINFO and len(data) >= 16:
            return data[:16]
    return None


def _strip_scope(host: str) -> str:
    return host.split("%", 1)[0]


def _packed(family: int, host: str | None) -> bytes | None:
    if not host:
        return None
    return socket.inet_pton(family, _strip_scope(host))


def _as_int(value: int | bytes) -> int:
    if isinstance(value, int):
        return value
    return int.from_bytes(value[:4].ljust(4, b"\0"), "little", signed=True) if value else 0
