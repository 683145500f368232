"""The ping socket's receive cmsgs derived from a raw socket's (spec I1, J3, M10, M12, F2).

Hand-built cmsg lists in the order ``raw_recvmsg()`` writes them (``sock_recv_cmsgs()``, then
the IP-level ones), and properties over arbitrary lists. The expected numbers are spelled out
here, from the UAPI headers, rather than taken from the module under test.
"""

from __future__ import annotations

import ipaddress
import socket
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pingsock import linux
from pingsock.emulation.ancillary import (
    IPV6_FLOWINFO,
    TIMESTAMP_KINDS,
    Cmsg,
    flowinfo_of,
    local_error_port,
    needs_scope_id,
    ping_ancillary,
    timestamp_cmsg,
)

V4, V6 = linux.AF_INET, linux.AF_INET6
SOL, IP, IP6 = linux.SOL_SOCKET, linux.SOL_IP, linux.SOL_IPV6
# asm-generic/socket.h
SO_TIMESTAMP_OLD, SO_TIMESTAMPNS_OLD, SO_TIMESTAMPING_OLD = 29, 35, 37
SO_TIMESTAMP_NEW, SO_TIMESTAMPNS_NEW, SO_TIMESTAMPING_NEW = 63, 64, 65
SO_RXQ_OVFL, SO_RCVMARK, SO_RCVPRIORITY = 40, 75, 82
STAMP_KINDS = {29, 35, 37, 63, 64, 65}
# in.h / in6.h: the cmsg types a reply carries
IP_TOS, IP_TTL, IP_PKTINFO, IP_RECVERR = 1, 2, 8, 11
IPV6_PKTINFO, IPV6_HOPLIMIT, IPV6_TCLASS, IPV6_FLOWINFO_CMSG = 50, 52, 67, 11
FAST = settings(max_examples=300, deadline=None)

NOW_NS = 1_700_000_000_123_456_789
TIMEVAL = struct.pack("=qq", 1_700_000_000, 123_456)
TIMESPEC = struct.pack("=qq", 1_700_000_000, 123_456_789)
ME = socket.inet_aton("198.51.100.1")


def pktinfo4(ifindex: int, spec_dst: bytes, addr: bytes) -> bytes:
    """struct in_pktinfo: ipi_ifindex, ipi_spec_dst, ipi_addr."""
    return struct.pack("=i", ifindex) + spec_dst + addr


def pktinfo6(address: str, ifindex: int) -> bytes:
    """struct in6_pktinfo: ipi6_addr, ipi6_ifindex."""
    return socket.inet_pton(V6, address) + struct.pack("=i", ifindex)


# -- ping_ancillary ----------------------------------------------------------------------------


def test_v4_reply_drops_the_raw_socket_only_cmsgs_and_zeroes_spec_dst() -> None:
    raw = [
        (SOL, SO_TIMESTAMP_OLD, TIMEVAL),
        (SOL, SO_RXQ_OVFL, struct.pack("=I", 3)),
        (SOL, SO_RCVMARK, struct.pack("=I", 7)),
        (SOL, SO_RCVPRIORITY, struct.pack("=I", 0)),
        (IP, IP_PKTINFO, pktinfo4(2, ME, ME)),
        (IP, IP_TTL, struct.pack("=i", 63)),
        (IP, IP_TOS, b"\xb8"),
    ]
    assert ping_ancillary(V4, raw, frozenset()) == [
        (SOL, SO_TIMESTAMP_OLD, TIMEVAL),
        (IP, IP_PKTINFO, pktinfo4(2, bytes(4), ME)),  # I1: ipi_spec_dst stays 0
        (IP, IP_TTL, struct.pack("=i", 63)),
        (IP, IP_TOS, b"\xb8"),
    ]


@pytest.mark.parametrize("kind", sorted(STAMP_KINDS))
def test_every_timestamp_kind_is_kept(kind: int) -> None:
    stamp: list[Cmsg] = [(SOL, kind, TIMESPEC)]
    assert ping_ancillary(V4, stamp, frozenset()) == stamp
    assert ping_ancillary(V6, stamp, frozenset()) == stamp


def test_timestamp_kinds_are_the_six_of_sock_recv_timestamp() -> None:
    assert frozenset(STAMP_KINDS) == TIMESTAMP_KINDS


def test_v6_reply_hides_the_backends_own_cmsgs_only() -> None:
    flow = struct.pack("!I", 0x00012345)
    raw = [
        (SOL, SO_TIMESTAMPNS_NEW, TIMESPEC),
        (SOL, SO_RCVMARK, struct.pack("=I", 1)),
        (IP6, IPV6_PKTINFO, pktinfo6("2001:db8:1::1", 2)),
        (IP6, IPV6_HOPLIMIT, struct.pack("=i", 63)),
        (IP6, IPV6_TCLASS, struct.pack("=i", 0)),
        (IP6, IPV6_FLOWINFO_CMSG, flow),
    ]
    hidden = frozenset({(IP6, IPV6_PKTINFO), (IP6, IPV6_FLOWINFO_CMSG)})
    assert ping_ancillary(V6, raw, hidden) == [raw[0], raw[3], raw[4]]
    # The user asked for them too: nothing is hidden, and IPv6 has no spec_dst to clear.
    assert ping_ancillary(V6, raw, frozenset()) == [raw[0], *raw[2:]]


