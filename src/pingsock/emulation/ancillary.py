"""The receive-side ancillary data of a ping socket, derived from what a raw socket reported.

The kernel's ``ping_recvmsg()`` writes ``sock_recv_timestamp()`` and then the IP-level cmsgs
(``ip_cmsg_recv()`` / ``ip6_datagram_recv_ctl()``); its error-queue reads (``ip_recv_error()``,
``ipv6_recv_error()``) write the timestamp, the IP-level cmsgs of the ICMP error packet, and last
the ``IP_RECVERR`` cmsg (spec I1, J3, M10, M12). A raw socket's ``raw_recvmsg()`` writes
``sock_recv_cmsgs()`` instead, which adds ``SO_RXQ_OVFL``, ``SO_RCVMARK`` and ``SO_RCVPRIORITY``
cmsgs a ping socket never produces, and it fills ``in_pktinfo.ipi_spec_dst``, which a ping socket
leaves 0 (it never calls ``ipv4_pktinfo_prepare()``; quirk I1). These pure functions turn the raw
socket's list into the ping socket's.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from pingsock import linux

__all__ = [
    "IPV6_FLOWINFO",
    "TIMESTAMP_KINDS",
    "Cmsg",
    "flowinfo_of",
    "local_error_port",
    "needs_scope_id",
    "ping_ancillary",
    "timestamp_cmsg",
]

Cmsg = tuple[int, int, bytes]

# SOL_SOCKET cmsgs written by sock_recv_timestamp(): SCM_TIMESTAMP(NS|ING), old and new ABI.
SO_TIMESTAMP_NEW = 63
SO_TIMESTAMPNS_NEW = 64
SO_TIMESTAMPING_NEW = 65
TIMESTAMP_KINDS = frozenset(
    {
        linux.SCM_TIMESTAMP,
        linux.SCM_TIMESTAMPNS,
        linux.SO_TIMESTAMPING,
        SO_TIMESTAMP_NEW,
        SO_TIMESTAMPNS_NEW,
        SO_TIMESTAMPING_NEW,
    }
)
IPV6_FLOWINFO = 11  # the cmsg of IPV6_RECVFLOWINFO (uapi/linux/in6.h)
_FLOWINFO_MASK = 0x0FFFFFFF  # IPV6_FLOWINFO_MASK: traffic class and flow label
_BE32 = struct.Struct("!I")
_TIME = struct.Struct("=qq")  # timeval / timespec on 64-bit Linux: seconds, then us or ns


def ping_ancillary(
    family: int, anc: Iterable[Cmsg], hidden: frozenset[tuple[int, int]]
) -> list[Cmsg]:
    """The ping socket's cmsgs for a packet the raw socket returned with ``anc``.

    ``hidden`` lists the (level, type) pairs the backend enabled for itself (IPV6_PKTINFO to
    check the destination, IPV6_FLOWINFO for the reply address) while the user did not.
    """
    kept: list[Cmsg] = []
    for level, kind, data in anc:
        if level == linux.SOL_SOCKET and kind not in TIMESTAMP_KINDS:
            continue  # SO_RXQ_OVFL, SO_RCVMARK, SO_RCVPRIORITY: raw_recvmsg() only
        if (level, kind) in hidden:
            continue
        if (
            family == linux.AF_INET
            and level == linux.SOL_IP
            and kind == linux.IP_PKTINFO
            and len(data) >= 12
        ):
            kept.append((level, kind, data[:4] + bytes(4) + data[8:]))  # spec_dst 0 (I1)
            continue
        kept.append((level, kind, data))
    return kept


def flowinfo_of(anc: Iterable[Cmsg]) -> int:
    """The IPv6 flow information (traffic class and label) of the packet, from the
    IPV6_FLOWINFO cmsg; 0 when it is absent (the kernel omits it for a zero value)."""
    for level, kind, data in anc:
        if level == linux.SOL_IPV6 and kind == IPV6_FLOWINFO and len(data) >= 4:
            value: int = _BE32.unpack_from(data)[0]
            return value & _FLOWINFO_MASK
    return 0


def timestamp_cmsg(kind: int, now_ns: int) -> Cmsg:
    """The timestamp cmsg ``__sock_recv_timestamp()`` writes for a packet stamped ``now_ns``
    (a locally generated error-queue entry is stamped when it is first read).

    ``kind`` is SCM_TIMESTAMP / SO_TIMESTAMP_NEW (a timeval) or SCM_TIMESTAMPNS /
    SO_TIMESTAMPNS_NEW (a timespec).
    """
    seconds, rest = divmod(now_ns, 1_000_000_000)
    if kind in (linux.SCM_TIMESTAMP, SO_TIMESTAMP_NEW):
        return (linux.SOL_SOCKET, kind, _TIME.pack(seconds, rest // 1000))
    return (linux.SOL_SOCKET, kind, _TIME.pack(seconds, rest))


def local_error_port(family: int, message: bytes, peer_port: int) -> int:
    """``msg_name``'s port of a locally generated error (``EMSGSIZE``), spec F2 and M12.

    IPv4's ``ip_local_error()`` passes ``inet_dport``: the ``connect()`` port, or 0. IPv6's
    ``ipv6_local_error()`` passes ``fl6_dport``, which ``ping_v6_sendmsg()`` filled through the
    ``fl6_icmp_type``/``fl6_icmp_code`` overlay: ``(type << 8) | code`` whatever the peer port.
    """
    if family == linux.AF_INET6:
        return (message[0] << 8) | message[1]
    return peer_port


def needs_scope_id(address: bytes) -> bool:
    """``__ipv6_addr_needs_scope_id()``: link-local unicast, or multicast of interface- or
    link-local scope. Such an address carries the interface in ``sin6_scope_id``."""
    if address[0] == 0xFE and address[1] & 0xC0 == 0x80:
        return True
    return address[0] == 0xFF and address[1] & 0x0F in (0x01, 0x02)
