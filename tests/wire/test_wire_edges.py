"""Edge cases and API contracts of pingsock.wire, one rule per test."""

from __future__ import annotations

import ast
import dataclasses
import struct
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wire_vectors import ORIGINAL4, ORIGINAL6, unhex

import pingsock.wire
from pingsock.errors import BadChecksum, BadLength, BadOptionLength, PacketError, TruncatedPacket
from pingsock.wire import (
    DestUnreachableCode,
    EndOfOptions,
    ExtensionObject,
    ExtensionStructure,
    Icmp4DestUnreachable,
    Icmp4EchoReply,
    Icmp4EchoRequest,
    Icmp4ExtendedEchoRequest,
    Icmp4TimeExceeded,
    Icmp4Type,
    Icmp6EchoRequest,
    Icmp6ExtendedEchoReply,
    InterfaceName,
    IPv4Header,
    IPv6Header,
    RawOption,
    RecordRoute,
    Timestamp,
    TimestampEntry,
    UnknownIcmp4,
    UnknownIcmp6,
    decode_extensions,
    decode_icmp4,
    decode_icmp6,
    decode_ipv4_header,
    decode_ipv4_packet,
    decode_options,
    decode_quoted4,
    decode_quoted6,
    encode_options,
    internet_checksum,
)

SRC, DST = IPv4Address("192.0.2.1"), IPv4Address("192.0.2.2")
SRC6, DST6 = IPv6Address("2001:db8::1"), IPv6Address("2001:db8::2")


# -- checksums ----------------------------------------------------------------------------


def test_rfc1071_worked_example() -> None:
    # RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2.
    assert internet_checksum(unhex("00 01 f2 03 f4 f5 f6 f7")) == 0xFFFF - 0xDDF2
    # An odd byte is padded with zero on the right (section 4.1): 0001+f203+f4f5+f600.
    assert internet_checksum(unhex("00 01 f2 03 f4 f5 f6")) == 0xFFFF - 0xDCFB


def _reference_checksum(data: bytes) -> int:
    # A deliberately plain RFC 1071 loop to check the fast one against.
    total = 0
    for i in range(0, len(data), 2):
        total += (data[i] << 8) + (data[i + 1] if i + 1 < len(data) else 0)
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_checksum_matches_a_plain_loop(data: bytes) -> None:
    assert internet_checksum(data) == _reference_checksum(data)
    sealed = data + internet_checksum(data + bytes(len(data) % 2)).to_bytes(2, "big")
    if len(data) % 2 == 0:
        assert internet_checksum(sealed) == 0


def test_bad_checksums_only_fail_when_verifying() -> None:
    data = Icmp4EchoRequest(1, 2, b"x").encode(checksum=0xDEAD)
    assert decode_icmp4(data).checksum == 0xDEAD
    with pytest.raises(BadChecksum):
        decode_icmp4(data, verify_checksum=True)
    data6 = Icmp6EchoRequest(1, 2).encode(src=SRC6, dst=DST6)
    decode_icmp6(data6, verify_checksum=True, src=SRC6, dst=DST6)
    with pytest.raises(BadChecksum):
        decode_icmp6(data6, verify_checksum=True, src=SRC6, dst=SRC6)  # wrong pseudo-header
    header = IPv4Header(SRC, DST, 20).encode(checksum=1)
    assert decode_ipv4_header(header).checksum == 1
    with pytest.raises(BadChecksum):
        decode_ipv4_header(header, verify_checksum=True)


def test_checksum_takes_no_part_in_equality() -> None:
    assert Icmp4EchoRequest(1, 2, checksum=5) == Icmp4EchoRequest(1, 2)
    assert hash(Icmp4EchoRequest(1, 2, checksum=5)) == hash(Icmp4EchoRequest(1, 2))
    request: object = Icmp4EchoRequest(1, 2)
    assert request != Icmp4EchoReply(1, 2)  # the type does


# -- API misuse is a programming error, not a packet error ------------------------------------


