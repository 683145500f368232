"""Whole IPv4 datagrams as a raw ICMP socket delivers them: IP header, then ICMP.

A ``SOCK_RAW``/``IPPROTO_ICMP`` socket hands over the complete datagram, IP header included
(raw(7)), unlike a ping socket, which strips it (shared/spec/kernel-ping-socket.md G1). The
raw backend decodes both layers at once with :func:`decode_ipv4_packet`.
"""

from __future__ import annotations

from pingsock.errors import BadLength, PacketError, TruncatedPacket
from pingsock.wire.icmp4 import Icmp4Message, decode_icmp4
from pingsock.wire.ip import IPv4Header, decode_ipv4_header

__all__ = ["decode_ipv4_packet"]

_PROTO_ICMP = 1


def decode_ipv4_packet(
    data: bytes, *, verify_checksum: bool = False
) -> tuple[IPv4Header, Icmp4Message]:
    """Decode an IPv4 datagram carrying one ICMP message.

    ``verify_checksum`` checks both the IP header checksum and the ICMP checksum. Bytes past
    ``total_length`` are ignored (link-layer padding, RFC 791 3.1 "Total Length").

    Raises ``BadLength`` when ``total_length`` is shorter than the header, ``TruncatedPacket``
    when it is longer than ``data``, and ``PacketError`` for a protocol other than ICMP or a
    fragment (raw sockets receive reassembled datagrams, so a fragment cannot be decoded as
    a whole ICMP message).
    """
    data = bytes(data)
    header = decode_ipv4_header(data, verify_checksum=verify_checksum)
    header_length = (data[0] & 0x0F) * 4
    if header.total_length < header_length:
        raise BadLength(
            f"IPv4 datagram: total length {header.total_length} is shorter than its "
            f"{header_length}-byte header"
        )
    if header.total_length > len(data):
        raise TruncatedPacket(
            f"IPv4 datagram: total length {header.total_length}, only {len(data)} bytes"
        )
    if header.protocol != _PROTO_ICMP:
        raise PacketError(f"IPv4 datagram: protocol {header.protocol}, not ICMP (1)")
    if header.is_fragment:
        raise PacketError(
            f"IPv4 datagram: a fragment (offset {header.fragment_offset * 8}, "
            f"MF {int(header.more_fragments)}), not a whole ICMP message"
        )
    message = decode_icmp4(
        data[header_length : header.total_length], verify_checksum=verify_checksum
    )
    return header, message
