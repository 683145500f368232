"""Hostile input: any byte string decodes or raises PacketError, never anything else.

Three sources of input: arbitrary bytes, valid packets with random bytes overwritten,
inserted or cut off (which reach much deeper than random bytes do), and every truncation
of the real captured packets. Whatever decodes must also re-encode to exactly the input,
and the lazy views (quoted datagram, extensions, interface) must obey the same contract.
"""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv6Address

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wire_strategies import (
    extension_structure,
    icmp4_message,
    icmp6_message,
    ip_options,
    ipv4_header,
    ipv6_header,
)
from wire_vectors import ICMP4, ICMP6, captured, unhex

from pingsock.errors import BadLength, PacketError, TruncatedPacket
from pingsock.wire import (
    IPv4Header,
    Timestamp,
    decode_extensions,
    decode_icmp4,
    decode_icmp6,
    decode_ipv4_header,
    decode_ipv4_packet,
    decode_ipv6_header,
    decode_options,
    decode_quoted4,
    decode_quoted6,
    encode_options,
)
from pingsock.wire.quoted import QuotedDatagram

FUZZ = settings(max_examples=400, deadline=None)
ADDRESS = IPv6Address("2001:db8::7")


def _look_inside(value: object) -> None:
    """Call every lazy accessor a decoded value offers; each may only raise PacketError."""
    for name in ("original_datagram", "quoted_datagram", "extensions", "interface"):
        method = getattr(value, name, None)
        if method is None:
            continue
        try:
            inner = method()
        except PacketError:
            continue
        if isinstance(inner, QuotedDatagram):
            assert inner.icmp is None or 0 <= inner.icmp.seq <= 0xFFFF
            _look_inside(inner.header)
    if isinstance(value, IPv4Header):
        for option in value.options:
            for attribute in ("recorded", "full"):
                getattr(option, attribute, None)
            if isinstance(option, Timestamp):
                assert option.entry_size in (4, 8)


def _decode4(data: bytes) -> None:
    for verify in (False, True):
        try:
            message = decode_icmp4(data, verify_checksum=verify)
        except PacketError:
            continue
        assert message.encode(checksum=message.checksum) == data
        _look_inside(message)


def _decode6(data: bytes) -> None:
    for verify in (False, True):
        try:
            message = decode_icmp6(data, verify_checksum=verify, src=ADDRESS, dst=ADDRESS)
        except PacketError:
            continue
        assert message.encode(checksum=message.checksum) == data
        _look_inside(message)


def _decode_ipv4_header(data: bytes) -> None:
    for verify in (False, True):
        try:
            header = decode_ipv4_header(data, verify_checksum=verify)
        except PacketError:
            continue
        encoded = header.encode(checksum=header.checksum)
        assert data.startswith(encoded)
        _look_inside(header)


def _decode_ipv4_packet(data: bytes) -> None:
    for verify in (False, True):
        try:
            header, message = decode_ipv4_packet(data, verify_checksum=verify)
        except PacketError:
            continue
        encoded = header.encode(checksum=header.checksum) + message.encode(
            checksum=message.checksum
        )
        assert encoded == data[: header.total_length]
        _look_inside(message)


def _decode_ipv6_header(data: bytes) -> None:
    try:
        header = decode_ipv6_header(data)
    except PacketError:
        return
    assert data.startswith(header.encode())


def _decode_options(data: bytes) -> None:
    try:
        options = decode_options(data)
    except PacketError:
        return
    if len(data) % 4 == 0:
        assert encode_options(options) == data


def _decode_quoted(data: bytes) -> None:
    for decode in (decode_quoted4, decode_quoted6):
        try:
            quoted = decode(data)
        except PacketError:
            continue
        assert quoted.icmp is None or len(quoted.transport) >= 8


def _decode_extensions(data: bytes) -> None:
    for verify in (False, True):
        try:
            structure = decode_extensions(data, verify_checksum=verify)
        except PacketError:
            continue
        assert structure.encode() == data


DECODERS: dict[str, Callable[[bytes], None]] = {
    "icmp4": _decode4,
    "icmp6": _decode6,
    "ipv4 header": _decode_ipv4_header,
    "ipv4 packet": _decode_ipv4_packet,
    "ipv6 header": _decode_ipv6_header,
    "options": _decode_options,
    "quoted": _decode_quoted,
    "extensions": _decode_extensions,
}


