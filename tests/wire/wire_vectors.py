"""Hand-built test vectors for pingsock.wire, with the values they must decode to.

Checksums in these vectors were computed with a separate, plain RFC 1071 loop (not
pingsock's), so decoding them with ``verify_checksum=True`` checks our checksum code too.
Real kernel packets live in captured.txt (see capture.py); this file covers what a Linux
peer never sends on demand (Source Quench, Information, Address Mask, RFC 4884 extensions,
unusual codes and options).
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

from pingsock.wire import (
    EndOfOptions,
    ExtensionObject,
    ExtensionStructure,
    Icmp4AddressMaskReply,
    Icmp4AddressMaskRequest,
    Icmp4DestUnreachable,
    Icmp4EchoReply,
    Icmp4EchoRequest,
    Icmp4ExtendedEchoReply,
    Icmp4ExtendedEchoRequest,
    Icmp4InfoReply,
    Icmp4InfoRequest,
    Icmp4Message,
    Icmp4ParameterProblem,
    Icmp4SourceQuench,
    Icmp4TimeExceeded,
    Icmp4TimestampReply,
    Icmp6DestUnreachable,
    Icmp6EchoRequest,
    Icmp6ExtendedEchoReply,
    Icmp6ExtendedEchoRequest,
    Icmp6Message,
    Icmp6ParameterProblem,
    Icmp6TimeExceeded,
    InterfaceAddress,
    InterfaceIndex,
    IPOption,
    LooseSourceRoute,
    NoOperation,
    RawOption,
    RecordRoute,
    StrictSourceRoute,
    Timestamp,
    TimestampEntry,
    UnknownIcmp4,
    UnknownIcmp6,
)


def hx(data: bytes) -> str:
    """Spaced hex for ``data``, with a space on each side, for building vectors."""
    return f" {data.hex(' ')} "


def unhex(spaced: str) -> bytes:
    """Bytes from spaced hex such as ``"08 00 f7 fd"`` (line breaks allowed)."""
    return bytes.fromhex(" ".join(spaced.split()))


# An echo request from 192.0.2.1 to 198.51.100.7 with TTL 1, as a router quotes it: the
# IPv4 header, then the whole 16-byte ICMP message (ident 0x1234, seq 7, "abcdefgh").
ORIGINAL4 = unhex(
    "45 00 00 24 12 34 00 00 01 01 bb 69 c0 00 02 01 c6 33 64 07"
    " 08 00 54 2f 12 34 00 07 61 62 63 64 65 66 67 68"
)
# An ICMPv6 echo request 2001:db8::1 -> 2001:db8:ffff::9, hop limit 1 (ident 0x66, seq 1).
ORIGINAL6 = unhex(
    "60 00 00 00 00 0a 3a 01 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01"
    " 20 01 0d b8 ff ff 00 00 00 00 00 00 00 00 00 09 80 00 ad a1 00 66 00 01 76 36"
)
ZEROS_4884_4 = bytes(128 - len(ORIGINAL4))  # RFC 4884: the quote is padded to 128 bytes
ZEROS_4884_6 = bytes(128 - len(ORIGINAL6))

S6, D6 = IPv6Address("2001:db8::1"), IPv6Address("2001:db8::2")


@dataclass(frozen=True)
class Vector4:
    name: str
    hex: str
    message: Icmp4Message


@dataclass(frozen=True)
class Vector6:
    name: str
    hex: str
    message: Icmp6Message
    src: IPv6Address
    dst: IPv6Address


ICMP4: list[Vector4] = [
    Vector4("echo-request-empty", "08 00 f7 fd 00 01 00 01", Icmp4EchoRequest(1, 1)),
    Vector4(
        "echo-reply-odd-code",
        "00 05 40 0c be ef ff ff 00 ff",
        Icmp4EchoReply(0xBEEF, 0xFFFF, b"\x00\xff", code=5),
    ),
    Vector4(
        "source-quench",
        "04 00 8d 95 00 00 00 00" + hx(ORIGINAL4[:28]),
        Icmp4SourceQuench(ORIGINAL4[:28]),
    ),
    Vector4("info-request", "0f 00 e1 ed 0f 0f 00 03", Icmp4InfoRequest(0x0F0F, 3)),
    Vector4("info-reply", "10 00 e0 ed 0f 0f 00 03", Icmp4InfoReply(0x0F0F, 3)),
    Vector4(
        "address-mask-request",
        "11 00 dd ec 11 11 00 02 00 00 00 00",
        Icmp4AddressMaskRequest(0x1111, 2),
    ),
    Vector4(
        "address-mask-reply",
        "12 00 dd eb 11 11 00 02 ff ff ff 00",
        Icmp4AddressMaskReply(0x1111, 2, IPv4Address("255.255.255.0")),
    ),
    Vector4(
        "unknown-router-advertisement",
        "09 00 2b f7 01 02 07 08 c0 00 02 fe 00 00 00 00",
        UnknownIcmp4(9, 0, unhex("01 02 07 08 c0 00 02 fe 00 00 00 00")),
    ),
    Vector4(
        "dest-unreachable-short-quote",
        "03 01 a0 cf 00 00 00 00" + hx(ORIGINAL4[:24]),
        Icmp4DestUnreachable(1, ORIGINAL4[:24]),
    ),
    Vector4(
        "dest-unreachable-header-only",
        "03 03 fc fc 00 00 00 00" + hx(ORIGINAL4[:20]),
        Icmp4DestUnreachable(3, ORIGINAL4[:20]),
    ),
    Vector4(
        # RFC 4884 length 32 (128 bytes), then an RFC 4950 MPLS label stack object.
        "time-exceeded-rfc4884-mpls",
        "0b 00 f4 df 00 20 00 00"
        + hx(ORIGINAL4 + ZEROS_4884_4)
        + "20 00 8a 0d 00 08 01 01 03 e8 51 01",
        Icmp4TimeExceeded(
            0, ORIGINAL4 + ZEROS_4884_4 + unhex("20 00 8a 0d 00 08 01 01 03 e8 51 01"), length=32
        ),
    ),
    Vector4(
        "parameter-problem-bad-length",
        "0c 02 85 93 00 00 00 00" + hx(ORIGINAL4[:28]),
        Icmp4ParameterProblem(0, ORIGINAL4[:28], code=2),
    ),
    Vector4(
        "timestamp-reply-nonstandard",
        "0e 00 71 e7 00 09 00 09 80 00 00 01 00 00 00 02 00 00 00 03",
        Icmp4TimestampReply(9, 9, 0x80000001, 2, 3),
    ),
    Vector4(
        "extended-echo-ipv6-address",
        "2a 00 cb bc 42 42 c8 00 20 00 9f 28 00 18 03 03 00 02 10 00"
        " 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01",
        Icmp4ExtendedEchoRequest(
            0x4242,
            200,
            data=unhex(
                "20 00 9f 28 00 18 03 03 00 02 10 00"
                " 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01"
            ),
        ),
    ),
    Vector4(
        "extended-echo-reply-reachable",
        "2b 00 ca 77 42 42 c8 45",
        Icmp4ExtendedEchoReply(0x4242, 200, state=2, active=True, ipv6=True),
    ),
]

ICMP6: list[Vector6] = [
    Vector6(
        "echo-request",
        "80 00 7a 09 66 66 00 01 68 65 6c 6c 6f",
        Icmp6EchoRequest(0x6666, 1, b"hello"),
        S6,
        D6,
    ),
    Vector6(
        "time-exceeded-rfc4884",
        "03 00 f6 f4 10 00 00 00"
        + hx(ORIGINAL6 + ZEROS_4884_6)
        + "20 00 cc f6 00 08 01 01 00 01 11 ff",
        Icmp6TimeExceeded(
            0, ORIGINAL6 + ZEROS_4884_6 + unhex("20 00 cc f6 00 08 01 01 00 01 11 ff"), length=16
        ),
        D6,
        S6,
    ),
    Vector6(
        "dest-unreachable-reject-route",
        "01 05 09 4a 00 00 00 00" + hx(ORIGINAL6),
        Icmp6DestUnreachable(5, ORIGINAL6),
        D6,
        S6,
    ),
    Vector6(
        "router-solicitation-unknown",
        "85 00 4d fe 00 00 00 00",
        UnknownIcmp6(133, 0, bytes(4)),
        S6,
        IPv6Address("ff02::2"),
    ),
    Vector6(
        "extended-echo-by-index",
        "a0 00 03 34 00 07 01 01 20 00 dc f3 00 08 03 02 00 00 00 02",
        Icmp6ExtendedEchoRequest(
            7, 1, local=True, data=unhex("20 00 dc f3 00 08 03 02 00 00 00 02")
        ),
        S6,
        D6,
    ),
    Vector6(
        "extended-echo-reply-no-such-interface",
        "a1 02 02 3f 00 07 01 00",
        Icmp6ExtendedEchoReply(7, 1, code=2),
        D6,
        S6,
    ),
    Vector6(
        "parameter-problem-next-header",
        "04 01 7c 80 00 00 00 06" + hx(ORIGINAL6[:48]),
        Icmp6ParameterProblem(6, ORIGINAL6[:48], code=1),
        D6,
        S6,
    ),
]

# Extension structures expected inside the vectors above.
EXTENSIONS = {
    "time-exceeded-rfc4884-mpls": ExtensionStructure(
        (ExtensionObject(1, 1, unhex("03 e8 51 01")),)  # label 16005, S bit, TTL 1
    ),
    "extended-echo-ipv6-address": ExtensionStructure(
        (InterfaceAddress(IPv6Address("2001:db8::1")),)
    ),
    "time-exceeded-rfc4884": ExtensionStructure((ExtensionObject(1, 1, unhex("00 01 11 ff")),)),
    "extended-echo-by-index": ExtensionStructure((InterfaceIndex(2),)),
}

A1, A2 = IPv4Address("192.0.2.1"), IPv4Address("192.0.2.2")
Z = IPv4Address(0)

# IPv4 options areas (multiples of 4 bytes, as in a header) and what they decode to.
OPTIONS: list[tuple[str, str, tuple[IPOption, ...]]] = [
    ("ping -R", "07 27 04" + " 00" * 37, (RecordRoute(),)),
    ("ping -T tsonly", "44 28 05 00" + " 00" * 36, (Timestamp(),)),
    (
        "ping -T tsandaddr",
        "44 24 05 01" + " 00" * 32,
        (Timestamp((TimestampEntry(0, Z),) * 4, flag=1),),
    ),
    (
        "tsprespec",
        "44 14 05 03 c0 00 02 01 00 00 00 00 c0 00 02 02 00 00 00 00",
        (Timestamp((TimestampEntry(0, A1), TimestampEntry(0, A2)), flag=3),),
    ),
    (
        "timestamp overflow",
        "44 08 09 10 00 00 00 01",
        (Timestamp((TimestampEntry(1),), pointer=9, overflow=1),),
    ),
    ("lsrr", "83 0b 04 c0 00 02 01 c0 00 02 02 00", (LooseSourceRoute((A1, A2), 4),)),
    ("ssrr", "89 07 08 c0 00 02 01 00", (StrictSourceRoute((A1,), 8),)),
    ("router alert", "94 04 00 00", (RawOption(148, b"\x00\x00"),)),
    (
        "nop-aligned rr",
        "01 01 07 07 04 00 00 00 00 00 00 00",
        (NoOperation(), NoOperation(), RecordRoute((Z,), 4)),
    ),
    ("eol then junk", "01 00 ff ff", (NoOperation(), EndOfOptions(b"\xff\xff"))),
    ("eol on a word boundary", "01 01 01 01 00 00 00 00", (NoOperation(),) * 4 + (EndOfOptions(),)),
    ("irregular rr kept raw", "07 05 04 00 00 00 00 00", (RawOption(7, b"\x04\x00\x00"),)),
    (
        "unknown timestamp flag",
        "44 08 05 02 00 00 00 00",
        (RawOption(68, unhex("05 02 00 00 00 00")),),
    ),
    ("empty", "", ()),
]

CAPTURED_FILE = Path(__file__).with_name("captured.txt")


def captured() -> dict[str, bytes]:
    """The real packets of captured.txt, by name."""
    packets: dict[str, bytes] = {}
    for line in CAPTURED_FILE.read_text().splitlines():
        if line and not line.startswith("#"):
            name, spaced = line.split("\t")
            packets[name] = unhex(spaced)
    return packets
