"""Fixed vectors: hand-built ones (wire_vectors.py) and real kernel packets (captured.txt)."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest
from wire_vectors import (
    EXTENSIONS,
    ICMP4,
    ICMP6,
    OPTIONS,
    ORIGINAL4,
    ORIGINAL6,
    Vector4,
    Vector6,
    captured,
    unhex,
)

from pingsock.errors import PacketError
from pingsock.wire import (
    ExtendedEchoReplyCode,
    ExtendedEchoState,
    Icmp4DestUnreachable,
    Icmp4EchoReply,
    Icmp4EchoRequest,
    Icmp4Error,
    Icmp4ExtendedEchoReply,
    Icmp4ExtendedEchoRequest,
    Icmp4ParameterProblem,
    Icmp4Redirect,
    Icmp4TimeExceeded,
    Icmp4TimestampReply,
    Icmp4TimestampRequest,
    Icmp6DestUnreachable,
    Icmp6EchoReply,
    Icmp6EchoRequest,
    Icmp6Error,
    Icmp6ExtendedEchoReply,
    Icmp6ExtendedEchoRequest,
    Icmp6PacketTooBig,
    Icmp6ParameterProblem,
    Icmp6TimeExceeded,
    InterfaceAddress,
    InterfaceIndex,
    InterfaceName,
    IPv4Header,
    IPv6Header,
    QuotedIcmp,
    RecordRoute,
    Timestamp,
    TimestampEntry,
    UnknownIcmp4,
    UnknownIcmp6,
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
from pingsock.wire.icmp6 import Icmp6Message

PACKETS = captured()


def _v6(name: str) -> tuple[IPv6Header, Icmp6Message]:
    data = PACKETS[name]
    header = decode_ipv6_header(data)
    message = decode_icmp6(data[40:], verify_checksum=True, src=header.src, dst=header.dst)
    return header, message


@pytest.mark.parametrize("vector", ICMP4, ids=lambda v: v.name)
def test_icmp4_vector(vector: Vector4) -> None:
    data = unhex(vector.hex)
    message = decode_icmp4(data, verify_checksum=True)
    assert message == vector.message
    assert message.checksum == int.from_bytes(data[2:4], "big")
    assert vector.message.encode() == data


@pytest.mark.parametrize("vector", ICMP6, ids=lambda v: v.name)
def test_icmp6_vector(vector: Vector6) -> None:
    data = unhex(vector.hex)
    message = decode_icmp6(data, verify_checksum=True, src=vector.src, dst=vector.dst)
    assert message == vector.message
    assert vector.message.encode(src=vector.src, dst=vector.dst) == data
    # Without addresses the checksum is left for the kernel to fill in (spec M3).
    assert vector.message.encode()[2:4] == b"\x00\x00"


_WITH_EXTENSIONS: list[Vector4 | Vector6] = [*ICMP4, *ICMP6]
_WITH_EXTENSIONS = [v for v in _WITH_EXTENSIONS if v.name in EXTENSIONS]


@pytest.mark.parametrize("vector", _WITH_EXTENSIONS, ids=[v.name for v in _WITH_EXTENSIONS])
def test_extension_vectors(vector: Vector4 | Vector6) -> None:
    message = vector.message
    assert not isinstance(message, UnknownIcmp4 | UnknownIcmp6)
    assert hasattr(message, "extensions")
    assert message.extensions(verify_checksum=True) == EXTENSIONS[vector.name]


def test_rfc4884_original_datagram_is_the_unpadded_quote() -> None:
    time_exceeded = next(v for v in ICMP4 if v.name == "time-exceeded-rfc4884-mpls").message
    assert isinstance(time_exceeded, Icmp4TimeExceeded)
    assert len(time_exceeded.original_datagram()) == 128
    quoted = time_exceeded.quoted_datagram()
    assert quoted.transport == ORIGINAL4[20:]  # padding past total_length is dropped
    assert quoted.complete
    assert quoted.icmp == QuotedIcmp(8, 0, 0x542F, 0x1234, 7)
    v6 = next(v for v in ICMP6 if v.name == "time-exceeded-rfc4884").message
    assert isinstance(v6, Icmp6TimeExceeded)
    assert v6.quoted_datagram().icmp == QuotedIcmp(128, 0, 0xADA1, 0x66, 1)
    assert v6.quoted_datagram().transport == ORIGINAL6[40:]


@pytest.mark.parametrize("name, spaced, options", OPTIONS, ids=[o[0] for o in OPTIONS])
def test_options_vector(name: str, spaced: str, options: tuple[object, ...]) -> None:
    area = unhex(spaced)
    assert decode_options(area) == options
    assert encode_options(list(decode_options(area))) == area


def test_ping_option_blocks_match_iputils() -> None:
    # shared/spec/kernel-ping-socket.md I2, I3: what ping -R and ping -T tsonly pass to
    # setsockopt(IP_OPTIONS).
    assert encode_options([RecordRoute()]) == bytes([7, 39, 4]) + bytes(37)
    assert encode_options([Timestamp()]) == bytes([68, 40, 5, 0]) + bytes(36)


# -- real packets ---------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PACKETS))
def test_captured_packet_decodes_verifies_and_reencodes(name: str) -> None:
    data = PACKETS[name]
    if data[0] >> 4 == 4:
        header, message = decode_ipv4_packet(data, verify_checksum=True)
        rebuilt = header.encode(checksum=header.checksum) + message.encode(
            checksum=message.checksum
        )
        assert header.encode() == data[: header.header_length]  # our checksum == the kernel's
        assert message.encode() == data[header.header_length :]
    else:
        header6, message6 = _v6(name)
        rebuilt = header6.encode() + message6.encode(checksum=message6.checksum)
        assert message6.encode(src=header6.src, dst=header6.dst) == data[40:]
    assert rebuilt == data


def test_captured_echo_exchange() -> None:
    header, request = decode_ipv4_packet(PACKETS["echo4/out"])
    _, reply = decode_ipv4_packet(PACKETS["echo4/in"])
    assert header.src == IPv4Address("10.1.0.1") and header.dont_fragment  # spec E4
    assert isinstance(request, Icmp4EchoRequest) and isinstance(reply, Icmp4EchoReply)
    assert (reply.ident, reply.seq, reply.payload) == (request.ident, 0x77, b"pingsock-wire!!!")
    _, request6 = _v6("echo6/out#2")
    _, reply6 = _v6("echo6/in#2")
    assert isinstance(request6, Icmp6EchoRequest) and isinstance(reply6, Icmp6EchoReply)
    assert (reply6.ident, reply6.seq, reply6.payload) == (request6.ident, 0x66, b"pingsock-wire6!!")


def _quoted_ident(name: str) -> int:
    _, request = decode_ipv4_packet(PACKETS[name])
    assert isinstance(request, Icmp4EchoRequest)
    return request.ident


def test_captured_ipv4_errors_quote_our_echo() -> None:
    cases = {
        "time-exceeded4": (Icmp4TimeExceeded, 0),
        "frag-needed4": (Icmp4DestUnreachable, 4),
        "host-unreachable4": (Icmp4DestUnreachable, 1),
        "admin-prohibited4": (Icmp4DestUnreachable, 13),
        "redirect4": (Icmp4Redirect, 1),
    }
    for step, (kind, code) in cases.items():
        _, error = decode_ipv4_packet(PACKETS[f"{step}/in"], verify_checksum=True)
        assert isinstance(error, kind) and error.code == code, step
        assert isinstance(error, Icmp4Error)
        quoted = error.quoted_datagram()
        assert quoted.icmp is not None
        assert (quoted.icmp.type, quoted.icmp.ident) == (8, _quoted_ident(f"{step}/out"))
        assert quoted.icmp.seq == 0x77
    _, frag = decode_ipv4_packet(PACKETS["frag-needed4/in"])
    assert isinstance(frag, Icmp4DestUnreachable)
    assert frag.next_hop_mtu == 1280  # RFC 1191
    assert len(PACKETS["frag-needed4/in"]) == 20 + 8 + 548  # Linux quotes up to 576 in all
    assert not frag.quoted_datagram().complete
    _, redirect = decode_ipv4_packet(PACKETS["redirect4/in"])
    assert isinstance(redirect, Icmp4Redirect)
    assert redirect.gateway == IPv4Address("10.1.0.9")


def test_captured_parameter_problems_point_at_the_fault() -> None:
    _, problem = decode_ipv4_packet(PACKETS["param-problem4/in"])
    assert isinstance(problem, Icmp4ParameterProblem)
    assert problem.pointer == 22  # the Record Route pointer byte (value 2 < 4) in the quote
    quoted = problem.quoted_datagram()
    assert isinstance(quoted.header, IPv4Header)
    assert quoted.header.options[0] == RecordRoute((IPv4Address(0),), 2)
    _, problem6 = _v6("param-problem6/in")
    assert isinstance(problem6, Icmp6ParameterProblem)
    assert (problem6.code, problem6.pointer) == (2, 42)  # the 0x80 option type, RFC 8200 4.2
    quoted6 = problem6.quoted_datagram()
    assert quoted6.extension_headers == unhex("3a 00 80 04 00 00 00 00")
    assert quoted6.icmp == QuotedIcmp(128, 0, quoted6.icmp.checksum if quoted6.icmp else 0, 0x55, 1)


def test_captured_ipv6_errors() -> None:
    expected = {
        "time-exceeded6": (Icmp6TimeExceeded, 0),
        "packet-too-big6": (Icmp6PacketTooBig, 0),
        "no-route6": (Icmp6DestUnreachable, 0),
        "admin-prohibited6": (Icmp6DestUnreachable, 1),
    }
    for step, (kind, code) in expected.items():
        _, request = _v6(f"{step}/out")
        _, error = _v6(f"{step}/in")
        assert isinstance(request, Icmp6EchoRequest)
        assert isinstance(error, kind) and error.code == code, step
        assert isinstance(error, Icmp6Error)
        quoted = error.quoted_datagram()
        assert quoted.icmp is not None and quoted.icmp.ident == request.ident
    _, too_big = _v6("packet-too-big6/in")
    assert isinstance(too_big, Icmp6PacketTooBig) and too_big.mtu == 1280
    assert len(PACKETS["packet-too-big6/in"]) == 1280  # RFC 4443 2.4(c): fill the minimum MTU
    _, port = _v6("port-unreachable6/in")
    assert isinstance(port, Icmp6DestUnreachable)
    assert port.quoted_datagram().protocol == 17 and port.quoted_datagram().icmp is None


def test_captured_ip_options() -> None:
    request_header, _ = decode_ipv4_packet(PACKETS["record-route4/out"])
    reply_header, _ = decode_ipv4_packet(PACKETS["record-route4/in"])
    assert request_header.header_length == 60
    (sent,) = request_header.options
    (back,) = reply_header.options
    assert isinstance(sent, RecordRoute) and isinstance(back, RecordRoute)
    assert sent.recorded == (IPv4Address("10.1.0.1"),)
    assert back.recorded == tuple(IPv4Address(a) for a in ("10.1.0.1", "10.1.0.2", "10.1.0.2"))
    assert not back.full
    header, _ = decode_ipv4_packet(PACKETS["timestamp-addr4/in"])
    (stamps,) = header.options
    assert isinstance(stamps, Timestamp) and stamps.flag == 1
    assert [entry.address for entry in stamps.recorded] == [
        IPv4Address("10.1.0.1"),
        IPv4Address("10.1.0.2"),
        IPv4Address("10.1.0.2"),
    ]
    header, _ = decode_ipv4_packet(PACKETS["timestamp-only4/in"])
    (stamps,) = header.options
    assert isinstance(stamps, Timestamp) and len(stamps.recorded) == 3
    assert stamps.recorded[0] == TimestampEntry(stamps.recorded[0].timestamp)


def test_captured_timestamp_messages() -> None:
    _, request = decode_ipv4_packet(PACKETS["timestamp-msg4/out"])
    _, reply = decode_ipv4_packet(PACKETS["timestamp-msg4/in"])
    assert isinstance(request, Icmp4TimestampRequest) and isinstance(reply, Icmp4TimestampReply)
    assert (reply.ident, reply.seq, reply.originate) == (0x1313, 1, 12345678)
    assert reply.receive == reply.transmit != 0


def test_captured_probe_exchanges() -> None:
    interfaces = {
        "probe-name4": InterfaceName("lo"),
        "probe-index4": InterfaceIndex(1),
        "probe-address4": InterfaceAddress(IPv4Address("10.2.0.1")),
    }
    for step, interface in interfaces.items():
        _, request = decode_ipv4_packet(PACKETS[f"{step}/out"])
        _, reply = decode_ipv4_packet(PACKETS[f"{step}/in"])
        assert isinstance(request, Icmp4ExtendedEchoRequest) and request.local
        assert request.interface() == interface
        assert isinstance(reply, Icmp4ExtendedEchoReply)
        assert (reply.code, reply.ident, reply.seq) == (0, request.ident, 9)
        assert (reply.active, reply.ipv4, reply.ipv6) == (True, True, True)
        assert reply.state == ExtendedEchoState.RESERVED  # local probes report no state
        assert reply.interface() == interface  # Linux echoes the object back
    _, missing = decode_ipv4_packet(PACKETS["probe-missing4/in"])
    assert isinstance(missing, Icmp4ExtendedEchoReply)
    assert missing.code == ExtendedEchoReplyCode.NO_SUCH_INTERFACE
    assert not (missing.active or missing.ipv4 or missing.ipv6)
    _, request6 = _v6("probe-name6/out")
    _, reply6 = _v6("probe-name6/in")
    assert isinstance(request6, Icmp6ExtendedEchoRequest)
    assert request6.interface() == InterfaceName("rc0")
    assert isinstance(reply6, Icmp6ExtendedEchoReply) and reply6.active and reply6.ipv6


def test_captured_neighbour_discovery_is_unknown_icmp6() -> None:
    _, solicitation = _v6("echo6/out")
    assert isinstance(solicitation, UnknownIcmp6)
    assert (solicitation.type, solicitation.code) == (135, 0)


def test_quote_decoders_reject_the_wrong_family() -> None:
    with pytest.raises(PacketError, match="not 6"):
        decode_quoted6(ORIGINAL4 + bytes(20))
    with pytest.raises(PacketError, match="not 4"):
        decode_quoted4(ORIGINAL6)
    assert decode_ipv4_header(ORIGINAL4, verify_checksum=True).ttl == 1
