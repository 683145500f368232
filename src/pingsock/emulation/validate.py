"""Send-side rules of the ping socket: validation in the kernel's order, and header rewrite.

``ping_common_sendmsg()`` then ``ping_v4_sendmsg()`` / ``ping_v6_sendmsg()`` (spec E1, M2, M5):
the checks below run in exactly this order, so a send that breaks two rules reports the
first one, as the kernel does ("len 70000 + bad type -> EMSGSIZE").
"""

from __future__ import annotations

import errno
import struct

from pingsock import linux
from pingsock.emulation.oserror import os_error
from pingsock.wire.checksum import internet_checksum

__all__ = ["MAX_SEND_LENGTH", "check_send", "rewrite_echo", "sendable_types"]

MAX_SEND_LENGTH = 0xFFFF  # ping_common_sendmsg: len > 0xFFFF -> EMSGSIZE (E1 step 1)
ICMP_HEADER_LENGTH = 8  # sizeof(struct icmphdr); the CVE-2016-8399 minimum (E1 step 2)

_ID_AND_SEQ = struct.Struct("!H")

# E1 step 5: v4 allows Echo (8) and Extended Echo (42, RFC 8335, since 5.13); v6 allows 128
# and 160. Only code 0.
_SENDABLE = {linux.AF_INET: frozenset({8, 42}), linux.AF_INET6: frozenset({128, 160})}


def sendable_types(family: int) -> frozenset[int]:
    """The ICMP types a ping socket of ``family`` may send (always with code 0)."""
    return _SENDABLE[family]


def check_send(
    family: int,
    message: bytes,
    flags: int,
    *,
    address_family: int | None,
    connected: bool,
) -> None:
    """Raise ``OSError`` with the kernel's errno if ``message`` may not be sent.

    ``address_family`` is the family of the destination given with the call, or None when the
    call named no destination (send() rather than sendto()). Route and size-versus-MTU checks
    (E1 steps 8-10) are the backend's: they need the routing table.
    """
    length = len(message)
    if length > MAX_SEND_LENGTH:  # step 1
        raise os_error(errno.EMSGSIZE)
    if length < ICMP_HEADER_LENGTH:  # step 2
        raise os_error(errno.EINVAL)
    if flags & linux.MSG_OOB:  # step 3
        raise os_error(errno.EOPNOTSUPP)
    if message[0] not in _SENDABLE[family] or message[1] != 0:  # step 5
        raise os_error(errno.EINVAL)
    if address_family is not None:  # step 6a/6b (6a, the sockaddr length, is Python's)
        if address_family != family:
            raise os_error(errno.EAFNOSUPPORT)
    elif not connected:  # step 6c
        raise os_error(errno.EDESTADDRREQ)


def rewrite_echo(family: int, message: bytes, ident: int) -> bytes:
    """The bytes that go on the wire: the id replaced by the socket's ident, checksum fresh.

    Spec E3 / M3: the user's id and checksum are ignored. For ICMPv6 the checksum field is
    zeroed: a raw ICMPv6 socket always computes it over the pseudo-header (RFC 3542 section
    3.1), exactly as the ping socket does.
    """
    head = bytearray(message[:8])
    head[2:4] = b"\x00\x00"
    head[4:6] = _ID_AND_SEQ.pack(ident)
    if family == linux.AF_INET6:
        return bytes(head) + message[8:]
    packet = bytes(head) + message[8:]
    checksum = internet_checksum(packet)
    return packet[:2] + _ID_AND_SEQ.pack(checksum) + packet[4:]