@FUZZ
@given(st.sampled_from(sorted(DECODERS)), st.binary(max_size=120))
def test_arbitrary_bytes(decoder: str, data: bytes) -> None:
    DECODERS[decoder](data)


# Valid encodings to mutate, one strategy per decoder.
_SEEDS: dict[str, st.SearchStrategy[bytes]] = {
    "icmp4": icmp4_message.map(lambda m: m.encode()),
    "icmp6": icmp6_message.map(lambda m: m.encode(src=ADDRESS, dst=ADDRESS)),
    "ipv4 header": ipv4_header.map(lambda h: h.encode()),
    "ipv4 packet": st.tuples(ipv4_header, icmp4_message).map(
        lambda pair: pair[0].encode() + pair[1].encode()
    ),
    "ipv6 header": ipv6_header.map(lambda h: h.encode()),
    "options": ip_options.map(encode_options),
    "quoted": st.tuples(ipv4_header, icmp4_message).map(
        lambda pair: pair[0].encode() + pair[1].encode()
    ),
    "extensions": extension_structure.map(lambda s: s.encode()),
}


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, bytes]:
    decoder = draw(st.sampled_from(sorted(_SEEDS)))
    data = bytearray(draw(_SEEDS[decoder]))
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["set", "insert", "cut"]))
        where = draw(st.integers(0, len(data)))
        if action == "set" and where < len(data):
            data[where] = draw(st.integers(0, 255))
        elif action == "insert":
            data[where:where] = draw(st.binary(min_size=1, max_size=4))
        else:
            del data[where:]
    return decoder, bytes(data)


@FUZZ
@given(mutated())
def test_mutated_valid_packets(case: tuple[str, bytes]) -> None:
    decoder, data = case
    DECODERS[decoder](data)


# -- truncation ---------------------------------------------------------------------------

PACKETS = captured()


@pytest.mark.parametrize("name", sorted(PACKETS))
def test_every_truncation_of_a_captured_packet(name: str) -> None:
    packet = PACKETS[name]
    for cut in range(len(packet)):
        data = packet[:cut]
        if packet[0] >> 4 == 4:
            # The IP header says how long the datagram is: any cut is a truncation.
            with pytest.raises(TruncatedPacket):
                decode_ipv4_packet(data, verify_checksum=True)
        else:
            with pytest.raises(TruncatedPacket):
                decode_ipv6_header(data[:39] if cut >= 40 else data)


_MESSAGES: list[tuple[str, str, type, Callable[[bytes], object]]] = [
    *((v.name, v.hex, type(v.message), decode_icmp4) for v in ICMP4),
    *((v.name, v.hex, type(v.message), decode_icmp6) for v in ICMP6),
]


@pytest.mark.parametrize(
    "spaced, kind, decode", [m[1:] for m in _MESSAGES], ids=[m[0] for m in _MESSAGES]
)
def test_every_truncation_of_an_icmp_message(
    spaced: str, kind: type, decode: Callable[[bytes], object]
) -> None:
    packet = unhex(spaced)
    for cut in range(len(packet)):
        try:
            message = decode(packet[:cut])
        except (TruncatedPacket, BadLength):
            assert cut < 20  # no message here has a fixed part longer than Timestamp's
            continue
        # A shorter body is still a valid message of the same type (payload or quote cut).
        assert type(message) is kind
        _look_inside(message)


def test_short_inputs_are_truncated_not_index_errors() -> None:
    for cut in range(8):
        with pytest.raises(TruncatedPacket):
            decode_icmp4(bytes([8, 0, 0, 0, 0, 0, 0, 0])[:cut])
        with pytest.raises(TruncatedPacket):
            decode_icmp6(bytes([128, 0, 0, 0, 0, 0, 0, 0])[:cut])
    with pytest.raises(TruncatedPacket):
        decode_icmp4(bytes([13, 0, 0, 0, 0, 1, 0, 1]) + bytes(11))  # Timestamp needs 20
    with pytest.raises(TruncatedPacket):
        decode_icmp4(bytes([17, 0, 0, 0, 0, 1, 0, 1, 255]))  # Address Mask needs 12
