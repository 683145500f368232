"""IPv4 headers with options (RFC 791) and the fixed IPv6 header (RFC 8200 section 3).

Header decoders read one header from the front of ``data`` and check only what the header
itself states (version, IHL, options, header checksum on request). Whether ``total_length``
or ``payload_length`` matches the bytes that follow is the caller's question: a datagram
quoted in an ICMP error is cut short on purpose, while a datagram read from a raw socket must
be whole (see :func:`pingsock.wire.packet.decode_ipv4_packet`).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address

from pingsock.errors import BadChecksum, BadLength, PacketError
from pingsock.wire.checksum import internet_checksum
from pingsock.wire.ipoptions import IPOption, decode_options, encode_options
from pingsock.wire.reader import Reader, pack

__all__ = [
    "IPV4_DONT_FRAGMENT",
    "IPV4_MORE_FRAGMENTS",
    "IPv4Header",
    "IPv6Header",
    "decode_ipv4_header",
    "decode_ipv6_header",
]

# RFC 791 3.1: version(4) IHL(4), TOS, total length, identification, flags(3) offset(13),
# TTL, protocol, header checksum, source, destination; options follow.
_IPV4_FIXED = struct.Struct("!BBHHHBBH4s4s")
# RFC 8200 section 3: version(4) traffic class(8) flow label(20), payload length,
# next header, hop limit, source, destination.
_IPV6_FIXED = struct.Struct("!IHBB16s16s")
_U16 = struct.Struct("!H")

IPV4_DONT_FRAGMENT = 0b010  # RFC 791 flags field, bit 1
IPV4_MORE_FRAGMENTS = 0b001  # RFC 791 flags field, bit 2
_CHECKSUM_OFFSET = 10


@dataclass(frozen=True, slots=True)
class IPv4Header:
    """An IPv4 header (RFC 791 section 3.1).

    ``flags`` is the 3-bit field (reserved, DF, MF); ``options`` are decoded options whose
    encoding fixes the IHL. ``checksum`` is the value carried on the wire (``None`` for a
    header built in code) and takes no part in equality.
    """

    src: IPv4Address
    dst: IPv4Address
    total_length: int
    protocol: int = 1
    ttl: int = 64
    tos: int = 0
    identification: int = 0
    flags: int = 0
    fragment_offset: int = 0  # in 8-byte units
    options: tuple[IPOption, ...] = ()
    checksum: int | None = field(default=None, compare=False)

    @property
    def header_length(self) -> int:
        """Bytes in the encoded header: 20 plus the padded options."""
        return _IPV4_FIXED.size + len(encode_options(self.options))

    @property
    def dont_fragment(self) -> bool:
        return bool(self.flags & IPV4_DONT_FRAGMENT)

    @property
    def more_fragments(self) -> bool:
        return bool(self.flags & IPV4_MORE_FRAGMENTS)

    @property
    def is_fragment(self) -> bool:
        """True for any fragment: MF set or a non-zero offset (RFC 791 section 3.2)."""
        return self.more_fragments or self.fragment_offset != 0

    def encode(self, *, checksum: int | None = None) -> bytes:
        """The header bytes; ``checksum=None`` computes the RFC 791 header checksum."""
        options = encode_options(self.options)
        ihl = (_IPV4_FIXED.size + len(options)) // 4
        if not 0 <= self.flags <= 0b111 or not 0 <= self.fragment_offset < 1 << 13:
            raise ValueError("flags must fit in 3 bits and fragment_offset in 13")
        header = (
            pack(
                _IPV4_FIXED,
                4 << 4 | ihl,
                self.tos,
                self.total_length,
                self.identification,
                self.flags << 13 | self.fragment_offset,
                self.ttl,
                self.protocol,
                0,
                self.src.packed,
                self.dst.packed,
            )
            + options
        )
        if checksum is None:
            checksum = internet_checksum(header)
        return _splice_checksum(header, checksum)


def _splice_checksum(header: bytes, checksum: int) -> bytes:
    return header[:_CHECKSUM_OFFSET] + pack(_U16, checksum) + header[_CHECKSUM_OFFSET + 2 :]


def decode_ipv4_header(data: bytes, *, verify_checksum: bool = False) -> IPv4Header:
    """Decode the IPv4 header at the front of ``data`` (bytes after it are ignored).

    Raises ``PacketError`` for a version other than 4, ``BadLength`` for an IHL below 5,
    ``TruncatedPacket`` when the header is cut, option errors from
    :func:`~pingsock.wire.ipoptions.decode_options`, and ``BadChecksum`` when asked to verify.
    """
    reader = Reader(data, "IPv4 header")
    (version_ihl, tos, total_length, identification, flags_offset, ttl, protocol, checksum,
     src, dst) = reader.unpack(_IPV4_FIXED, "fixed header")  # fmt: skip
    version, ihl = version_ihl >> 4, version_ihl & 0x0F
    if version != 4:
        raise PacketError(f"IPv4 header: version field is {version}, not 4")
    if ihl < 5:
        # RFC 791 3.1: "the minimum value for a correct header is 5".
        raise BadLength(f"IPv4 header: IHL {ihl} is below the minimum of 5 words")
    options_area = reader.take(ihl * 4 - _IPV4_FIXED.size, f"options (IHL {ihl})")
    if verify_checksum and internet_checksum(data[: ihl * 4]) != 0:
        raise BadChecksum(f"IPv4 header: checksum {checksum:#06x} does not verify")
    return IPv4Header(
        src=IPv4Address(src),
        dst=IPv4Address(dst),
        total_length=total_length,
        protocol=protocol,
        ttl=ttl,
        tos=tos,
        identification=identification,
        flags=flags_offset >> 13,
        fragment_offset=flags_offset & 0x1FFF,
        options=decode_options(options_area),
        checksum=checksum,
    )


@dataclass(frozen=True, slots=True)
class IPv6Header:
    """The fixed 40-byte IPv6 header (RFC 8200 section 3); extension headers are not here."""

    src: IPv6Address
    dst: IPv6Address
    payload_length: int
    next_header: int = 58
    hop_limit: int = 64
    traffic_class: int = 0
    flow_label: int = 0

    @property
    def header_length(self) -> int:
        """Always 40: extension headers belong to the payload (RFC 8200 section 4)."""
        return _IPV6_FIXED.size

    def encode(self) -> bytes:
        if not 0 <= self.traffic_class <= 0xFF or not 0 <= self.flow_label < 1 << 20:
            raise ValueError("traffic_class must fit in 8 bits and flow_label in 20")
        first = 6 << 28 | self.traffic_class << 20 | self.flow_label
        return pack(
            _IPV6_FIXED,
            first,
            self.payload_length,
            self.next_header,
            self.hop_limit,
            self.src.packed,
            self.dst.packed,
        )


def decode_ipv6_header(data: bytes) -> IPv6Header:
    """Decode the fixed IPv6 header at the front of ``data`` (bytes after it are ignored).

    Raises ``TruncatedPacket`` below 40 bytes and ``PacketError`` for a version other than 6.
    """
    reader = Reader(data, "IPv6 header")
    first, payload_length, next_header, hop_limit, src, dst = reader.unpack(
        _IPV6_FIXED, "fixed header"
    )
    if first >> 28 != 6:
        raise PacketError(f"IPv6 header: version field is {first >> 28}, not 6")
    return IPv6Header(
        src=IPv6Address(src),
        dst=IPv6Address(dst),
        payload_length=payload_length,
        next_header=next_header,
        hop_limit=hop_limit,
        traffic_class=(first >> 20) & 0xFF,
        flow_label=first & 0xFFFFF,
    )
