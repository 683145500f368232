"""The datagram quoted inside an ICMP error: "Internet Header + 64 bits of Original Data".

RFC 792 asks only for the IP header and 8 bytes of the original datagram; RFC 1812 4.3.2.3
lets routers quote more (Linux quotes up to 576 bytes in all), RFC 4443 2.4(c) asks ICMPv6
to quote as much as fits in 1280 bytes, and RFC 4884 pads the quote with zeros to at least
128 bytes when extensions follow. So a quote is always read as "a header, then whatever of
the rest is there".

The contract: :func:`decode_quoted4` / :func:`decode_quoted6` need the quoted IP header to be
whole (otherwise ``TruncatedPacket``), but any amount of the original transport data may
follow, even none. :attr:`QuotedDatagram.icmp` gives the quoted ICMP header (type, code,
ident, sequence) once 8 bytes of it are present and is ``None`` otherwise, so a short quote
is representable and never fails the decode of the ICMP error that carries it; that outer
message keeps the quote as raw bytes and parses it only when asked.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from pingsock.errors import BadLength
from pingsock.wire.ip import IPv4Header, IPv6Header, decode_ipv4_header, decode_ipv6_header

__all__ = ["QuotedDatagram", "QuotedIcmp", "decode_quoted4", "decode_quoted6"]

_ICMP_HEADER = struct.Struct("!BBHHH")  # type, code, checksum, identifier, sequence
_EXTENSION_HEAD = struct.Struct("!BB")  # next header, header extension length
_FRAGMENT_OFFSET = struct.Struct("!H")

_PROTO_ICMP = 1
_PROTO_ICMPV6 = 58
# RFC 8335 sections 2 and 3: Extended Echo has an 8-bit sequence, then flag bits.
_EXTENDED_ECHO_TYPES = {_PROTO_ICMP: (42, 43), _PROTO_ICMPV6: (160, 161)}

# RFC 8200 section 4: headers with "next header, length in 8-octet units not counting the
# first 8" (Hop-by-Hop 0, Routing 43, Destination Options 60), the fixed 8-byte Fragment
# header (44), and AH (51), whose length counts 4-octet units minus 2 (RFC 4302 section 2.2).
_HOP_BY_HOP, _ROUTING, _FRAGMENT, _AUTH, _DEST_OPTS = 0, 43, 44, 51, 60


@dataclass(frozen=True, slots=True)
class QuotedIcmp:
    """The 8-byte header of a quoted ICMP or ICMPv6 message.

    ``seq`` is the 16-bit sequence number, except for Extended Echo (types 42, 43, 160, 161)
    where RFC 8335 section 2 gives the sequence only 8 bits.
    """

    type: int
    code: int
    checksum: int
    ident: int
    seq: int


@dataclass(frozen=True, slots=True)
class QuotedDatagram:
    """An IP header as quoted in an ICMP error, and the bytes of the original that follow.

    ``protocol`` is the protocol number of ``transport``'s first byte: for IPv6 the last
    next-header value reached by walking complete extension headers (kept raw in
    ``extension_headers``). Quote padding past the original's own length is dropped.
    """

    header: IPv4Header | IPv6Header
    protocol: int
    transport: bytes
    extension_headers: bytes = b""
    complete: bool = False  # the quote holds the whole original datagram

    @property
    def icmp(self) -> QuotedIcmp | None:
        """The quoted ICMP(v6) header, when the quote holds at least 8 bytes of it."""
        wanted = _PROTO_ICMP if isinstance(self.header, IPv4Header) else _PROTO_ICMPV6
        if self.protocol != wanted or len(self.transport) < _ICMP_HEADER.size:
            return None
        if isinstance(self.header, IPv4Header) and self.header.fragment_offset != 0:
            return None  # a later fragment does not start with the ICMP header
        kind, code, checksum, ident, seq = _ICMP_HEADER.unpack_from(self.transport)
        if kind in _EXTENDED_ECHO_TYPES[wanted]:
            seq >>= 8
        return QuotedIcmp(kind, code, checksum, ident, seq)


def decode_quoted4(data: bytes) -> QuotedDatagram:
    """Decode an IPv4 datagram quoted in an ICMPv4 error (see the module docstring)."""
    header = decode_ipv4_header(data)
    header_length = (data[0] & 0x0F) * 4
    if header.total_length < header_length:
        raise BadLength(
            f"quoted IPv4 header: total length {header.total_length} is shorter than "
            f"its own {header_length}-byte header"
        )
    return QuotedDatagram(
        header=header,
        protocol=header.protocol,
        transport=bytes(data[header_length : header.total_length]),
        complete=len(data) >= header.total_length,
    )


def decode_quoted6(data: bytes) -> QuotedDatagram:
    """Decode an IPv6 datagram quoted in an ICMPv6 error (see the module docstring)."""
    header = decode_ipv6_header(data)
    end = header.header_length + header.payload_length
    if header.payload_length == 0 and header.next_header == _HOP_BY_HOP:
        end = len(data)  # RFC 2675 section 2: a jumbogram's length is in a Hop-by-Hop option
    rest = bytes(data[header.header_length : end])
    protocol, offset = header.next_header, 0
    while True:
        size = _extension_size(protocol, rest, offset)
        if size is None or offset + size > len(rest):
            break  # the upper layer, or an extension header the quote cuts off
        protocol, offset = rest[offset], offset + size
    return QuotedDatagram(
        header=header,
        protocol=protocol,
        transport=rest[offset:],
        extension_headers=rest[:offset],
        complete=len(data) >= end,
    )


def _extension_size(protocol: int, rest: bytes, offset: int) -> int | None:
    """The size of the extension header at ``offset``, or None where walking must stop."""
    if len(rest) - offset < _EXTENSION_HEAD.size:
        return None
    length = rest[offset + 1]
    if protocol in (_HOP_BY_HOP, _ROUTING, _DEST_OPTS):
        return (length + 1) * 8
    if protocol == _AUTH:
        return (length + 2) * 4
    if protocol == _FRAGMENT:
        if len(rest) - offset < 8:
            return None
        # Only the first fragment (offset 0) starts with the upper-layer header.
        fragment_offset = _FRAGMENT_OFFSET.unpack_from(rest, offset + 2)[0] >> 3
        return 8 if fragment_offset == 0 else None
    return None
