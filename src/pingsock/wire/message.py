"""What every ICMP and ICMPv6 message shares: the 8-byte header, the checksum, the quote.

Every message starts with type, code, checksum and a 4-byte word whose meaning depends on the
type (RFC 792; RFC 4443 section 2.1). The mix-ins here turn a message's type, code and
"rest" (that word plus the body) into wire bytes with the right checksum, and give ICMP
errors their views of the quoted datagram and RFC 4884 extensions. Concrete messages live
in :mod:`pingsock.wire.icmp4` and :mod:`pingsock.wire.icmp6`.
"""

from __future__ import annotations

import struct
from ipaddress import IPv6Address
from typing import ClassVar

from pingsock.errors import BadLength
from pingsock.wire.checksum import icmp6_checksum, internet_checksum
from pingsock.wire.extended import ExtensionStructure, decode_extensions
from pingsock.wire.quoted import QuotedDatagram, decode_quoted4, decode_quoted6
from pingsock.wire.reader import Reader, pack

__all__ = [
    "HEADER",
    "Icmp4Encoding",
    "Icmp6Encoding",
    "Quote",
    "QuoteWithLength",
    "fits",
    "header_word",
    "icmp6_verifies",
    "quote_with_extensions",
    "seal_icmp4",
    "seal_icmp6",
    "split_word",
]

HEADER = struct.Struct("!BBH")  # type, code, checksum; the 4-byte word follows
_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")
_RFC4884_MINIMUM = 128  # RFC 4884 4.1/4.2: the padded original datagram is at least 128 bytes


class Icmp4Encoding:
    """Mix-in: ``encode()`` for an ICMPv4 message from its type, code and ``_rest()``."""

    __slots__ = ()
    TYPE: ClassVar[int]
    IP_VERSION: ClassVar[int] = 4
    code: int

    def _rest(self) -> bytes:
        raise NotImplementedError

    def encode(self, *, checksum: int | None = None) -> bytes:
        """The message bytes. ``checksum=None`` computes the RFC 1071 checksum over the
        whole message (RFC 792); an int is written as given (to forge a bad one, say)."""
        return seal_icmp4(pack(HEADER, self.TYPE, self.code, 0) + self._rest(), checksum)


def seal_icmp4(data: bytes, checksum: int | None) -> bytes:
    """Write ``checksum`` (computed when None) into the ICMPv4 message ``data``."""
    if checksum is None:
        checksum = internet_checksum(data)
    return data[:2] + pack(_U16, checksum) + data[4:]


def _address_bytes(address: bytes | IPv6Address) -> bytes:
    return address.packed if isinstance(address, IPv6Address) else bytes(address)


class Icmp6Encoding:
    """Mix-in: ``encode()`` for an ICMPv6 message, with the pseudo-header checksum."""

    __slots__ = ()
    TYPE: ClassVar[int]
    IP_VERSION: ClassVar[int] = 6
    code: int

    def _rest(self) -> bytes:
        raise NotImplementedError

    def encode(
        self,
        *,
        src: bytes | IPv6Address | None = None,
        dst: bytes | IPv6Address | None = None,
        checksum: int | None = None,
    ) -> bytes:
        """The message bytes.

        An explicit ``checksum`` is written as given. Otherwise, with both ``src`` and
        ``dst``, the checksum covers the RFC 4443 section 2.3 pseudo-header; with neither it
        is left 0, which is what an ICMPv6 ping socket wants: the kernel computes it (spec
        M3). Passing only one address is a ``TypeError``.
        """
        data = pack(HEADER, self.TYPE, self.code, 0) + self._rest()
        return seal_icmp6(data, checksum, src, dst)


def seal_icmp6(
    data: bytes,
    checksum: int | None,
    src: bytes | IPv6Address | None,
    dst: bytes | IPv6Address | None,
) -> bytes:
    """Write the ICMPv6 checksum into ``data``: as given, else from the pseudo-header when
    both addresses are known, else leave it 0 for the kernel (see ``Icmp6Encoding``)."""
    if checksum is None:
        if (src is None) != (dst is None):
            raise TypeError("the ICMPv6 checksum needs both src and dst, or neither")
        if src is None or dst is None:
            return data
        checksum = icmp6_checksum(_address_bytes(src), _address_bytes(dst), data)
    return data[:2] + pack(_U16, checksum) + data[4:]