def test_icmp6_checksum_needs_both_addresses() -> None:
    with pytest.raises(TypeError, match="src and dst"):
        decode_icmp6(Icmp6EchoRequest(1, 1).encode(), verify_checksum=True)
    with pytest.raises(TypeError):
        Icmp6EchoRequest(1, 1).encode(src=SRC6)
    with pytest.raises(TypeError):
        UnknownIcmp6(200, 0, bytes(4)).encode(dst=DST6.packed)
    assert Icmp6EchoRequest(1, 1).encode(checksum=7)[2:4] == b"\x00\x07"


@pytest.mark.parametrize(
    "build",
    [
        lambda: Icmp4EchoRequest(70000, 1).encode(),
        lambda: Icmp4EchoRequest(1, 1, code=256).encode(),
        lambda: Icmp4DestUnreachable(3, length=256).encode(),
        lambda: Icmp4DestUnreachable(3, unused=0xFFFF).encode(),  # overlaps the MTU field
        lambda: Icmp4TimeExceeded(0, unused=1 << 32).encode(),
        lambda: Icmp4ExtendedEchoRequest(1, 256).encode(),  # the sequence has 8 bits
        lambda: Icmp4ExtendedEchoRequest(1, 1, reserved=128).encode(),
        lambda: Icmp6ExtendedEchoReply(1, 1, state=8).encode(),
        lambda: UnknownIcmp4(99, 0, b"abc").encode(),
        lambda: UnknownIcmp6(99, 0, b"abc").encode(),
        lambda: IPv4Header(SRC, DST, 20, flags=8).encode(),
        lambda: IPv6Header(SRC6, DST6, 0, flow_label=1 << 20).encode(),
        lambda: encode_options([RecordRoute((SRC,) * 10)]),  # 43 bytes
        lambda: encode_options([RawOption(1, b"")]),
        lambda: encode_options([Timestamp(flag=2)]),
        lambda: encode_options([Timestamp((TimestampEntry(1, SRC),), flag=0)]),
        lambda: encode_options([Timestamp(overflow=16)]),
        lambda: InterfaceName("lo\x00").encode(),
        lambda: ExtensionStructure(reserved=1 << 12).encode(),
    ],
)
def test_fields_that_do_not_fit_raise_value_error(build: object) -> None:
    with pytest.raises(ValueError) as caught:
        build()  # type: ignore[operator]
    assert not isinstance(caught.value, PacketError)


# -- IPv4 header and datagram -------------------------------------------------------------


def _header(**changes: int) -> bytearray:
    data = bytearray(IPv4Header(SRC, DST, 28).encode() + Icmp4EchoRequest(1, 1).encode())
    for offset, value in changes.items():
        data[int(offset[1:])] = value
    return data


def test_ipv4_header_rules() -> None:
    with pytest.raises(BadLength, match="IHL 4"):
        decode_ipv4_header(bytes(_header(b0=0x44)))
    with pytest.raises(PacketError, match="version field is 6"):
        decode_ipv4_header(bytes(_header(b0=0x65)))
    with pytest.raises(TruncatedPacket, match="options"):
        decode_ipv4_header(bytes(_header(b0=0x4F)))  # claims 60 bytes, has 28


def test_ipv4_datagram_rules() -> None:
    header = IPv4Header(SRC, DST, 28)
    echo = Icmp4EchoRequest(1, 1).encode()
    with pytest.raises(BadLength):
        decode_ipv4_packet(dataclasses.replace(header, total_length=19).encode() + echo)
    with pytest.raises(TruncatedPacket):
        decode_ipv4_packet(dataclasses.replace(header, total_length=29).encode() + echo)
    with pytest.raises(PacketError, match="protocol 17"):
        decode_ipv4_packet(dataclasses.replace(header, protocol=17).encode() + echo)
    for fragment in (
        dataclasses.replace(header, flags=1),
        dataclasses.replace(header, fragment_offset=3),
    ):
        with pytest.raises(PacketError, match="fragment"):
            decode_ipv4_packet(fragment.encode() + echo)
    dont_fragment = dataclasses.replace(header, flags=2)
    assert decode_ipv4_packet(dont_fragment.encode() + echo)[0].dont_fragment


