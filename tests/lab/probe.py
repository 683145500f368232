"""Small raw-socket ICMP helpers for the lab's own tests (and anyone who needs an oracle).

:class:`RawPinger` opens raw sockets inside a namespace (as root), sends echo requests with a
chosen ident, and collects every ICMP message about that ident: echo replies (by ident) and
errors (by the ident of the quoted request). Checksums are checked here, not by the kernel, so
corrupted replies are visible. Everything is bounded by the caller's timeout.
"""

from __future__ import annotations

import os
import select
import socket
import struct
import time
from dataclasses import dataclass
from types import TracebackType

from ._responder_main import checksum
from .netns import Netns

__all__ = ["IcmpMessage", "RawPinger", "checksum", "echo_request", "ping_once"]

_SOL_RAW = 255
_IPV6_CHECKSUM = 7
_IPV6_RECVPKTINFO = 49
_IPV6_PKTINFO = 50
_ECHO = {4: 8, 6: 128}
_REPLY = {4: 0, 6: 129}
_ERRORS = {4: frozenset({3, 4, 5, 11, 12}), 6: frozenset({1, 2, 3, 4})}
_V6_IP_HEADER = 40


def echo_request(ident: int, seq: int, payload: bytes = b"", *, family: int = 4) -> bytes:
    """An echo request; the checksum is filled for v4 (the kernel fills it for v6 raw)."""
    msg = struct.pack("!BBHHH", _ECHO[family], 0, 0, ident, seq) + payload
    if family == 4:
        msg = msg[:2] + struct.pack("!H", checksum(msg)) + msg[4:]
    return msg


@dataclass(frozen=True, slots=True)
class IcmpMessage:
    """An ICMP message received about our ident."""

    family: int
    src: str
    type: int
    code: int
    ident: int  # of the reply, or of the request quoted in an error
    seq: int
    data: bytes  # the whole ICMP message
    checksum_ok: bool
    t: float  # time.monotonic() at receipt

    @property
    def is_reply(self) -> bool:
        return self.type == _REPLY[self.family]

    @property
    def payload(self) -> bytes:
        return self.data[8:]


class RawPinger:
    """Raw echo requests from ``netns`` to ``dst`` with one ident (root only)."""

    def __init__(self, netns: Netns, dst: str, *, ident: int | None = None) -> None:
        self.dst = dst
        self.family = 6 if ":" in dst else 4
        self.ident = ident if ident is not None else int.from_bytes(os.urandom(2), "big") or 1
        if self.family == 4:
            self.tx = netns.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
            self.rx = self.tx
        else:
            self.tx = netns.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
            # A second socket that does not let the kernel verify (and drop) bad checksums:
            # it checks them itself with the destination from IPV6_PKTINFO.
            self.rx = netns.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
            self.rx.setsockopt(_SOL_RAW, _IPV6_CHECKSUM, -1)
            self.rx.setsockopt(socket.IPPROTO_IPV6, _IPV6_RECVPKTINFO, 1)
        self.rx.setblocking(False)

    def __enter__(self) -> RawPinger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self.tx.close()
        if self.rx is not self.tx:
            self.rx.close()

    def send(self, seq: int, payload: bytes = b"", *, ttl: int | None = None) -> None:
        if ttl is not None:
            if self.family == 4:
                self.tx.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)
            else:
                self.tx.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, ttl)
        self.tx.sendto(echo_request(self.ident, seq, payload, family=self.family), (self.dst, 0))

    def receive(self, *, timeout: float, count: int | None = None) -> list[IcmpMessage]:
        """Messages about our ident until ``count`` arrived or ``timeout`` seconds passed."""
        deadline = time.monotonic() + timeout
        got: list[IcmpMessage] = []
        while count is None or len(got) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            ready, _, _ = select.select([self.rx], [], [], left)
            if not ready:
                break
            msg = self._read()
            if msg is not None:
                got.append(msg)
        return got

    def _read(self) -> IcmpMessage | None:
        now = time.monotonic()
        if self.family == 4:
            pkt, (src, _) = self.rx.recvfrom(65535)
            data = pkt[(pkt[0] & 0x0F) * 4 :]
            ok = checksum(data) == 0
        else:
            data, anc, _, addr = self.rx.recvmsg(65535, 128)
            src = addr[0]
            dst = next(
                (
                    socket.inet_ntop(socket.AF_INET6, d[:16])
                    for lv, k, d in anc
                    if k == _IPV6_PKTINFO
                ),
                "::",
            )
            pseudo = (
                socket.inet_pton(socket.AF_INET6, src.split("%")[0])
                + socket.inet_pton(socket.AF_INET6, dst)
                + struct.pack("!I3xB", len(data), 58)
            )
            ok = checksum(pseudo + data) == 0
        if len(data) < 8:
            return None
        mtype, code = data[0], data[1]
        if mtype == _REPLY[self.family]:
            ident, seq = struct.unpack("!HH", data[4:8])
        elif mtype in _ERRORS[self.family]:
            inner = data[8:]  # the quoted IP header starts after the 8-byte ICMP header
            hlen = (inner[0] & 0x0F) * 4 if self.family == 4 and inner else _V6_IP_HEADER
            echo = inner[hlen:]
            if len(echo) < 8 or echo[0] != _ECHO[self.family]:
                return None
            ident, seq = struct.unpack("!HH", echo[4:8])
        else:
            return None
        if ident != self.ident:
            return None
        return IcmpMessage(self.family, src, mtype, code, ident, seq, data, ok, now)


def ping_once(
    netns: Netns,
    dst: str,
    *,
    seq: int = 1,
    payload: bytes = b"pingsock-lab",
    ttl: int | None = None,
    timeout: float = 1.0,
) -> IcmpMessage | None:
    """One echo request from ``netns``; the first reply or error about it, or None."""
    with RawPinger(netns, dst) as pinger:
        pinger.send(seq, payload, ttl=ttl)
        got = pinger.receive(timeout=timeout, count=1)
    return got[0] if got else None