def test_hidden_pairs_match_level_and_type_together() -> None:
    raw = [(IP, 11, b"\x01"), (IP6, 11, b"\x02"), (SOL, 29, TIMEVAL)]
    assert ping_ancillary(V6, raw, frozenset({(IP6, 11)})) == [raw[0], raw[2]]
    assert ping_ancillary(V6, raw, frozenset({(SOL, 29)})) == raw[:2]  # a stamp can be hidden


def test_pktinfo_is_rewritten_only_when_it_is_ipv4s_and_whole() -> None:
    whole = pktinfo4(5, ME, socket.inet_aton("203.0.113.1"))
    assert ping_ancillary(V4, [(IP, IP_PKTINFO, whole)], frozenset()) == [
        (IP, IP_PKTINFO, whole[:4] + bytes(4) + whole[8:])
    ]
    short = whole[:11]
    assert ping_ancillary(V4, [(IP, IP_PKTINFO, short)], frozenset()) == [(IP, IP_PKTINFO, short)]
    # On an IPv6 socket (a v4-mapped peer) the kernel's ip_cmsg_recv() is not what runs.
    assert ping_ancillary(V6, [(IP, IP_PKTINFO, whole)], frozenset()) == [(IP, IP_PKTINFO, whole)]
    # Type 8 at another level is not in_pktinfo.
    assert ping_ancillary(V4, [(IP6, 8, whole)], frozenset()) == [(IP6, 8, whole)]


def test_empty_and_generator_input() -> None:
    assert ping_ancillary(V4, [], frozenset()) == []
    assert ping_ancillary(V4, iter([(IP, IP_TTL, b"\x40")]), frozenset()) == [(IP, IP_TTL, b"\x40")]


LEVELS = st.sampled_from([SOL, IP, IP6])
KINDS = st.one_of(
    st.sampled_from(sorted({*STAMP_KINDS, SO_RXQ_OVFL, SO_RCVMARK, SO_RCVPRIORITY, 1, 2, 8, 11})),
    st.integers(0, 90),
)
CMSGS = st.lists(st.tuples(LEVELS, KINDS, st.binary(max_size=24)), max_size=10)
HIDDEN = st.frozensets(st.tuples(LEVELS, KINDS), max_size=4)
FAMILIES = st.sampled_from([V4, V6])


def survives(level: int, kind: int, hidden: frozenset[tuple[int, int]]) -> bool:
    return not (level == SOL and kind not in STAMP_KINDS) and (level, kind) not in hidden


@FAST
@given(FAMILIES, CMSGS, HIDDEN)
def test_output_is_the_filtered_input_in_order(
    family: int, anc: list[Cmsg], hidden: frozenset[tuple[int, int]]
) -> None:
    out = ping_ancillary(family, anc, hidden)
    kept = [c for c in anc if survives(c[0], c[1], hidden)]
    assert [(level, kind) for level, kind, _ in out] == [(level, kind) for level, kind, _ in kept]
    for (level, kind, data), (_, _, original) in zip(out, kept, strict=True):
        if family == V4 and (level, kind) == (IP, IP_PKTINFO) and len(original) >= 12:
            assert data == original[:4] + bytes(4) + original[8:]
        else:
            assert data == original


@FAST
@given(FAMILIES, CMSGS, HIDDEN)
def test_applying_it_twice_changes_nothing(
    family: int, anc: list[Cmsg], hidden: frozenset[tuple[int, int]]
) -> None:
    once = ping_ancillary(family, anc, hidden)
    assert ping_ancillary(family, once, hidden) == once


# -- flowinfo_of -------------------------------------------------------------------------------


def test_flowinfo_is_traffic_class_and_label_without_the_version() -> None:
    assert IPV6_FLOWINFO == 11
    anc = [(IP6, IPV6_HOPLIMIT, struct.pack("=i", 64)), (IP6, 11, bytes.fromhex("6b812345"))]
    assert flowinfo_of(anc) == 0x0B812345


def test_flowinfo_absent_short_or_at_another_level_is_zero() -> None:
    assert flowinfo_of([]) == 0
    assert flowinfo_of([(IP6, 11, b"\x00\x01\x23")]) == 0  # too short: skipped
    assert flowinfo_of([(IP, 11, bytes.fromhex("00012345"))]) == 0  # SOL_IP 11 is IP_RECVERR


def test_flowinfo_takes_the_first_whole_cmsg() -> None:
    anc = [(IP6, 11, b"\x01"), (IP6, 11, bytes.fromhex("00000007")), (IP6, 11, b"\0\0\0\x09")]
    assert flowinfo_of(anc) == 7


