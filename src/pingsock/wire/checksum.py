"""Internet checksums: RFC 1071 and the ICMPv6 pseudo-header sum (RFC 4443 section 2.3)."""

from __future__ import annotations

import struct

__all__ = ["icmp6_checksum", "internet_checksum"]

_PSEUDO_TAIL = struct.Struct("!I3xB")  # upper-layer length, 3 zero bytes, next header


def _ones_complement_sum(data: bytes) -> int:
    # RFC 1071 section 4.1: add 16-bit big-endian words; an odd trailing byte is padded with
    # a zero on the right. Summing one big integer then folding is the fast path in CPython.
    if len(data) % 2:
        data += b"\x00"
    total = sum(memoryview(data).cast("H"))  # native order; fixed below by byte swap if needed
    total = (total & 0xFFFF) + (total >> 16)
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def _to_network(value: int) -> int:
    # memoryview.cast("H") reads words in host order; on a little-endian host the folded sum is
    # byte-swapped relative to the RFC's big-endian sum (RFC 1071 section 2(B): byte order
    # independence), so swap it back once at the end.
    if struct.pack("=H", 1) == b"\x01\x00":
        return ((value & 0xFF) << 8) | (value >> 8)
    return value


def internet_checksum(data: bytes) -> int:
    """The RFC 1071 checksum of ``data``: 0 when ``data`` already holds a valid checksum."""
    return (~_to_network(_ones_complement_sum(bytes(data)))) & 0xFFFF


def icmp6_checksum(src: bytes, dst: bytes, message: bytes) -> int:
    """The ICMPv6 checksum of ``message`` between 16-byte addresses ``src`` and ``dst``.

    RFC 4443 section 2.3 / RFC 8200 section 8.1: the sum covers a pseudo-header of source,
    destination, upper-layer length and next header 58.
    """
    if len(src) != 16 or len(dst) != 16:
        raise ValueError("IPv6 addresses must be 16 bytes")
    pseudo = src + dst + _PSEUDO_TAIL.pack(len(message), 58)
    return internet_checksum(pseudo + bytes(message))
