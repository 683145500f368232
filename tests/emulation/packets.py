"""Hand-built packets for the emulation tests (checksums computed, layouts per RFC 791/792)."""

from __future__ import annotations

import struct

from pingsock.wire.checksum import internet_checksum


def icmp4(icmp_type: int, code: int, rest: bytes, body: bytes = b"") -> bytes:
    message = bytes([icmp_type, code]) + b"\0\0" + rest + body
    return message[:2] + struct.pack("!H", internet_checksum(message)) + message[4:]


def echo4(icmp_type: int, ident: int, seq: int, payload: bytes = b"abcdefgh") -> bytes:
    return icmp4(icmp_type, 0, struct.pack("!HH", ident, seq), payload)


def ipv4(src: str, dst: str, payload: bytes, *, proto: int = 1, ttl: int = 64) -> bytes:
    def raw(text: str) -> bytes:
        return bytes(int(p) for p in text.split("."))

    header = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0, ttl, proto, 0, raw(src), raw(dst)
    )
    header = header[:10] + struct.pack("!H", internet_checksum(header)) + header[12:]
    return header + payload


def error4(
    icmp_type: int,
    code: int,
    *,
    offender: str,
    quoted_echo: bytes,
    rest: bytes = bytes(4),
    original_dst: str = "203.0.113.1",
    me: str = "198.51.100.1",
) -> bytes:
    inner = ipv4(me, original_dst, quoted_echo)
    return ipv4(offender, me, icmp4(icmp_type, code, rest, inner))


def echo6(icmp_type: int, ident: int, seq: int, payload: bytes = b"abcdefgh") -> bytes:
    # The kernel verifies ICMPv6 checksums on raw sockets itself; the field is left 0.
    return bytes([icmp_type, 0, 0, 0]) + struct.pack("!HH", ident, seq) + payload


def ipv6_header(src: bytes, dst: bytes, payload_length: int, next_header: int = 58) -> bytes:
    return struct.pack("!IHBB16s16s", 6 << 28, payload_length, next_header, 64, src, dst)


def error6(icmp_type: int, code: int, quoted_echo: bytes, rest: bytes = bytes(4)) -> bytes:
    src = bytes.fromhex("20010db8000100000000000000000001")
    dst = bytes.fromhex("20010db8000200000000000000000001")
    inner = ipv6_header(src, dst, len(quoted_echo)) + quoted_echo
    return bytes([icmp_type, code, 0, 0]) + rest + inner