@FAST
@given(st.integers(0, 2**32 - 1), st.binary(max_size=4))
def test_flowinfo_masks_any_value(value: int, tail: bytes) -> None:
    assert flowinfo_of([(IP6, 11, struct.pack("!I", value) + tail)]) == value & 0x0FFFFFFF


# -- timestamp_cmsg ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "payload"),
    [(SO_TIMESTAMP_OLD, TIMEVAL), (SO_TIMESTAMP_NEW, TIMEVAL),
     (SO_TIMESTAMPNS_OLD, TIMESPEC), (SO_TIMESTAMPNS_NEW, TIMESPEC)],
    ids=["timestamp", "timestamp_new", "timestampns", "timestampns_new"],
)  # fmt: skip
def test_timestamp_cmsg_is_a_timeval_or_a_timespec(kind: int, payload: bytes) -> None:
    assert timestamp_cmsg(kind, NOW_NS) == (SOL, kind, payload)


def test_timestamp_cmsg_of_the_epoch_and_of_a_whole_second() -> None:
    assert timestamp_cmsg(SO_TIMESTAMP_OLD, 0) == (SOL, 29, bytes(16))
    assert timestamp_cmsg(SO_TIMESTAMPNS_OLD, 5_000_000_000)[2] == struct.pack("=qq", 5, 0)
    assert timestamp_cmsg(SO_TIMESTAMP_OLD, 5_000_000_999)[2] == struct.pack("=qq", 5, 0)


@FAST
@given(st.integers(0, 2**62), st.sampled_from([SO_TIMESTAMP_OLD, SO_TIMESTAMP_NEW]))
def test_timeval_truncates_to_the_microsecond(now_ns: int, kind: int) -> None:
    level, got_kind, payload = timestamp_cmsg(kind, now_ns)
    seconds, micros = struct.unpack("=qq", payload)
    assert (level, got_kind, len(payload)) == (SOL, kind, 16)
    assert 0 <= micros < 1_000_000
    assert 0 <= now_ns - (seconds * 1_000_000_000 + micros * 1000) < 1000


@FAST
@given(st.integers(0, 2**62), st.sampled_from([SO_TIMESTAMPNS_OLD, SO_TIMESTAMPNS_NEW]))
def test_timespec_is_exact(now_ns: int, kind: int) -> None:
    seconds, nanos = struct.unpack("=qq", timestamp_cmsg(kind, now_ns)[2])
    assert 0 <= nanos < 1_000_000_000 and seconds * 1_000_000_000 + nanos == now_ns


# -- local_error_port --------------------------------------------------------------------------

ECHO4 = b"\x08\x00\x00\x00\x12\x34\x00\x01"
ECHO6 = b"\x80\x00\x00\x00\x12\x34\x00\x01"


def test_v4_local_error_port_is_the_connect_port() -> None:
    assert local_error_port(V4, ECHO4, 0) == 0
    assert local_error_port(V4, ECHO4, 1234) == 1234  # ip_local_error(): inet_dport


def test_v6_local_error_port_is_type_and_code_whatever_the_peer_port() -> None:
    assert local_error_port(V6, ECHO6, 0) == 0x8000
    assert local_error_port(V6, ECHO6, 1234) == 0x8000  # fl6_icmp_type/fl6_icmp_code overlay


@FAST
@given(st.binary(min_size=2, max_size=16), st.integers(0, 65535))
def test_local_error_port_by_family(message: bytes, peer_port: int) -> None:
    assert local_error_port(V4, message, peer_port) == peer_port
    assert local_error_port(V6, message, peer_port) == message[0] * 256 + message[1]


# -- needs_scope_id ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "scoped"),
    [
        ("fe80::1", True),
        ("febf:ffff::1", True),  # the last of fe80::/10
        ("fec0::1", False),  # site-local
        ("ff01::1", True),  # interface-local multicast
        ("ff02::1", True),  # link-local multicast
        ("ff12::1", True),  # a transient link-local group: flags do not matter
        ("ff32::1:ff00:1", True),
        ("ff05::2", False),
        ("ff0e::1", False),
        ("ff00::1", False),  # reserved scope 0
        ("2001:db8::1", False),
        ("::1", False),
        ("::", False),
        ("::ffff:169.254.1.1", False),  # v4-mapped link-local is not scoped
    ],
)
def test_needs_scope_id(address: str, scoped: bool) -> None:
    assert needs_scope_id(socket.inet_pton(V6, address)) is scoped


ADDRESSES = st.one_of(
    st.binary(min_size=16, max_size=16),
    st.builds(  # mostly fe.. and ff..: where the scoped ones are
        lambda first, second, rest: bytes([first, second]) + rest,
        st.sampled_from([0xFE, 0xFF]),
        st.integers(0, 255),
        st.binary(min_size=14, max_size=14),
    ),
)


@FAST
@given(ADDRESSES)
def test_needs_scope_id_agrees_with_ipaddress(raw: bytes) -> None:
    ip = ipaddress.IPv6Address(raw)
    expected = ip.is_link_local or (ip.is_multicast and raw[1] & 0x0F in (1, 2))
    assert needs_scope_id(raw) is expected
