"""Which received packet belongs to a ping socket, and as what (spec sections H, J1, M4).

A raw ICMP socket sees every ICMP packet the host receives; the kernel's ping socket sees only
``ping_rcv()``'s echo replies for its ident and ``ping_err()``'s errors that quote its echo.
These functions make that decision for one packet. They are on the per-packet hot path, so
they slice bytes directly rather than building full codec objects.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

from pingsock.emulation.icmp_errors import (
    ICMP4_DEST_UNREACH,
    ICMP4_ERROR_TYPES,
    ICMP4_FRAG_NEEDED,
    ICMP4_PARAMETER_PROB,
    ICMP4_REDIRECT,
    ICMP6_ERROR_TYPES,
    ErrorVerdict,
    icmp4_error_verdict,
    icmp6_error_verdict,
)
from pingsock.wire.checksum import internet_checksum

__all__ = ["Delivery", "ErrorArrival", "classify_icmp6", "classify_ipv4", "ipv4_text"]

_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")

# ping_rcv() is reached for Echo Reply (0) and Extended Echo Reply (43), any code (H1).
_REPLY4 = frozenset({0, 43})
_REPLY6 = frozenset({129, 161})
# ping_err() acts only on errors quoting Echo (8) / Extended Echo (42) with code 0 (J1).
_REQUEST4 = frozenset({8, 42})
_REQUEST6 = frozenset({128, 160})
_IPPROTO_ICMP = 1
_IPPROTO_FRAGMENT = 44  # IPv6 Fragment header (RFC 8200 section 4.5)
_IPPROTO_ICMPV6 = 58
_IPV6_HEADER = 40


@dataclass(frozen=True, slots=True)
class Delivery:
    """An echo reply for this socket: what ``recv()`` returns and where it came from."""

    message: bytes  # ICMP header + payload, no IP header (G1)
    source: str


@dataclass(frozen=True, slots=True)
class ErrorArrival:
    """An ICMP error about one of this socket's echoes (before the IP_RECVERR decision)."""

    verdict: ErrorVerdict
    icmp_type: int
    icmp_code: int
    info: int  # ee_info: MTU (3/4, v6 2), pointer (12, v6 4), gateway (5)
    offender: str  # the error's source address (SO_EE_OFFENDER)
    original_destination: str  # msg_name of the error-queue read (J3, M12)
    quoted: bytes  # the quoted echo message: the data of the error-queue read


def ipv4_text(raw: bytes) -> str:
    """Dotted-quad text of 4 address bytes (faster than ipaddress on the hot path)."""
    return f"{raw[0]}.{raw[1]}.{raw[2]}.{raw[3]}"


def _is_group_destination4(dst: bytes) -> bool:
    # icmp_rcv() drops echo replies sent to broadcast or multicast addresses (H2); the
    # limited broadcast and 224.0.0.0/4 are recognisable without the routing table.
    return dst[0] >= 224 or dst == b"\xff\xff\xff\xff"


def classify_ipv4(
    packet: bytes, ident: int, local: bytes | None = None
) -> Delivery | ErrorArrival | None:
    """Classify one IPv4 datagram read from a raw ICMP socket (IP header included).

    ``local`` is the socket's bound or connected local address (4 bytes), if any: the packet's
    destination must equal it (``ping_lookup()``, H1). Returns None for anything the ping
    socket would never see, including replies with a bad checksum (``icmp_rcv()``, H2).
    """
    if len(packet) < 28 or packet[9] != _IPPROTO_ICMP:
        return None
    header_length = (packet[0] & 0x0F) * 4
    if header_length < 20 or len(packet) < header_length + 8:
        return None
    destination = packet[16:20]
    if local is not None and destination != local:
        return None
    message = packet[header_length:]
    icmp_type = message[0]
    if icmp_type in _REPLY4:
        if _U16.unpack_from(message, 4)[0] != ident or _is_group_destination4(destination):
            return None
        if internet_checksum(message) != 0:
            return None
        return Delivery(message, ipv4_text(packet[12:16]))
    if icmp_type not in ICMP4_ERROR_TYPES:
        return None
    return _classify_error4(packet[12:16], message, ident)


def _classify_error4(source: bytes, message: bytes, ident: int) -> ErrorArrival | None:
    inner = message[8:]
    if len(inner) < 20 or inner[9] != _IPPROTO_ICMP:
        return None
    inner_length = (inner[0] & 0x0F) * 4
    if inner_length < 20 or len(inner) < inner_length + 8:
        return None
    quoted = inner[inner_length:]
    if quoted[0] not in _REQUEST4 or quoted[1] != 0 or _U16.unpack_from(quoted, 4)[0] != ident:
        return None
    icmp_type, code = message[0], message[1]
    verdict = icmp4_error_verdict(icmp_type, code)
    if verdict is None or internet_checksum(message) != 0:
        return None
    info = 0
    if icmp_type == ICMP4_DEST_UNREACH and code == ICMP4_FRAG_NEEDED:
        info = _U16.unpack_from(message, 6)[0]  # RFC 1191 next-hop MTU
    elif icmp_type == ICMP4_PARAMETER_PROB:
        info = message[4]  # the pointer
    elif icmp_type == ICMP4_REDIRECT:
        info = _U32.unpack_from(message, 4)[0]  # gateway, host-order u32 (J2)
    return ErrorArrival(
        verdict, icmp_type, code, info, ipv4_text(source), ipv4_text(inner[16:20]), quoted
    )


def classify_icmp6(
    message: bytes,
    source: str,
    ident: int,
    destination: bytes | None = None,
    local: bytes | None = None,
) -> Delivery | ErrorArrival | None:
    """Classify one ICMPv6 message read from a raw ICMPv6 socket (no IP header).

    The kernel has already verified the checksum (raw ICMPv6 sockets always do, RFC 3542
    section 3.1). ``destination`` (from IPV6_PKTINFO) is checked against ``local`` when both
    are known (H1).
    """
    if len(message) < 8:
        return None
    if local is not None and destination is not None and destination != local:
        return None
    icmp_type = message[0]
    if icmp_type in _REPLY6:
        if _U16.unpack_from(message, 4)[0] != ident:
            return None
        return Delivery(message, source)
    if icmp_type not in ICMP6_ERROR_TYPES:
        return None
    inner = message[8:]
    offset, next_header = _IPV6_HEADER, inner[6] if len(inner) > 6 else -1
    if next_header == _IPPROTO_FRAGMENT and len(inner) >= offset + 8:
        # icmpv6_notify() skips extension headers: an error about the first fragment of a
        # large echo still reaches the socket (M11). Later fragments quote no ICMP header.
        if _U16.unpack_from(inner, offset + 2)[0] & 0xFFF8:
            return None
        offset, next_header = offset + 8, inner[offset]
    if len(inner) < offset + 8 or next_header != _IPPROTO_ICMPV6:
        return None
    quoted = inner[offset:]
    if quoted[0] not in _REQUEST6 or quoted[1] != 0 or _U16.unpack_from(quoted, 4)[0] != ident:
        return None
    verdict = icmp6_error_verdict(icmp_type, message[1])
    if verdict is None:
        return None
    # Packet Too Big carries the MTU, Parameter Problem the pointer, both 32 bits (RFC 4443).
    info = _U32.unpack_from(message, 4)[0] if icmp_type in (2, 4) else 0
    original = str(ipaddress.IPv6Address(inner[24:40]))
    return ErrorArrival(verdict, icmp_type, message[1], info, source, original, quoted)
