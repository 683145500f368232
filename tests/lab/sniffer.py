"""Capture IP packets inside a namespace on one interface (AF_PACKET, root only).

The socket is opened inside the namespace and bound to the interface when the :class:`Sniffer`
is created, so everything sent after that is queued by the kernel (4 MiB buffer) until
:meth:`Sniffer.collect` reads it; no thread is needed::

    with Sniffer(ns, "c0") as sniffer:
        send_something()
        packets = sniffer.collect(timeout=1.0, count=1, match=lambda p: p.is_icmp)

Packets come back without the link-layer header (``SOCK_DGRAM``); only IPv4 and IPv6 frames are
kept (ARP is skipped, neighbour discovery is IPv6 and kept). **On ``lo`` every packet is seen
twice**: once leaving (``outgoing`` True, ``PACKET_OUTGOING``) and once arriving (``PACKET_HOST``);
filter on :attr:`Packet.outgoing` to count each once. Checksums are as on the wire, except that
locally generated packets may carry a partial checksum if the device offloads it (veth and lo do
for TCP/UDP; ICMP checksums are always computed in software, so they are final).
"""

from __future__ import annotations

import select
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

from .netns import Netns

__all__ = ["ETH_P_ALL", "ETH_P_IP", "ETH_P_IPV6", "Packet", "Sniffer", "sniff"]

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
PACKET_OUTGOING = 4
_RCVBUF = 4 << 20
_SO_RCVBUFFORCE = 33  # asm-generic/socket.h; root may exceed rmem_max for this socket only
_MAX_FRAME = 1 << 18
_V6_HEADER = 40


@dataclass(frozen=True, slots=True)
class Packet:
    """One captured IP packet."""

    data: bytes  # the IP packet (header included), without the link-layer header
    ethertype: int
    pkttype: int  # PACKET_HOST (0), PACKET_BROADCAST (1), ..., PACKET_OUTGOING (4)
    t: float  # time.monotonic() when read

    @property
    def family(self) -> int:
        return 4 if self.ethertype == ETH_P_IP else 6

    @property
    def outgoing(self) -> bool:
        return self.pkttype == PACKET_OUTGOING

    @property
    def src(self) -> str:
        if self.family == 4:
            return socket.inet_ntop(socket.AF_INET, self.data[12:16])
        return socket.inet_ntop(socket.AF_INET6, self.data[8:24])

    @property
    def dst(self) -> str:
        if self.family == 4:
            return socket.inet_ntop(socket.AF_INET, self.data[16:20])
        return socket.inet_ntop(socket.AF_INET6, self.data[24:40])

    @property
    def proto(self) -> int:
        """IPv4 protocol, or the IPv6 next header of the fixed header (no extension walk)."""
        return self.data[9] if self.family == 4 else self.data[6]

    @property
    def header_len(self) -> int:
        return (self.data[0] & 0x0F) * 4 if self.family == 4 else _V6_HEADER

    @property
    def ttl(self) -> int:
        return self.data[8] if self.family == 4 else self.data[7]

    @property
    def ip_id(self) -> int:
        """The IPv4 identification field (0 for IPv6)."""
        return struct.unpack("!H", self.data[4:6])[0] if self.family == 4 else 0

    @property
    def is_icmp(self) -> bool:
        return self.proto == (socket.IPPROTO_ICMP if self.family == 4 else socket.IPPROTO_ICMPV6)

    @property
    def l4(self) -> bytes:
        """The bytes after the IP header (the ICMP message for ICMP packets)."""
        return self.data[self.header_len :]


class Sniffer:
    """An AF_PACKET capture of ``ifname`` inside ``netns``, open until :meth:`close`."""

    def __init__(self, netns: Netns, ifname: str) -> None:
        self.ifname = ifname
        with netns.entered():
            # Protocol 0 first: nothing is queued until bind() picks the interface.
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, 0)
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, _SO_RCVBUFFORCE, _RCVBUF)
                self.sock.bind((ifname, ETH_P_ALL))
            except BaseException:
                self.sock.close()
                raise
        self.sock.setblocking(False)

    def __enter__(self) -> Sniffer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    def collect(
        self,
        *,
        timeout: float,
        count: int | None = None,
        match: Callable[[Packet], bool] | None = None,
    ) -> list[Packet]:
        """IP packets (those passing ``match``) until ``count`` were captured or ``timeout``."""
        deadline = time.monotonic() + timeout
        got: list[Packet] = []
        while count is None or len(got) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            ready, _, _ = select.select([self.sock], [], [], left)
            if not ready:
                break
            try:
                data, addr = self.sock.recvfrom(_MAX_FRAME)
            except BlockingIOError:
                continue
            ethertype, pkttype = addr[1], addr[2]
            if ethertype not in (ETH_P_IP, ETH_P_IPV6):
                continue
            pkt = Packet(data, ethertype, pkttype, time.monotonic())
            if match is None or match(pkt):
                got.append(pkt)
        return got


def sniff(
    netns: Netns,
    ifname: str,
    action: Callable[[], object],
    *,
    timeout: float,
    count: int | None = None,
    match: Callable[[Packet], bool] | None = None,
) -> list[Packet]:
    """Capture on ``ifname`` while ``action()`` runs, then collect (bounded) what it caused."""
    with Sniffer(netns, ifname) as sniffer:
        action()
        return sniffer.collect(timeout=timeout, count=count, match=match)
