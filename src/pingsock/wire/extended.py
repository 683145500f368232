"""ICMP extension structures (RFC 4884 section 7) and PROBE's interface objects (RFC 8335).

An extension structure is a 4-byte header (version 2, reserved bits, checksum) followed by
objects, each a 4-byte header (length, class-num, c-type) and a payload. ICMP errors may carry
one after their padded original datagram (RFC 4884 section 4); an Extended Echo Request carries
one right after its 8-byte header, holding the Interface Identification Object that names the
probed interface (RFC 8335 section 2.1).

Objects decode to a typed value only when encoding that value gives back the exact payload
bytes; anything else (an unknown class, an address length that disagrees with its AFI,
non-zero padding) is kept as a raw :class:`ExtensionObject`. So decoding never guesses, and
``decode_extensions(s.encode()) == s`` for every structure ``s``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address
from typing import ClassVar

from pingsock.errors import BadChecksum, BadLength, PacketError
from pingsock.wire.checksum import internet_checksum
from pingsock.wire.reader import Reader, pack

__all__ = [
    "AnyExtensionObject",
    "ExtensionObject",
    "ExtensionStructure",
    "InterfaceAddress",
    "InterfaceId",
    "InterfaceIndex",
    "InterfaceName",
    "decode_extensions",
]

_STRUCTURE_HEADER = struct.Struct("!HH")  # version(4) + reserved(12), checksum
_OBJECT_HEADER = struct.Struct("!HBB")  # length, class-num, c-type
_ADDRESS_HEADER = struct.Struct("!HBB")  # AFI, address length, reserved
_INDEX = struct.Struct("!I")

EXTENSION_VERSION = 2  # RFC 4884 section 7.1: the only version defined
INTERFACE_ID_CLASS = 3  # RFC 8335 section 2.1: Interface Identification Object
_AFI_IPV4 = 1  # IANA Address Family Numbers, used by RFC 8335 section 2.1 c-type 3
_AFI_IPV6 = 2


def _pad4(data: bytes, fill: bytes = b"\x00") -> bytes:
    return data + fill * (-len(data) % 4)


@dataclass(frozen=True, slots=True)
class ExtensionObject:
    """Any extension object, kept raw: ``class_num``, ``c_type`` and the payload bytes."""

    class_num: int
    c_type: int
    payload: bytes = b""

    def encode(self) -> bytes:
        return _encode_object(self.class_num, self.c_type, self.payload)


@dataclass(frozen=True, slots=True)
class InterfaceName:
    """Interface Identification Object, c-type 1: the interface's name (RFC 8335 section 2.1).

    The name is padded with NUL bytes to a 32-bit boundary on the wire; bytes that are not
    UTF-8 survive through ``surrogateescape``.
    """

    CLASS_NUM: ClassVar[int] = INTERFACE_ID_CLASS
    C_TYPE: ClassVar[int] = 1

    name: str

    def payload(self) -> bytes:
        if self.name.endswith("\x00"):
            raise ValueError("an interface name cannot end in NUL: the padding would eat it")
        return _pad4(self.name.encode("utf-8", "surrogateescape"))

    def encode(self) -> bytes:
        return _encode_object(self.CLASS_NUM, self.C_TYPE, self.payload())


@dataclass(frozen=True, slots=True)
class InterfaceIndex:
    """Interface Identification Object, c-type 2: the 32-bit ifIndex (RFC 8335 section 2.1)."""

    CLASS_NUM: ClassVar[int] = INTERFACE_ID_CLASS
    C_TYPE: ClassVar[int] = 2

    index: int

    def payload(self) -> bytes:
        return pack(_INDEX, self.index)

    def encode(self) -> bytes:
        return _encode_object(self.CLASS_NUM, self.C_TYPE, self.payload())


@dataclass(frozen=True, slots=True)
class InterfaceAddress:
    """Interface Identification Object, c-type 3: an address on the interface (RFC 8335 2.1).

    The payload is AFI (1 = IPv4, 2 = IPv6), address length, a reserved zero byte, and the
    address; both address sizes already end on a 32-bit boundary, so there is no padding.
    """

    CLASS_NUM: ClassVar[int] = INTERFACE_ID_CLASS
    C_TYPE: ClassVar[int] = 3

    address: IPv4Address | IPv6Address

    def payload(self) -> bytes:
        afi = _AFI_IPV4 if self.address.version == 4 else _AFI_IPV6
        packed = self.address.packed
        return pack(_ADDRESS_HEADER, afi, len(packed), 0) + packed

    def encode(self) -> bytes:
        return _encode_object(self.CLASS_NUM, self.C_TYPE, self.payload())


AnyExtensionObject = ExtensionObject | InterfaceName | InterfaceIndex | InterfaceAddress
InterfaceId = InterfaceName | InterfaceIndex | InterfaceAddress


def _encode_object(class_num: int, c_type: int, payload: bytes) -> bytes:
    # RFC 4884 section 7.2: the length counts the 4-byte object header and the payload.
    return pack(_OBJECT_HEADER, _OBJECT_HEADER.size + len(payload), class_num, c_type) + payload


@dataclass(frozen=True, slots=True)
class ExtensionStructure:
    """An ICMP extension structure (RFC 4884 section 7).

    ``checksum`` is the value carried on the wire (``None`` for a structure built in code):
    :meth:`encode` writes it unchanged when set, so decoded structures re-encode to the same
    bytes, and computes it when ``None``. It takes no part in equality.
    """

    objects: tuple[AnyExtensionObject, ...] = ()
    reserved: int = 0  # the 12 bits after the version; RFC 4884 7.1 says they must be zero
    checksum: int | None = field(default=None, compare=False)

    @property
    def interface(self) -> InterfaceId | None:
        """The first well-formed Interface Identification Object (RFC 8335 section 2.1)."""
        for obj in self.objects:
            if isinstance(obj, InterfaceName | InterfaceIndex | InterfaceAddress):
                return obj
        return None

    def encode(self) -> bytes:
        if not 0 <= self.reserved < 1 << 12:
            raise ValueError(f"reserved must fit in 12 bits, not {self.reserved}")
        body = b"".join(obj.encode() for obj in self.objects)
        word = EXTENSION_VERSION << 12 | self.reserved
        checksum = self.checksum
        if checksum is None:
            checksum = internet_checksum(pack(_STRUCTURE_HEADER, word, 0) + body)
        return pack(_STRUCTURE_HEADER, word, checksum) + body


def decode_extensions(data: bytes, *, verify_checksum: bool = False) -> ExtensionStructure:
    """Decode an extension structure that fills ``data`` exactly.

    Raises :class:`~pingsock.errors.PacketError` for a version other than 2, ``BadLength``
    for an object length below 4 or past the end, ``TruncatedPacket`` for a cut header, and
    ``BadChecksum`` (only with ``verify_checksum``) when a non-zero checksum does not verify;
    RFC 4884 section 7.1 lets a sender leave the checksum zero.
    """
    reader = Reader(data, "ICMP extension structure")
    word, checksum = reader.unpack(_STRUCTURE_HEADER, "header")
    version = word >> 12
    if version != EXTENSION_VERSION:
        raise PacketError(f"ICMP extension structure: version {version}, only 2 is defined")
    if verify_checksum and checksum != 0 and internet_checksum(data) != 0:
        raise BadChecksum(f"ICMP extension structure: checksum {checksum:#06x} does not verify")
    objects: list[AnyExtensionObject] = []
    while reader.remaining:
        start = reader.offset
        length, class_num, c_type = reader.unpack(_OBJECT_HEADER, "object header")
        if length < _OBJECT_HEADER.size:
            raise BadLength(f"ICMP extension object at offset {start}: length {length} < 4")
        if length - _OBJECT_HEADER.size > reader.remaining:
            raise BadLength(
                f"ICMP extension object at offset {start}: length {length} runs past the "
                f"structure ({reader.remaining + _OBJECT_HEADER.size} bytes left)"
            )
        payload = reader.take(length - _OBJECT_HEADER.size, "object payload")
        objects.append(_typed_object(class_num, c_type, payload))
    return ExtensionStructure(tuple(objects), word & 0x0FFF, checksum)


def _typed_object(class_num: int, c_type: int, payload: bytes) -> AnyExtensionObject:
    typed: InterfaceId | None = None
    if class_num == INTERFACE_ID_CLASS:
        if c_type == InterfaceName.C_TYPE:
            typed = InterfaceName(payload.rstrip(b"\x00").decode("utf-8", "surrogateescape"))
        elif c_type == InterfaceIndex.C_TYPE and len(payload) == _INDEX.size:
            typed = InterfaceIndex(_INDEX.unpack(payload)[0])
        elif c_type == InterfaceAddress.C_TYPE:
            typed = _address_object(payload)
    # Keep the typed form only when it reproduces the payload exactly (see module docstring).
    if typed is not None and typed.payload() == payload:
        return typed
    return ExtensionObject(class_num, c_type, payload)


def _address_object(payload: bytes) -> InterfaceAddress | None:
    if len(payload) == _ADDRESS_HEADER.size + 4 and payload[:2] == b"\x00\x01":
        return InterfaceAddress(IPv4Address(payload[4:]))
    if len(payload) == _ADDRESS_HEADER.size + 16 and payload[:2] == b"\x00\x02":
        return InterfaceAddress(IPv6Address(payload[4:]))
    return None