# -- options ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spaced, error",
    [
        ("07 01 04 00", BadOptionLength),  # length below 2
        ("07 29 04 00", BadOptionLength),  # length past the area
        ("01 01 01 44", TruncatedPacket),  # the area ends before the length byte
        ("00" * 44, BadLength),  # more than any IPv4 header can hold
    ],
)
def test_bad_options(spaced: str, error: type[PacketError]) -> None:
    with pytest.raises(error):
        decode_options(unhex(spaced))


def test_option_views() -> None:
    full = RecordRoute((SRC, DST), pointer=12)
    assert full.full and full.recorded == (SRC, DST)
    assert RecordRoute(pointer=1).recorded == ()  # a nonsense pointer records nothing
    stamps = Timestamp((TimestampEntry(5, SRC), TimestampEntry(0, IPv4Address(0))), 1, 13)
    assert stamps.entry_size == 8 and stamps.recorded == (TimestampEntry(5, SRC),)
    assert decode_options(b"\x00") == (EndOfOptions(),)  # not a word of padding here


# -- quoted datagrams ---------------------------------------------------------------------


def test_quote_needs_a_whole_header_but_no_more() -> None:
    with pytest.raises(TruncatedPacket):
        decode_quoted4(ORIGINAL4[:19])
    quoted = decode_quoted4(ORIGINAL4[:20])
    assert quoted.transport == b"" and quoted.icmp is None and not quoted.complete
    outer = decode_icmp4(Icmp4DestUnreachable(1, ORIGINAL4[:7]).encode())  # any quote decodes
    assert isinstance(outer, Icmp4DestUnreachable) and outer.quoted == ORIGINAL4[:7]
    bad = bytearray(ORIGINAL4)
    bad[2:4] = struct.pack("!H", 12)
    with pytest.raises(BadLength):
        decode_quoted4(bytes(bad))


def test_quoted_fragment_and_extended_echo() -> None:
    later = bytearray(ORIGINAL4)
    later[6:8] = struct.pack("!H", 0x0004)  # fragment offset 32 bytes: no ICMP header here
    later[10:12] = b"\x00\x00"
    assert decode_quoted4(bytes(later)).icmp is None
    probe = Icmp4ExtendedEchoRequest(0xABCD, 0x42, local=True).encode()
    quoted = decode_quoted4(IPv4Header(SRC, DST, 28).encode() + probe)
    assert quoted.icmp is not None
    assert (quoted.icmp.type, quoted.icmp.ident, quoted.icmp.seq) == (42, 0xABCD, 0x42)


def _ipv6_quote(
    next_header: int, extension: bytes, upper: bytes, length: int | None = None
) -> bytes:
    size = len(extension) + len(upper) if length is None else length
    return IPv6Header(SRC6, DST6, size, next_header).encode() + extension + upper


def test_quoted_ipv6_extension_chains() -> None:
    echo = Icmp6EchoRequest(9, 9).encode()
    # Authentication Header: length in 4-byte units minus 2 (RFC 4302 section 2.2).
    auth = bytes([58, 4]) + bytes(22)
    assert decode_quoted6(_ipv6_quote(51, auth, echo)).icmp is not None
    first_fragment = bytes([58, 0, 0, 0, 0, 0, 0, 1])
    assert decode_quoted6(_ipv6_quote(44, first_fragment, echo)).icmp is not None
    later_fragment = bytes([58, 0, 0, 8, 0, 0, 0, 1])
    later = decode_quoted6(_ipv6_quote(44, later_fragment, echo))
    assert later.protocol == 44 and later.icmp is None
    cut = decode_quoted6(_ipv6_quote(60, bytes([58, 3]) + bytes(6), echo))  # claims 32 bytes
    assert cut.protocol == 60 and cut.extension_headers == b"" and cut.icmp is None
    jumbo = decode_quoted6(_ipv6_quote(0, bytes([58, 0]) + bytes(6), echo, length=0))
    assert jumbo.icmp is not None  # RFC 2675: payload length 0 with Hop-by-Hop first
    padded = decode_quoted6(_ipv6_quote(58, b"", echo) + bytes(16))
    assert padded.transport == echo and padded.complete  # quote padding is dropped
    assert decode_quoted6(ORIGINAL6).icmp is not None


