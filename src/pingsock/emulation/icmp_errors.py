"""What an ICMP error becomes on a ping socket: errno, and whether it is fatal ("hard").

IPv4: ``ping_err()`` with ``icmp_err_convert[]`` (net/ipv4/icmp.c); IPv6:
``icmpv6_err_convert()`` (net/ipv6/icmp.c). Spec sections J1, J2 and M11.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass

__all__ = ["ErrorVerdict", "icmp4_error_verdict", "icmp6_error_verdict"]


@dataclass(frozen=True, slots=True)
class ErrorVerdict:
    """The errno an ICMP error maps to, and whether it is hard (reported without IP_RECVERR
    on a connected socket, spec J4)."""

    errno: int
    hard: bool


# icmp_err_convert[] by Destination Unreachable code 0..15 (spec J2).
_UNREACH4: tuple[ErrorVerdict, ...] = (
    ErrorVerdict(errno.ENETUNREACH, False),  # 0 net unreachable
    ErrorVerdict(errno.EHOSTUNREACH, False),  # 1 host unreachable
    ErrorVerdict(errno.ENOPROTOOPT, True),  # 2 protocol unreachable
    ErrorVerdict(errno.ECONNREFUSED, True),  # 3 port unreachable
    ErrorVerdict(errno.EMSGSIZE, True),  # 4 fragmentation needed
    ErrorVerdict(errno.EOPNOTSUPP, False),  # 5 source route failed
    ErrorVerdict(errno.ENETUNREACH, True),  # 6 net unknown
    ErrorVerdict(errno.EHOSTDOWN, True),  # 7 host unknown
    ErrorVerdict(errno.ENONET, True),  # 8 source host isolated
    ErrorVerdict(errno.ENETUNREACH, True),  # 9 net prohibited
    ErrorVerdict(errno.EHOSTUNREACH, True),  # 10 host prohibited
    ErrorVerdict(errno.ENETUNREACH, False),  # 11 net unreachable for TOS
    ErrorVerdict(errno.EHOSTUNREACH, False),  # 12 host unreachable for TOS
    ErrorVerdict(errno.EHOSTUNREACH, True),  # 13 communication prohibited (filtered)
    ErrorVerdict(errno.EHOSTUNREACH, True),  # 14 host precedence violation
    ErrorVerdict(errno.EHOSTUNREACH, True),  # 15 precedence cutoff
)

ICMP4_DEST_UNREACH = 3
ICMP4_SOURCE_QUENCH = 4
ICMP4_REDIRECT = 5
ICMP4_TIME_EXCEEDED = 11
ICMP4_PARAMETER_PROB = 12
ICMP4_FRAG_NEEDED = 4  # code of ICMP4_DEST_UNREACH

ICMP4_ERROR_TYPES = frozenset(
    {
        ICMP4_DEST_UNREACH,
        ICMP4_SOURCE_QUENCH,
        ICMP4_REDIRECT,
        ICMP4_TIME_EXCEEDED,
        ICMP4_PARAMETER_PROB,
    }
)
ICMP6_ERROR_TYPES = frozenset({1, 2, 3, 4})


def icmp4_error_verdict(icmp_type: int, code: int) -> ErrorVerdict | None:
    """The verdict for an ICMPv4 error, or None when the kernel drops it before any socket.

    ``icmp_unreach()`` drops Destination Unreachable codes above NR_ICMP_UNREACH (15), and
    ``ping_err()`` ignores Time Exceeded code 1 (fragment reassembly), both observed (J1).
    """
    if icmp_type == ICMP4_DEST_UNREACH:
        return _UNREACH4[code] if 0 <= code < len(_UNREACH4) else None
    if icmp_type == ICMP4_TIME_EXCEEDED:
        return ErrorVerdict(errno.EHOSTUNREACH, False) if code == 0 else None
    if icmp_type == ICMP4_PARAMETER_PROB:
        return ErrorVerdict(errno.EPROTO, True)
    if icmp_type in (ICMP4_SOURCE_QUENCH, ICMP4_REDIRECT):
        # ping_err(): "This is not a real error but ping wants to see it" (J2: EREMOTEIO).
        return ErrorVerdict(errno.EREMOTEIO, False)
    return None


def icmp6_error_verdict(icmp_type: int, code: int) -> ErrorVerdict | None:
    """The verdict of ``icmpv6_err_convert()`` for an ICMPv6 error type 1..4 (spec M11)."""
    if icmp_type == 1:
        if code == 0:
            return ErrorVerdict(errno.ENETUNREACH, False)
        if code == 1:
            return ErrorVerdict(errno.EACCES, True)
        if code in (2, 3):
            return ErrorVerdict(errno.EHOSTUNREACH, False)
        if code == 4:
            return ErrorVerdict(errno.ECONNREFUSED, True)
        if code in (5, 6):
            return ErrorVerdict(errno.EACCES, True)
        return ErrorVerdict(errno.EPROTO, True)
    if icmp_type == 2:
        return ErrorVerdict(errno.EMSGSIZE, False)
    if icmp_type == 3:
        return ErrorVerdict(errno.EHOSTUNREACH, False)
    if icmp_type == 4:
        return ErrorVerdict(errno.EPROTO, True)
    return None
