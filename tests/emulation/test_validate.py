"""Send validation in the kernel's order (spec E1, M2, M5) and the header rewrite (E3, M3)."""

from __future__ import annotations

import errno
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pingsock import linux
from pingsock.emulation.validate import check_send, rewrite_echo
from pingsock.wire.checksum import internet_checksum

V4, V6 = linux.AF_INET, linux.AF_INET6
ECHO4 = b"\x08\x00\x00\x00\x00\x00\x00\x01"
ECHO6 = b"\x80\x00\x00\x00\x00\x00\x00\x01"


def errno_of(
    family: int,
    message: bytes,
    flags: int = 0,
    *,
    address_family: int | None = V4,
    connected: bool = False,
) -> int:
    try:
        check_send(family, message, flags, address_family=address_family, connected=connected)
    except OSError as exc:
        return exc.errno or 0
    return 0


@pytest.mark.parametrize(
    ("message", "flags", "address_family", "expected"),
    [
        (ECHO4, 0, V4, 0),
        (b"\x2a\x00" + bytes(6), 0, V4, 0),  # Extended Echo (RFC 8335) is allowed
        (bytes([13]) + bytes(69999), 0, V4, errno.EMSGSIZE),  # len 70000 + bad type: size first
        (bytes(7), linux.MSG_OOB, V4, errno.EINVAL),  # len 7 + OOB: length first
        (ECHO4, linux.MSG_OOB, V4, errno.EOPNOTSUPP),  # len 8 + OOB
        (b"\x0d" + bytes(7), 0, V6, errno.EINVAL),  # bad type + bad family: type first
        (b"\x08\x01" + bytes(6), 0, V4, errno.EINVAL),  # code 1
        (b"\x00\x00" + bytes(6), 0, V4, errno.EINVAL),  # an Echo Reply may not be sent
        (ECHO4, 0, V6, errno.EAFNOSUPPORT),
        (ECHO4, 0, None, errno.EDESTADDRREQ),
        (ECHO4 + bytes(65535 - 8), 0, V4, 0),  # the size cap of this layer is 65535
        (ECHO4 + bytes(65536 - 8), 0, V4, errno.EMSGSIZE),
    ],
)
def test_v4_order(message: bytes, flags: int, address_family: int | None, expected: int) -> None:
    assert errno_of(V4, message, flags, address_family=address_family) == expected


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (ECHO6, 0),
        (b"\xa0\x00" + bytes(6), 0),  # 160 Extended Echo
        (b"\x81\x00" + bytes(6), errno.EINVAL),  # 129
        (b"\x08\x00" + bytes(6), errno.EINVAL),  # an IPv4 type on an IPv6 socket
        (b"\x87\x00" + bytes(6), errno.EINVAL),  # 135 neighbour solicitation
        (b"\x80\x01" + bytes(6), errno.EINVAL),
        (bytes(7), errno.EINVAL),
    ],
)
def test_v6_types(message: bytes, expected: int) -> None:
    assert errno_of(V6, message, address_family=V6) == expected


def test_connected_socket_needs_no_address() -> None:
    assert errno_of(V4, ECHO4, address_family=None, connected=True) == 0


def test_error_reads_like_the_kernel_socket() -> None:
    with pytest.raises(OSError, match=r"\[Errno 22\] Invalid argument"):
        check_send(V4, bytes(7), 0, address_family=V4, connected=False)


@given(
    ident=st.integers(1, 0xFFFF),
    seq=st.integers(0, 0xFFFF),
    user_id=st.integers(0, 0xFFFF),
    user_sum=st.integers(0, 0xFFFF),
    payload=st.binary(max_size=64),
)
def test_rewrite_v4_sets_ident_and_a_valid_checksum(
    ident: int, seq: int, user_id: int, user_sum: int, payload: bytes
) -> None:
    message = struct.pack("!BBHHH", 8, 0, user_sum, user_id, seq) + payload
    wire = rewrite_echo(V4, message, ident)
    assert struct.unpack_from("!H", wire, 4)[0] == ident
    assert wire[6:8] == message[6:8] and wire[8:] == payload  # seq and payload verbatim
    assert internet_checksum(wire) == 0


def test_rewrite_v6_leaves_the_checksum_to_the_kernel() -> None:
    wire = rewrite_echo(V6, b"\x80\x00\xde\xad\x12\x34\x00\x07odd", 0x4242)
    assert wire == b"\x80\x00\x00\x00\x42\x42\x00\x07odd"