# -- RFC 4884 and RFC 8335 extensions -----------------------------------------------------


def test_rfc4884_length_past_the_quote_fails_only_the_view() -> None:
    message = decode_icmp4(Icmp4TimeExceeded(0, ORIGINAL4, length=20).encode())
    assert isinstance(message, Icmp4TimeExceeded) and message.length == 20
    with pytest.raises(BadLength):
        message.original_datagram()
    with pytest.raises(BadLength):
        message.quoted_datagram()
    assert Icmp4TimeExceeded(0, ORIGINAL4, length=9).extensions() is None  # nothing after


def test_extension_structure_rules() -> None:
    good = ExtensionStructure((InterfaceName("eth0"),)).encode()
    with pytest.raises(PacketError, match="version 1"):
        decode_extensions(b"\x10" + good[1:])
    with pytest.raises(BadChecksum):
        decode_extensions(good[:2] + b"\x12\x34" + good[4:], verify_checksum=True)
    unsummed = good[:2] + b"\x00\x00" + good[4:]  # RFC 4884 7.1: zero means "no checksum"
    assert decode_extensions(unsummed, verify_checksum=True).checksum == 0
    with pytest.raises(BadLength):
        decode_extensions(good[:4] + b"\x00\x03\x03\x01")
    with pytest.raises(BadLength):
        decode_extensions(good[:4] + b"\x00\x09\x03\x01lo\x00\x00")
    with pytest.raises(TruncatedPacket):
        decode_extensions(good[:6])


@pytest.mark.parametrize(
    "c_type, payload",
    [
        (1, b"lo\x00\x00\x00\x00\x00\x00"),  # more padding than needed
        (2, b"\x00\x00\x00\x01\x00"),  # an index is 4 bytes
        (3, b"\x00\x01\x10\x00" + bytes(16)),  # AFI 1 with a 16-byte address
        (3, b"\x00\x01\x04\x01\x7f\x00\x00\x01"),  # reserved byte set
        (3, b"\x00\x06\x06\x00" + bytes(8)),  # AFI 6 (802 MAC): not an IP address
    ],
)
def test_irregular_interface_objects_stay_raw(c_type: int, payload: bytes) -> None:
    raw = ExtensionObject(3, c_type, payload)
    decoded = decode_extensions(ExtensionStructure((raw,)).encode())
    assert decoded.objects == (raw,) and decoded.interface is None


def test_probe_builder() -> None:
    request = Icmp4ExtendedEchoRequest.probe(7, 3, InterfaceName("eth0"), local=True)
    decoded = decode_icmp4(request.encode(), verify_checksum=True)
    assert isinstance(decoded, Icmp4ExtendedEchoRequest) and decoded.local
    assert decoded.interface() == InterfaceName("eth0")
    assert Icmp4ExtendedEchoRequest(1, 1).extensions() is None


# -- values and package shape -------------------------------------------------------------


def test_values_are_frozen_slotted_and_keep_plain_ints() -> None:
    message = decode_icmp4(Icmp4DestUnreachable(DestUnreachableCode.PORT, ORIGINAL4).encode())
    assert message.code == 3 and type(message.code) is int
    assert isinstance(message, Icmp4DestUnreachable) and message.TYPE == Icmp4Type.DEST_UNREACHABLE
    with pytest.raises(dataclasses.FrozenInstanceError):
        message.code = 4  # type: ignore[misc]
    assert not hasattr(message, "__dict__")


def test_public_names_are_sorted_and_exported() -> None:
    names = pingsock.wire.__all__
    assert list(names) == sorted(names)
    assert all(hasattr(pingsock.wire, name) for name in names)


def test_wire_does_no_io() -> None:
    # DESIGN.md: the codec imports no socket, select, asyncio, os or time.
    forbidden = {"socket", "select", "asyncio", "os", "time"}
    for path in Path(pingsock.wire.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                modules = {(node.module or "").split(".")[0]}
            else:
                continue
            assert not modules & forbidden, f"{path.name} imports {modules & forbidden}"
