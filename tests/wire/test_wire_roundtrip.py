"""Round trips: every valid value survives encode then decode, and bytes survive the reverse."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv6Address

from hypothesis import given, settings
from hypothesis import strategies as st
from wire_strategies import (
    extension_structure,
    icmp4_message,
    icmp6_message,
    ip_options,
    ip_options_with_end,
    ipv4_header,
    ipv6,
    ipv6_header,
    u16,
)

from pingsock.wire import (
    ExtensionStructure,
    Icmp4DestUnreachable,
    Icmp4EchoRequest,
    Icmp4Message,
    Icmp4TimeExceeded,
    Icmp6DestUnreachable,
    Icmp6EchoRequest,
    Icmp6Message,
    IPOption,
    IPv4Header,
    IPv6Header,
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
from pingsock.wire.message import quote_with_extensions

FAST = settings(max_examples=300, deadline=None)


@FAST
@given(icmp4_message)
def test_icmp4_round_trip(message: Icmp4Message) -> None:
    data = message.encode()
    decoded = decode_icmp4(data, verify_checksum=True)
    assert decoded == message
    assert type(decoded) is type(message)
    assert decoded.encode(checksum=decoded.checksum) == data


@FAST
@given(icmp4_message, u16)
def test_icmp4_explicit_checksum_is_written_and_kept(message: Icmp4Message, checksum: int) -> None:
    data = message.encode(checksum=checksum)
    decoded = decode_icmp4(data)
    assert decoded == message and decoded.checksum == checksum
    assert decoded.encode(checksum=decoded.checksum) == data


@FAST
@given(icmp6_message, ipv6, ipv6)
def test_icmp6_round_trip(message: Icmp6Message, src: IPv6Address, dst: IPv6Address) -> None:
    data = message.encode(src=src, dst=dst)
    decoded = decode_icmp6(data, verify_checksum=True, src=src.packed, dst=dst)
    assert decoded == message
    assert type(decoded) is type(message)
    assert decoded.encode(checksum=decoded.checksum) == data
    unsummed = message.encode()
    assert unsummed[2:4] == b"\x00\x00" and unsummed[4:] == data[4:]


@FAST
@given(extension_structure)
def test_extension_structure_round_trip(structure: ExtensionStructure) -> None:
    data = structure.encode()
    decoded = decode_extensions(data, verify_checksum=True)
    assert decoded == structure
    assert decoded.encode() == data


@FAST
@given(ip_options)
def test_options_round_trip(options: tuple[IPOption, ...]) -> None:
    area = encode_options(options)
    assert len(area) % 4 == 0 and len(area) <= 40
    assert decode_options(area) == options


@FAST
@given(ip_options_with_end)
def test_options_with_end_round_trip_as_bytes(options: tuple[IPOption, ...]) -> None:
    area = encode_options(options) if sum(len(o.encode()) for o in options) <= 40 else b""
    assert encode_options(decode_options(area)) == area


@FAST
@given(ipv4_header)
def test_ipv4_header_round_trip(header: IPv4Header) -> None:
    data = header.encode()
    assert len(data) == header.header_length
    decoded = decode_ipv4_header(data + b"trailing bytes are ignored", verify_checksum=True)
    assert decoded == header
    assert decoded.encode(checksum=decoded.checksum) == data


@FAST
@given(ipv6_header)
def test_ipv6_header_round_trip(header: IPv6Header) -> None:
    data = header.encode()
    assert len(data) == 40
    assert decode_ipv6_header(data + b"payload") == header


@FAST
@given(ipv4_header, icmp4_message, st.binary(max_size=4))
def test_ipv4_packet_round_trip(header: IPv4Header, message: Icmp4Message, pad: bytes) -> None:
    icmp = message.encode()
    header = replace(
        header,
        protocol=1,
        flags=header.flags & 0b110,
        fragment_offset=0,
        total_length=header.header_length + len(icmp),
    )
    data = header.encode() + icmp + pad  # link-layer padding past total_length is ignored
    assert decode_ipv4_packet(data, verify_checksum=True) == (header, message)


@FAST
@given(ipv4_header, st.builds(Icmp4EchoRequest, u16, u16, st.binary(max_size=40)), st.data())
def test_quoted_ipv4_echo_at_any_cut(
    header: IPv4Header, echo: Icmp4EchoRequest, data: st.DataObject
) -> None:
    icmp = echo.encode()
    header = replace(
        header, protocol=1, fragment_offset=0, total_length=header.header_length + len(icmp)
    )
    datagram = header.encode() + icmp
    cut = data.draw(st.integers(header.header_length, len(datagram)), label="cut")
    quoted = decode_quoted4(datagram[:cut])
    assert quoted.header == header and quoted.protocol == 1
    assert quoted.transport == icmp[: cut - header.header_length]
    assert quoted.complete == (cut == len(datagram))
    if cut - header.header_length >= 8:
        assert quoted.icmp is not None
        assert (quoted.icmp.type, quoted.icmp.ident, quoted.icmp.seq) == (8, echo.ident, echo.seq)
    else:
        assert quoted.icmp is None  # a short quote is representable, just without the echo
    # The ICMP error carrying the quote always decodes.
    error = decode_icmp4(Icmp4DestUnreachable(1, datagram[:cut]).encode(), verify_checksum=True)
    assert isinstance(error, Icmp4DestUnreachable)
    assert error.quoted_datagram() == quoted


_EXTENSION_HEADERS = st.lists(
    st.tuples(st.sampled_from([0, 43, 60]), st.integers(0, 3)), max_size=3
)


@FAST
@given(
    ipv6_header, st.builds(Icmp6EchoRequest, u16, u16, st.binary(max_size=40)), _EXTENSION_HEADERS
)
def test_quoted_ipv6_walks_extension_headers(
    header: IPv6Header, echo: Icmp6EchoRequest, chain: list[tuple[int, int]]
) -> None:
    # RFC 8200 section 4: each of these headers is next-header, length in 8-byte units
    # beyond the first 8, then options/data.
    kinds = [kind for kind, _ in chain] + [58]
    extension = b"".join(
        bytes([kinds[i + 1], units]) + bytes(6 + 8 * units) for i, (_, units) in enumerate(chain)
    )
    icmp = echo.encode()
    header = replace(header, next_header=kinds[0], payload_length=len(extension) + len(icmp))
    quoted = decode_quoted6(header.encode() + extension + icmp)
    assert quoted.extension_headers == extension and quoted.protocol == 58
    assert quoted.icmp is not None and (quoted.icmp.ident, quoted.icmp.seq) == (
        echo.ident,
        echo.seq,
    )
    assert quoted.complete


@FAST
@given(ipv4_header, extension_structure, st.binary(max_size=200))
def test_rfc4884_quote_round_trip(
    header: IPv4Header, extensions: ExtensionStructure, tail: bytes
) -> None:
    original = header.encode() + tail
    length, quoted = quote_with_extensions(original, extensions, ip_version=4)
    if length > 255:
        return  # does not fit the 8-bit length field
    message = decode_icmp4(Icmp4TimeExceeded(0, quoted, length=length).encode())
    assert isinstance(message, Icmp4TimeExceeded)
    assert len(message.original_datagram()) >= 128
    assert message.original_datagram()[: len(original)] == original
    assert message.extensions(verify_checksum=True) == extensions
    length6, quoted6 = quote_with_extensions(original, extensions, ip_version=6)
    message6 = Icmp6DestUnreachable(0, quoted6, length=length6)
    assert len(message6.original_datagram()) % 8 == 0
    assert message6.extensions() == extensions
