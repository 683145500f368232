"""ICMPv4 messages (RFC 792, RFC 950, RFC 1191, RFC 4884, RFC 8335) and their decoder.

Each message type is a frozen dataclass with ``encode(*, checksum=None)``;
:func:`decode_icmp4` turns any byte string into one of them or raises a
:class:`~pingsock.errors.PacketError`. Unknown types decode to :class:`UnknownIcmp4`, and
every field that RFC 792 calls "unused" is kept (``unused``, as the header word with the
named fields cleared), so every ``data`` that decodes to ``m`` comes back from
``m.encode(checksum=m.checksum)`` byte for byte.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import ClassVar, TypeVar

from pingsock.errors import BadChecksum
from pingsock.wire.checksum import internet_checksum
from pingsock.wire.echoes import EchoFields, ExtendedEchoReplyFields, ExtendedEchoRequestFields
from pingsock.wire.message import (
    HEADER,
    Icmp4Encoding,
    Quote,
    QuoteWithLength,
    fits,
    header_word,
    seal_icmp4,
    split_word,
)
from pingsock.wire.numbers import Icmp4Type
from pingsock.wire.reader import Reader, pack

__all__ = [
    "Icmp4AddressMaskReply",
    "Icmp4AddressMaskRequest",
    "Icmp4DestUnreachable",
    "Icmp4EchoReply",
    "Icmp4EchoRequest",
    "Icmp4Error",
    "Icmp4ExtendedEchoReply",
    "Icmp4ExtendedEchoRequest",
    "Icmp4InfoReply",
    "Icmp4InfoRequest",
    "Icmp4Message",
    "Icmp4ParameterProblem",
    "Icmp4Redirect",
    "Icmp4SourceQuench",
    "Icmp4TimeExceeded",
    "Icmp4TimestampReply",
    "Icmp4TimestampRequest",
    "UnknownIcmp4",
    "decode_icmp4",
]

_IDENT_SEQ = struct.Struct("!HH")  # identifier, sequence number
_TIMES = struct.Struct("!III")  # originate, receive, transmit (RFC 792 "Timestamp")
_NO_MASK = IPv4Address(0)
_Timestamp = TypeVar("_Timestamp", bound="_TimestampFields")
_Info = TypeVar("_Info", bound="_InfoFields")
_Mask = TypeVar("_Mask", bound="_AddressMaskFields")


@dataclass(frozen=True, slots=True)
class Icmp4EchoReply(EchoFields, Icmp4Encoding):
    """Echo Reply, type 0 (RFC 792)."""

    TYPE: ClassVar[int] = Icmp4Type.ECHO_REPLY


@dataclass(frozen=True, slots=True)
class Icmp4EchoRequest(EchoFields, Icmp4Encoding):
    """Echo Request, type 8 (RFC 792)."""

    TYPE: ClassVar[int] = Icmp4Type.ECHO_REQUEST


@dataclass(frozen=True, slots=True)
class Icmp4DestUnreachable(QuoteWithLength, Icmp4Encoding):
    """Destination Unreachable, type 3 (RFC 792; codes in :class:`DestUnreachableCode`).

    Word layout: unused (8 bits), RFC 4884 ``length`` (8), ``next_hop_mtu`` (16), which RFC
    1191 section 4 defines for code 4 (fragmentation needed) and is unused otherwise.
    """

    TYPE: ClassVar[int] = Icmp4Type.DEST_UNREACHABLE
    _UNUSED: ClassVar[int] = 0xFF000000

    code: int
    quoted: bytes = b""
    next_hop_mtu: int = 0
    length: int = 0
    unused: int = 0
    checksum: int | None = field(default=None, compare=False)

    def _rest(self) -> bytes:
        named = fits(self.length, 8, "length") << 16 | fits(self.next_hop_mtu, 16, "mtu")
        return header_word(self.unused, self._UNUSED, named) + self.quoted

    @classmethod
    def _decode(cls, reader: Reader, code: int, checksum: int) -> Icmp4DestUnreachable:
        word = reader.u32("length and next-hop MTU")
        return cls(
            code, reader.rest(), word & 0xFFFF, (word >> 16) & 0xFF, word & cls._UNUSED, checksum
        )


@dataclass(frozen=True, slots=True)
class Icmp4SourceQuench(Quote, Icmp4Encoding):
    """Source Quench, type 4 (RFC 792; deprecated by RFC 6633 but still decoded)."""

    TYPE: ClassVar[int] = Icmp4Type.SOURCE_QUENCH

    quoted: bytes = b""
    code: int = 0
    unused: int = 0
    checksum: int | None = field(default=None, compare=False)

    def _rest(self) -> bytes:
        return header_word(self.unused, 0xFFFFFFFF, 0) + self.quoted

    @classmethod
    def _decode(cls, reader: Reader, code: int, checksum: int) -> Icmp4SourceQuench:
        unused = reader.u32("unused")
        return cls(reader.rest(), code, unused, checksum)


@dataclass(frozen=True, slots=True)
class Icmp4Redirect(Quote, Icmp4Encoding):
    """Redirect, type 5 (RFC 792; codes in :class:`RedirectCode`): use ``gateway`` instead."""

    TYPE: ClassVar[int] = Icmp4Type.REDIRECT

    code: int
    gateway: IPv4Address
    quoted: bytes = b""
    checksum: int | None = field(default=None, compare=False)

    def _rest(self) -> bytes:
        return self.gateway.packed + self.quoted

    @classmethod
    def _decode(cls, reader: Reader, code: int, checksum: int) -> Icmp4Redirect:
        gateway = reader.ipv4("gateway address")
        return cls(code, gateway, reader.rest(), checksum)


@dataclass(frozen=True, slots=True)
class Icmp4TimeExceeded(QuoteWithLength, Icmp4Encoding):
    """Time Exceeded, type 11 (RFC 792; codes in :class:`TimeExceededCode`).

    Word layout: unused (8 bits), RFC 4884 ``length`` (8), unused (16).
    """

    TYPE: ClassVar[int] = Icmp4Type.TIME_EXCEEDED
    _UNUSED: ClassVar[int] = 0xFF00FFFF

    code: int
    quoted: bytes = b""
    length: int = 0
    unused: int = 0
    checksum: int | None = field(default=None, compare=False)

    def _rest(self) -> bytes:
        named = fits(self.length, 8, "length") << 16
        return header_word(self.unused, self._UNUSED, named) + self.quoted

    @classmethod
    def _decode(cls, reader: Reader, code: int, checksum: int) -> Icmp4TimeExceeded:
        word = reader.u32("length")
        return cls(code, reader.rest(), (word >> 16) & 0xFF, word & cls._UNUSED, checksum)


@dataclass(frozen=True, slots=True)
class Icmp4ParameterProblem(QuoteWithLength, Icmp4Encoding):
    """Parameter Problem, type 12 (RFC 792; codes in :class:`ParameterProblemCode`).

    Word layout: ``pointer`` (8 bits, the octet of the quoted header in error), RFC 4884
    ``length`` (8), unused (16).
    """

    TYPE: ClassVar[int] = Icmp4Type.PARAMETER_PROBLEM
    _UNUSED: ClassVar[int] = 0x0000FFFF

    pointer: int
    quoted: bytes = b""
    code: int = 0
    length: int = 0
    unused: int = 0
    checksum: int | None = field(default=None, compare=False)

    def _rest(self) -> bytes:
        named = fits(self.pointer, 8, "pointer") << 24 | fits(self.length, 8, "length") << 16
        return header_word(self.unused, self._UNUSED, named) + self.quoted

    @classmethod
    def _decode(cls, reader: Reader, code: int, checksum: int) -> Icmp4ParameterProblem:
        word = reader.u32("pointer and length")
        return cls(word >> 24, reader.rest(), code, (word >> 16) & 0xFF, word & 0xFFFF, checksum)


@dataclass(frozen=True, slots=True)
class _TimestampFields:
    # RFC 792 "Timestamp or Timestamp Reply": identifier, sequence, then three 32-bit times
    # in milliseconds since midnight UT (high bit set: a non-standard value).
    ident: int
    seq: int
    originate: int = 0
    receive: int = 0
    transmit: int = 0
    code: int = 0
    trailing: bytes = b""  # bytes after the 20-byte message, kept for exact round trips
    checksum: int | None = field(default=None, compare=False)

    def _rest(self) -> bytes:
        times = pack(_TIMES, self.originate, self.receive, self.transmit)
        return pack(_IDENT_SEQ, self.ident, self.seq) + times + self.trailing

    @classmethod
    def _decode(cls: type[_Timestamp], reader: Reader, code: int, checksum: int) -> _Timestamp:
        ident, seq = split_word(reader)
        originate, receive, transmit = reader.unpack(_TIMES, "timestamps")
        return cls(ident, seq, originate, receive, transmit, code, reader.rest(), checksum)


@dataclass(frozen=True, slots=True)
class Icmp4TimestampRequest(_TimestampFields, Icmp4Encoding):
    """Timestamp, type 13 (RFC 792)."""

    TYPE: ClassVar[int] = Icmp4Type.TIMESTAMP_REQUEST


@dataclass(frozen=True, slots=True)
class Icmp4TimestampReply(_TimestampFields, Icmp4Encoding):
    """Timestamp Reply, type 14 (RFC 792)."""

    TYPE: ClassVar[int] = Icmp4Type.TIMESTAMP_REPLY


@dataclass(frozen=True, slots=True)
class _InfoFields:
    # RFC 792 "Information Request or Information Reply": identifier and sequence only.
    ident: int
    seq: int
    code: int = 0
    trailing: bytes = b""
    checksum: int | None = field(default=None, compare=False)

    def _rest(self) -> bytes:
        return pack(_IDENT_SEQ, self.ident, self.seq) + self.trailing

    @classmethod
    def _decode(cls: type[_Info], reader: Reader, code: int, checksum: int) -> _Info:
        ident, seq = split_word(reader)
        return cls(ident, seq, code, reader.rest(), checksum)


@dataclass(frozen=True, slots=True)
class Icmp4InfoRequest(_InfoFields, Icmp4Encoding):
    """Information Request, type 15 (RFC 792; deprecated by RFC 6918)."""

    TYPE: ClassVar[int] = Icmp4Type.INFO_REQUEST


@dataclass(frozen=True, slots=True)
class Icmp4InfoReply(_InfoFields, Icmp4Encoding):
    """Information Reply, type 16 (RFC 792; deprecated by RFC 6918)."""

    TYPE: ClassVar[int] = Icmp4Type.INFO_REPLY


@dataclass(frozen=True, slots=True)
class _AddressMaskFields:
    # RFC 950 appendix I: identifier, sequence, then the 32-bit subnet mask.
    ident: int
    seq: int
    mask: IPv4Address = _NO_MASK
    code: int = 0
    trailing: bytes = b""
    checksum: int | None = field(default=None, compare=False)

    def _rest(self) -> bytes:
        return pack(_IDENT_SEQ, self.ident, self.seq) + self.mask.packed + self.trailing

    @classmethod
    def _decode(cls: type[_Mask], reader: Reader, code: int, checksum: int) -> _Mask:
        ident, seq = split_word(reader)
        mask = reader.ipv4("address mask")
        return cls(ident, seq, mask, code, reader.rest(), checksum)


@dataclass(frozen=True, slots=True)
class Icmp4AddressMaskRequest(_AddressMaskFields, Icmp4Encoding):
    """Address Mask Request, type 17 (RFC 950)."""

    TYPE: ClassVar[int] = Icmp4Type.ADDRESS_MASK_REQUEST


@dataclass(frozen=True, slots=True)
class Icmp4AddressMaskReply(_AddressMaskFields, Icmp4Encoding):
    """Address Mask Reply, type 18 (RFC 950)."""

    TYPE: ClassVar[int] = Icmp4Type.ADDRESS_MASK_REPLY


@dataclass(frozen=True, slots=True)
class Icmp4ExtendedEchoRequest(ExtendedEchoRequestFields, Icmp4Encoding):
    """Extended Echo Request, type 42 (RFC 8335 section 2): PROBE."""

    TYPE: ClassVar[int] = Icmp4Type.EXTENDED_ECHO_REQUEST


@dataclass(frozen=True, slots=True)
class Icmp4ExtendedEchoReply(ExtendedEchoReplyFields, Icmp4Encoding):
    """Extended Echo Reply, type 43 (RFC 8335 section 3)."""

    TYPE: ClassVar[int] = Icmp4Type.EXTENDED_ECHO_REPLY


@dataclass(frozen=True, slots=True)
class UnknownIcmp4:
    """Any other ICMPv4 type: ``rest`` is everything after the checksum (at least 4 bytes)."""

    type: int
    code: int
    rest: bytes
    checksum: int | None = field(default=None, compare=False)

    def encode(self, *, checksum: int | None = None) -> bytes:
        if len(self.rest) < 4:
            raise ValueError("every ICMP message has an 8-byte header: rest needs 4 bytes")
        return seal_icmp4(pack(HEADER, self.type, self.code, 0) + self.rest, checksum)


Icmp4Message = (
    Icmp4EchoReply
    | Icmp4DestUnreachable
    | Icmp4SourceQuench
    | Icmp4Redirect
    | Icmp4EchoRequest
    | Icmp4TimeExceeded
    | Icmp4ParameterProblem
    | Icmp4TimestampRequest
    | Icmp4TimestampReply
    | Icmp4InfoRequest
    | Icmp4InfoReply
    | Icmp4AddressMaskRequest
    | Icmp4AddressMaskReply
    | Icmp4ExtendedEchoRequest
    | Icmp4ExtendedEchoReply
    | UnknownIcmp4
)

# The error messages: each quotes the datagram that caused it (``quoted_datagram()``).
Icmp4Error = (
    Icmp4DestUnreachable
    | Icmp4SourceQuench
    | Icmp4Redirect
    | Icmp4TimeExceeded
    | Icmp4ParameterProblem
)

_Decoder = Callable[[Reader, int, int], Icmp4Message]

_DECODERS: dict[int, _Decoder] = {
    Icmp4Type.ECHO_REPLY: Icmp4EchoReply._decode,
    Icmp4Type.DEST_UNREACHABLE: Icmp4DestUnreachable._decode,
    Icmp4Type.SOURCE_QUENCH: Icmp4SourceQuench._decode,
    Icmp4Type.REDIRECT: Icmp4Redirect._decode,
    Icmp4Type.ECHO_REQUEST: Icmp4EchoRequest._decode,
    Icmp4Type.TIME_EXCEEDED: Icmp4TimeExceeded._decode,
    Icmp4Type.PARAMETER_PROBLEM: Icmp4ParameterProblem._decode,
    Icmp4Type.TIMESTAMP_REQUEST: Icmp4TimestampRequest._decode,
    Icmp4Type.TIMESTAMP_REPLY: Icmp4TimestampReply._decode,
    Icmp4Type.INFO_REQUEST: Icmp4InfoRequest._decode,
    Icmp4Type.INFO_REPLY: Icmp4InfoReply._decode,
    Icmp4Type.ADDRESS_MASK_REQUEST: Icmp4AddressMaskRequest._decode,
    Icmp4Type.ADDRESS_MASK_REPLY: Icmp4AddressMaskReply._decode,
    Icmp4Type.EXTENDED_ECHO_REQUEST: Icmp4ExtendedEchoRequest._decode,
    Icmp4Type.EXTENDED_ECHO_REPLY: Icmp4ExtendedEchoReply._decode,
}


def decode_icmp4(data: bytes, *, verify_checksum: bool = False) -> Icmp4Message:
    """Decode one ICMPv4 message (no IP header: what a ping socket's ``recv`` returns).

    Raises ``TruncatedPacket`` when the message is shorter than its type's fixed part (8 bytes
    for all, 20 for Timestamp, 12 for Address Mask) and, with ``verify_checksum``,
    ``BadChecksum`` when the RFC 792 checksum over the whole message does not verify.
    """
    data = bytes(data)
    reader = Reader(data, "ICMPv4 message")
    kind, code, checksum = reader.unpack(HEADER, "header")
    decoder = _DECODERS.get(kind)
    if decoder is not None:
        message = decoder(reader, code, checksum)
    else:
        reader.require(4, "rest of header")  # RFC 792: every message has the 8-byte header
        message = UnknownIcmp4(kind, code, data[4:], checksum)
    if verify_checksum and internet_checksum(data) != 0:
        raise BadChecksum(f"ICMPv4 type {kind}: checksum {checksum:#06x} does not verify")
    return message