def icmp6_verifies(data: bytes, src: bytes | IPv6Address, dst: bytes | IPv6Address) -> bool:
    """True when ``data`` carries a correct ICMPv6 checksum between ``src`` and ``dst``."""
    return icmp6_checksum(_address_bytes(src), _address_bytes(dst), data) == 0


class Quote:
    """Mix-in for ICMP errors: ``quoted`` is everything after the 8-byte header, kept raw.

    Source Quench, Redirect, Packet Too Big and ICMPv6 Parameter Problem have no RFC 4884
    length field, so the whole of ``quoted`` is the original datagram.
    """

    __slots__ = ()
    IP_VERSION: ClassVar[int]
    quoted: bytes

    def original_datagram(self) -> bytes:
        """The bytes of the original datagram (without RFC 4884 extensions)."""
        return self.quoted

    def extensions(self, *, verify_checksum: bool = False) -> ExtensionStructure | None:
        """The RFC 4884 extension structure; this message type cannot carry one."""
        return None

    def quoted_datagram(self) -> QuotedDatagram:
        """Parse :meth:`original_datagram` (see :mod:`pingsock.wire.quoted` for the rules).

        Raises :class:`~pingsock.errors.PacketError` when the quoted IP header is not whole
        or not valid; the message itself decoded regardless.
        """
        data = self.original_datagram()
        return decode_quoted4(data) if self.IP_VERSION == 4 else decode_quoted6(data)


class QuoteWithLength(Quote):
    """Mix-in for errors with the RFC 4884 length field (``length``, 0 when absent).

    RFC 4884 section 4: a non-zero length gives the original datagram's size in 32-bit words
    (ICMPv4) or 64-bit words (ICMPv6); an extension structure may follow it.
    """

    __slots__ = ()
    length: int

    def _unit(self) -> int:
        return 4 if self.IP_VERSION == 4 else 8

    def original_datagram(self) -> bytes:
        """The original datagram: all of ``quoted`` without a length, else its first
        ``length`` words. ``BadLength`` when the length points past the message."""
        if self.length == 0:
            return self.quoted
        size = self.length * self._unit()
        if size > len(self.quoted):
            raise BadLength(
                f"RFC 4884 length {self.length} ({size} bytes) runs past the "
                f"{len(self.quoted)} quoted bytes"
            )
        return self.quoted[:size]

    def extensions(self, *, verify_checksum: bool = False) -> ExtensionStructure | None:
        """The extension structure after the original datagram, or None if there is none.

        RFC 4884 section 5: without a length field there are no extensions (the
        "non-compliant router" heuristic of section 5.4 is not applied).
        """
        if self.length == 0:
            return None
        rest = self.quoted[len(self.original_datagram()) :]
        if not rest:
            return None
        return decode_extensions(rest, verify_checksum=verify_checksum)


def quote_with_extensions(
    original: bytes, extensions: ExtensionStructure, *, ip_version: int
) -> tuple[int, bytes]:
    """Build ``(length, quoted)`` for an ICMP error carrying RFC 4884 extensions.

    The original datagram is zero-padded to a whole number of words (4 bytes for ICMPv4,
    8 for ICMPv6) and to at least 128 bytes, as RFC 4884 sections 4.1 and 4.2 require.
    """
    unit = 4 if ip_version == 4 else 8
    padded = original + b"\x00" * (-len(original) % unit)
    padded += b"\x00" * max(0, _RFC4884_MINIMUM - len(padded))
    return len(padded) // unit, padded + extensions.encode()


def fits(value: int, bits: int, name: str) -> int:
    """``value``, after checking that it fits an unsigned field of ``bits`` bits."""
    if not 0 <= value < 1 << bits:
        raise ValueError(f"{name} must fit in {bits} bits, not {value}")
    return value


def header_word(unused: int, unused_mask: int, named: int) -> bytes:
    """The header's second word: the named fields (already shifted into place) and the
    bits RFC 792 calls unused, which are kept so that odd senders round-trip exactly."""
    if not 0 <= unused <= 0xFFFFFFFF or unused & ~unused_mask:
        raise ValueError(f"unused bits {unused:#x} overlap the named fields ({unused_mask:#x})")
    return pack(_U32, unused | named)


def split_word(reader: Reader) -> tuple[int, int]:
    """Read the header's second word as two 16-bit halves (identifier, sequence)."""
    return reader.u16("identifier"), reader.u16("sequence number")
