"""ICMPv6 messages (RFC 4443, RFC 4884, RFC 8335) and their decoder.

Like :mod:`pingsock.wire.icmp4`, each type is a frozen dataclass and :func:`decode_icmp6`
accepts any byte string; unknown types decode to :class:`UnknownIcmp6`. The checksum differs:
it covers a pseudo-header of source and destination addresses (RFC 4443 section 2.3), so
computing or verifying it needs those addresses. A ping socket fills it in on send
(shared/spec/kernel-ping-socket.md M3), hence ``encode()`` without addresses leaves it 0.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv6Address
from typing import ClassVar

from pingsock.errors import BadChecksum
from pingsock.wire.echoes import EchoFields, ExtendedEchoReplyFields, ExtendedEchoRequestFields
from pingsock.wire.message import (
    HEADER,
    Icmp6Encoding,
    Quote,
    QuoteWithLength,
    fits,
    header_word,
    icmp6_verifies,
    seal_icmp6,
)
from pingsock.wire.numbers import Icmp6Type
from pingsock.wire.reader import Reader, pack

__all__ = [
    "Icmp6DestUnreachable",
    "Icmp6EchoReply",
    "Icmp6EchoRequest",
    "Icmp6Error",
    "Icmp6ExtendedEchoReply",
    "Icmp6ExtendedEchoRequest",
    "Icmp6Message",
    "Icmp6PacketTooBig",
    "Icmp6ParameterProblem",
    "Icmp6TimeExceeded",
    "UnknownIcmp6",
    "decode_icmp6",
]

_U32 = struct.Struct("!I")
_LENGTH_UNUSED = 0x00FFFFFF  # RFC 4884 4.2: length is the first byte, the other 24 bits unused


def _length_word(length: int, unused: int) -> bytes:
    return header_word(unused, _LENGTH_UNUSED, fits(length, 8, "length") << 24)


@dataclass(frozen=True, slots=True)
class Icmp6DestUnreachable(QuoteWithLength, Icmp6Encoding):
    """Destination Unreachable, type 1 (RFC 4443 3.1; :class:`Icmp6DestUnreachableCode`).

    Word layout: RFC 4884 ``length`` (8 bits, in 64-bit words), unused (24).
    """

    TYPE: ClassVar[int] = Icmp6Type.DEST_UNREACHABLE

    code: int
    quoted: bytes = b""
    length: int = 0
    unused: int = 0
    checksum: int | None = field(default=None, compare=False)

    def _rest(self) -> bytes:
        return _length_word(self.length, self.unused) + self.quoted

    @classmethod
    def _decode(cls, reader: Reader, code: int, checksum: int) -> Icmp6DestUnreachable:
        word = reader.u32("length")
        return cls(code, reader.rest(), word >> 24, word & _LENGTH_UNUSED, checksum)


@dataclass(frozen=True, slots=True)
class Icmp6PacketTooBig(Quote, Icmp6Encoding):
    """Packet Too Big, type 2 (RFC 4443 3.2): the ``mtu`` of the next-hop link."""

    TYPE: ClassVar[int] = Icmp6Type.PACKET_TOO_BIG

    mtu: int
    quoted: bytes = b""
    code: int = 0
    checksum: int | None = field(default=None, compare=False)

    def _rest(self) -> bytes:
        return pack(_U32, self.mtu) + self.quoted

    @classmethod
    def _decode(cls, reader: Reader, code: int, checksum: int) -> Icmp6PacketTooBig:
        mtu = reader.u32("MTU")
        return cls(mtu, reader.rest(), code, checksum)


@dataclass(frozen=True, slots=True)
class Icmp6TimeExceeded(QuoteWithLength, Icmp6Encoding):
    """Time Exceeded, type 3 (RFC 4443 3.3; :class:`Icmp6TimeExceededCode`).

    Word layout: RFC 4884 ``length`` (8 bits, in 64-bit words), unused (24).
    """

    TYPE: ClassVar[int] = Icmp6Type.TIME_EXCEEDED

    code: int
    quoted: bytes = b""
    length: int = 0
    unused: int = 0
    checksum: int | None = field(default=None, compare=False)

    def _rest(self) -> bytes:
        return _length_word(self.length, self.unused) + self.quoted

    @classmethod
    def _decode(cls, reader: Reader, code: int, checksum: int) -> Icmp6TimeExceeded:
        word = reader.u32("length")
        return cls(code, reader.rest(), word >> 24, word & _LENGTH_UNUSED, checksum)


@dataclass(frozen=True, slots=True)
class Icmp6ParameterProblem(Quote, Icmp6Encoding):
    """Parameter Problem, type 4 (RFC 4443 3.4; :class:`Icmp6ParameterProblemCode`).

    ``pointer`` is the 32-bit offset of the error within the quoted packet.
    """

    TYPE: ClassVar[int] = Icmp6Type.PARAMETER_PROBLEM

    pointer: int
    quoted: bytes = b""
    code: int = 0
    checksum: int | None = field(default=None, compare=False)

    def _rest(self) -> bytes:
        return pack(_U32, self.pointer) + self.quoted

    @classmethod
    def _decode(cls, reader: Reader, code: int, checksum: int) -> Icmp6ParameterProblem:
        pointer = reader.u32("pointer")
        return cls(pointer, reader.rest(), code, checksum)


@dataclass(frozen=True, slots=True)
class Icmp6EchoRequest(EchoFields, Icmp6Encoding):
    """Echo Request, type 128 (RFC 4443 4.1)."""

    TYPE: ClassVar[int] = Icmp6Type.ECHO_REQUEST


@dataclass(frozen=True, slots=True)
class Icmp6EchoReply(EchoFields, Icmp6Encoding):
    """Echo Reply, type 129 (RFC 4443 4.2)."""

    TYPE: ClassVar[int] = Icmp6Type.ECHO_REPLY


@dataclass(frozen=True, slots=True)
class Icmp6ExtendedEchoRequest(ExtendedEchoRequestFields, Icmp6Encoding):
    """Extended Echo Request, type 160 (RFC 8335 section 2): PROBE."""

    TYPE: ClassVar[int] = Icmp6Type.EXTENDED_ECHO_REQUEST


@dataclass(frozen=True, slots=True)
class Icmp6ExtendedEchoReply(ExtendedEchoReplyFields, Icmp6Encoding):
    """Extended Echo Reply, type 161 (RFC 8335 section 3)."""

    TYPE: ClassVar[int] = Icmp6Type.EXTENDED_ECHO_REPLY


@dataclass(frozen=True, slots=True)
class UnknownIcmp6:
    """Any other ICMPv6 type (Neighbor Discovery, MLD, ...): ``rest`` follows the checksum."""

    type: int
    code: int
    rest: bytes
    checksum: int | None = field(default=None, compare=False)

    def encode(
        self,
        *,
        src: bytes | IPv6Address | None = None,
        dst: bytes | IPv6Address | None = None,
        checksum: int | None = None,
    ) -> bytes:
        """As :meth:`Icmp6Encoding.encode`."""
        if len(self.rest) < 4:
            raise ValueError("every ICMPv6 message has an 8-byte header: rest needs 4 bytes")
        return seal_icmp6(pack(HEADER, self.type, self.code, 0) + self.rest, checksum, src, dst)


Icmp6Message = (
    Icmp6DestUnreachable
    | Icmp6PacketTooBig
    | Icmp6TimeExceeded
    | Icmp6ParameterProblem
    | Icmp6EchoRequest
    | Icmp6EchoReply
    | Icmp6ExtendedEchoRequest
    | Icmp6ExtendedEchoReply
    | UnknownIcmp6
)

# The error messages: each quotes the datagram that caused it (``quoted_datagram()``).
Icmp6Error = Icmp6DestUnreachable | Icmp6PacketTooBig | Icmp6TimeExceeded | Icmp6ParameterProblem

_DECODERS: dict[int, Callable[[Reader, int, int], Icmp6Message]] = {
    Icmp6Type.DEST_UNREACHABLE: Icmp6DestUnreachable._decode,
    Icmp6Type.PACKET_TOO_BIG: Icmp6PacketTooBig._decode,
    Icmp6Type.TIME_EXCEEDED: Icmp6TimeExceeded._decode,
    Icmp6Type.PARAMETER_PROBLEM: Icmp6ParameterProblem._decode,
    Icmp6Type.ECHO_REQUEST: Icmp6EchoRequest._decode,
    Icmp6Type.ECHO_REPLY: Icmp6EchoReply._decode,
    Icmp6Type.EXTENDED_ECHO_REQUEST: Icmp6ExtendedEchoRequest._decode,
    Icmp6Type.EXTENDED_ECHO_REPLY: Icmp6ExtendedEchoReply._decode,
}


def decode_icmp6(
    data: bytes,
    *,
    verify_checksum: bool = False,
    src: bytes | IPv6Address | None = None,
    dst: bytes | IPv6Address | None = None,
) -> Icmp6Message:
    """Decode one ICMPv6 message (no IP header: what an ICMPv6 ping socket returns).

    ``verify_checksum`` needs ``src`` and ``dst``, the addresses of the packet that carried
    the message; asking without them is a ``TypeError`` (a programming error, not a bad
    packet). Raises ``TruncatedPacket`` below the 8-byte header and ``BadChecksum`` when the
    pseudo-header checksum does not verify.
    """
    if verify_checksum and (src is None or dst is None):
        raise TypeError("verify_checksum=True needs the src and dst addresses (RFC 4443 2.3)")
    data = bytes(data)
    reader = Reader(data, "ICMPv6 message")
    kind, code, checksum = reader.unpack(HEADER, "header")
    decoder = _DECODERS.get(kind)
    if decoder is not None:
        message = decoder(reader, code, checksum)
    else:
        reader.require(4, "rest of header")  # RFC 4443 2.1: every message has the 8-byte header
        message = UnknownIcmp6(kind, code, data[4:], checksum)
    if (
        verify_checksum
        and src is not None
        and dst is not None
        and not icmp6_verifies(data, src, dst)
    ):
        raise BadChecksum(f"ICMPv6 type {kind}: checksum {checksum:#06x} does not verify")
    return message
