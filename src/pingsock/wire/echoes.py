"""The field layouts of Echo and Extended Echo, shared by ICMPv4 and ICMPv6.

Echo (RFC 792; RFC 4443 sections 4.1, 4.2) and Extended Echo (RFC 8335 sections 2, 3) look
the same in both families; only the type numbers and the checksum rule differ. These frozen
base classes hold the fields, write the part after type/code/checksum (``_rest``) and read
it back (``_decode``). The concrete classes in :mod:`pingsock.wire.icmp4` and
:mod:`pingsock.wire.icmp6` add the type number and the family's ``encode()``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import TypeVar

from pingsock.wire.extended import ExtensionStructure, InterfaceId, decode_extensions
from pingsock.wire.message import split_word
from pingsock.wire.reader import Reader, pack

__all__ = [
    "CarriesExtensions",
    "EchoFields",
    "ExtendedEchoReplyFields",
    "ExtendedEchoRequestFields",
]

_ECHO_WORD = struct.Struct("!HH")  # identifier, sequence number
_EXTENDED_WORD = struct.Struct("!HBB")  # identifier, 8-bit sequence, flag byte

_Echo = TypeVar("_Echo", bound="EchoFields")
_Request = TypeVar("_Request", bound="ExtendedEchoRequestFields")
_Reply = TypeVar("_Reply", bound="ExtendedEchoReplyFields")


@dataclass(frozen=True, slots=True)
class EchoFields:
    """Echo Request / Echo Reply: identifier, sequence number, payload (RFC 792 "Echo")."""

    ident: int
    seq: int
    payload: bytes = b""
    code: int = 0  # always 0 on send; the kernel still delivers replies with any code (H1)
    checksum: int | None = field(default=None, compare=False)

    def _rest(self) -> bytes:
        return pack(_ECHO_WORD, self.ident, self.seq) + self.payload

    @classmethod
    def _decode(cls: type[_Echo], reader: Reader, code: int, checksum: int) -> _Echo:
        ident, seq = split_word(reader)
        return cls(ident, seq, reader.rest(), code, checksum)


class CarriesExtensions:
    """Mix-in: ``data`` (the bytes after the 8-byte header) read as an extension structure.

    Parsing waits until asked, so a malformed structure (which a PROBE responder answers
    with code 1, Malformed Query, RFC 8335 section 3) does not stop the header from decoding.
    """

    __slots__ = ()
    data: bytes

    def extensions(self, *, verify_checksum: bool = False) -> ExtensionStructure | None:
        """The ICMP extension structure in ``data``, or None when ``data`` is empty."""
        if not self.data:
            return None
        return decode_extensions(self.data, verify_checksum=verify_checksum)

    def interface(self) -> InterfaceId | None:
        """The Interface Identification Object (RFC 8335 section 2.1), when well formed."""
        structure = self.extensions()
        return None if structure is None else structure.interface


@dataclass(frozen=True, slots=True)
class ExtendedEchoRequestFields(CarriesExtensions):
    """Extended Echo Request (RFC 8335 section 2): a PROBE of one interface.

    The second header word is identifier (16 bits), sequence number (8 bits), 7 reserved
    bits and the L bit (``local``: the probed interface is on the node that answers).
    ``data`` holds the ICMP extension structure that follows, raw (see ``CarriesExtensions``).
    """

    ident: int
    seq: int
    local: bool = False
    data: bytes = b""
    code: int = 0
    reserved: int = 0  # the 7 reserved bits, kept so that odd senders round-trip
    checksum: int | None = field(default=None, compare=False)

    @classmethod
    def probe(
        cls: type[_Request], ident: int, seq: int, interface: InterfaceId, *, local: bool = False
    ) -> _Request:
        """A request naming ``interface`` in a one-object extension structure (RFC 8335 2)."""
        return cls(ident, seq, local, ExtensionStructure((interface,)).encode())

    def _rest(self) -> bytes:
        if not 0 <= self.reserved <= 0x7F:
            raise ValueError(f"reserved must fit in 7 bits, not {self.reserved}")
        flags = self.reserved << 1 | int(self.local)
        return pack(_EXTENDED_WORD, self.ident, self.seq, flags) + self.data

    @classmethod
    def _decode(cls: type[_Request], reader: Reader, code: int, checksum: int) -> _Request:
        ident, seq, flags = reader.unpack(_EXTENDED_WORD, "identifier and sequence")
        return cls(ident, seq, bool(flags & 1), reader.rest(), code, flags >> 1, checksum)


@dataclass(frozen=True, slots=True)
class ExtendedEchoReplyFields(CarriesExtensions):
    """Extended Echo Reply (RFC 8335 section 3).

    After identifier and 8-bit sequence come State (3 bits, :class:`ExtendedEchoState`),
    2 reserved bits, and the A (active), 4 (has IPv4) and 6 (has IPv6) bits. RFC 8335
    defines no body, but Linux copies the request's extension structure into the reply
    (seen in tests/wire/captured.txt), so whatever follows is kept in ``data``.
    """

    ident: int
    seq: int
    code: int = 0
    state: int = 0
    active: bool = False
    ipv4: bool = False
    ipv6: bool = False
    reserved: int = 0
    data: bytes = b""
    checksum: int | None = field(default=None, compare=False)

    def _rest(self) -> bytes:
        if not 0 <= self.state <= 7 or not 0 <= self.reserved <= 3:
            raise ValueError("state must fit in 3 bits and reserved in 2")
        flags = (
            self.state << 5
            | self.reserved << 3
            | int(self.active) << 2
            | int(self.ipv4) << 1
            | int(self.ipv6)
        )
        return pack(_EXTENDED_WORD, self.ident, self.seq, flags) + self.data

    @classmethod
    def _decode(cls: type[_Reply], reader: Reader, code: int, checksum: int) -> _Reply:
        ident, seq, flags = reader.unpack(_EXTENDED_WORD, "identifier and sequence")
        return cls(
            ident=ident,
            seq=seq,
            code=code,
            state=flags >> 5,
            active=bool(flags & 0b100),
            ipv4=bool(flags & 0b010),
            ipv6=bool(flags & 0b001),
            reserved=(flags >> 3) & 0b11,
            data=reader.rest(),
            checksum=checksum,
        )
