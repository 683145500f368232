"""Which packet a ping socket sees, and as what (spec H1-H6, J1, J2, M4, M11)."""

from __future__ import annotations

import errno
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pingsock.emulation.demux import Delivery, ErrorArrival, classify_icmp6, classify_ipv4

from .packets import echo4, echo6, error4, error6, icmp4, ipv4, ipv6_header

IDENT = 0x1234
ME = "198.51.100.1"
ME_RAW = bytes([198, 51, 100, 1])


def test_echo_reply_with_our_ident_is_delivered_without_the_ip_header() -> None:
    reply = echo4(0, IDENT, 7)
    verdict = classify_ipv4(ipv4("203.0.113.1", ME, reply), IDENT)
    assert verdict == Delivery(reply, "203.0.113.1")


def test_extended_echo_reply_is_delivered() -> None:
    reply = echo4(43, IDENT, 1)
    assert isinstance(classify_ipv4(ipv4("203.0.113.1", ME, reply), IDENT), Delivery)


@pytest.mark.parametrize(
    "packet",
    [
        ipv4("203.0.113.1", ME, echo4(0, IDENT + 1, 1)),  # another socket's id
        ipv4("203.0.113.1", ME, echo4(8, IDENT, 1)),  # an Echo Request with our id (H2)
        ipv4("203.0.113.1", ME, icmp4(14, 0, struct.pack("!HH", IDENT, 1), bytes(12))),
        ipv4("203.0.113.1", "255.255.255.255", echo4(0, IDENT, 1)),  # to broadcast (H2)
        ipv4("203.0.113.1", "224.0.0.1", echo4(0, IDENT, 1)),  # to multicast
        ipv4("203.0.113.1", ME, echo4(0, IDENT, 1), proto=17),  # not ICMP
        ipv4("203.0.113.1", ME, echo4(0, IDENT, 1))[:27],  # shorter than the echo header
    ],
)
def test_not_ours(packet: bytes) -> None:
    assert classify_ipv4(packet, IDENT) is None


def test_bad_checksum_is_dropped_like_icmp_rcv_does() -> None:
    reply = bytearray(echo4(0, IDENT, 1))
    reply[-1] ^= 0xFF
    assert classify_ipv4(ipv4("203.0.113.1", ME, bytes(reply)), IDENT) is None


def test_bound_address_must_equal_the_destination() -> None:
    packet = ipv4("203.0.113.1", ME, echo4(0, IDENT, 1))
    assert classify_ipv4(packet, IDENT, ME_RAW) is not None
    assert classify_ipv4(packet, IDENT, bytes([127, 0, 0, 1])) is None


@pytest.mark.parametrize(
    ("icmp_type", "code", "expected_errno"),
    [
        (3, 0, errno.ENETUNREACH),
        (3, 1, errno.EHOSTUNREACH),
        (3, 3, errno.ECONNREFUSED),
        (3, 13, errno.EHOSTUNREACH),
        (11, 0, errno.EHOSTUNREACH),
        (12, 0, errno.EPROTO),
        (4, 0, errno.EREMOTEIO),
        (5, 1, errno.EREMOTEIO),
    ],
)
def test_errors_quoting_our_echo(icmp_type: int, code: int, expected_errno: int) -> None:
    quoted = echo4(8, IDENT, 3, bytes(56))
    packet = error4(icmp_type, code, offender="198.51.100.254", quoted_echo=quoted)
    verdict = classify_ipv4(packet, IDENT)
    assert isinstance(verdict, ErrorArrival)
    assert verdict.verdict.errno == expected_errno
    assert verdict.offender == "198.51.100.254"
    assert verdict.original_destination == "203.0.113.1"
    assert verdict.quoted == quoted


@pytest.mark.parametrize(("icmp_type", "code"), [(3, 16), (11, 1)])
def test_errors_the_kernel_drops(icmp_type: int, code: int) -> None:
    packet = error4(icmp_type, code, offender="198.51.100.254", quoted_echo=echo4(8, IDENT, 1))
    assert classify_ipv4(packet, IDENT) is None


def test_error_quoting_another_ident_is_ignored() -> None:
    packet = error4(3, 1, offender="198.51.100.254", quoted_echo=echo4(8, IDENT + 1, 1))
    assert classify_ipv4(packet, IDENT) is None


def test_error_with_only_eight_quoted_bytes_is_enough() -> None:
    packet = error4(11, 0, offender="198.51.100.254", quoted_echo=echo4(8, IDENT, 9, b""))
    verdict = classify_ipv4(packet, IDENT)
    assert isinstance(verdict, ErrorArrival) and verdict.quoted[6:8] == b"\x00\x09"


@pytest.mark.parametrize(
    ("icmp_type", "code", "rest", "info"),
    [
        (3, 4, b"\x00\x00\x05\x00", 1280),  # RFC 1191 next-hop MTU
        (12, 0, b"\x14\x00\x00\x00", 20),  # pointer
        (5, 1, bytes([10, 99, 1, 253]), 174260733),  # gateway as a host-order u32 (J2)
    ],
)
def test_ee_info(icmp_type: int, code: int, rest: bytes, info: int) -> None:
    packet = error4(
        icmp_type, code, offender="198.51.100.254", rest=rest, quoted_echo=echo4(8, IDENT, 1)
    )
    verdict = classify_ipv4(packet, IDENT)
    assert isinstance(verdict, ErrorArrival) and verdict.info == info


def test_v6_reply_and_errors() -> None:
    assert classify_icmp6(echo6(129, IDENT, 1), "2001:db8:2::1", IDENT) == Delivery(
        echo6(129, IDENT, 1), "2001:db8:2::1"
    )
    assert classify_icmp6(echo6(129, IDENT + 1, 1), "::1", IDENT) is None
    assert classify_icmp6(echo6(128, IDENT, 1), "::1", IDENT) is None
    ptb = classify_icmp6(
        error6(2, 0, echo6(128, IDENT, 4), struct.pack("!I", 1280)), "2001:db8:1::fe", IDENT
    )
    assert isinstance(ptb, ErrorArrival)
    assert (ptb.verdict.errno, ptb.verdict.hard, ptb.info) == (errno.EMSGSIZE, False, 1280)
    assert ptb.original_destination == "2001:db8:2::1"
    admin = classify_icmp6(error6(1, 1, echo6(128, IDENT, 4)), "2001:db8:1::fe", IDENT)
    assert isinstance(admin, ErrorArrival)
    assert (admin.verdict.errno, admin.verdict.hard) == (errno.EACCES, True)


def test_v6_bound_address_checked_when_the_destination_is_known() -> None:
    local = bytes.fromhex("20010db8000100000000000000000001")
    other = bytes.fromhex("20010db8000100000000000000000009")
    reply = echo6(129, IDENT, 1)
    assert classify_icmp6(reply, "::1", IDENT, local, local) is not None
    assert classify_icmp6(reply, "::1", IDENT, other, local) is None


@given(st.binary(max_size=200), st.integers(0, 0xFFFF))
def test_arbitrary_bytes_never_raise(data: bytes, ident: int) -> None:
    classify_ipv4(data, ident)
    classify_icmp6(data, "::1", ident)


def _fragmented_error6(quoted_echo: bytes, fragment_offset: int) -> bytes:
    """A Packet Too Big quoting a fragment: IPv6 header, Fragment header, then the echo."""
    src = bytes.fromhex("20010db8000100000000000000000001")
    dst = bytes.fromhex("20010db8000200000000000000000001")
    fragment = struct.pack("!BBHI", 58, 0, (fragment_offset << 3) | 1, 0x1234)
    inner = ipv6_header(src, dst, 8 + len(quoted_echo), next_header=44) + fragment + quoted_echo
    return bytes([2, 0, 0, 0]) + struct.pack("!I", 1280) + inner


def test_an_error_about_the_first_fragment_skips_the_fragment_header() -> None:
    # icmpv6_notify() walks past the Fragment header (spec M11).
    quoted = echo6(128, 77, 1)
    verdict = classify_icmp6(_fragmented_error6(quoted, 0), "2001:db8:1::fe", 77)
    assert isinstance(verdict, ErrorArrival)
    assert (verdict.info, verdict.quoted) == (1280, quoted)
    assert classify_icmp6(_fragmented_error6(quoted, 0), "2001:db8:1::fe", 78) is None


def test_an_error_about_a_later_fragment_quotes_no_echo_header() -> None:
    assert classify_icmp6(_fragmented_error6(echo6(128, 77, 1), 185), "2001:db8::1", 77) is None
