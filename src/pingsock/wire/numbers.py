"""Assigned numbers: ICMP and ICMPv6 types and codes, IP option types.

These are constants to compare against and to build messages with. Decoded messages keep
their type and code as plain ``int`` so that values missing here (new IANA assignments,
experiments, garbage) survive a decode/encode round trip unchanged; ``IntEnum`` members
compare equal to those ints.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = [
    "DestUnreachableCode",
    "ExtendedEchoReplyCode",
    "ExtendedEchoState",
    "Icmp4Type",
    "Icmp6DestUnreachableCode",
    "Icmp6ParameterProblemCode",
    "Icmp6TimeExceededCode",
    "Icmp6Type",
    "IPOptionType",
    "ParameterProblemCode",
    "RedirectCode",
    "TimeExceededCode",
    "TimestampFlag",
]


class Icmp4Type(IntEnum):
    """ICMPv4 message types (RFC 792, RFC 950, RFC 8335)."""

    ECHO_REPLY = 0
    DEST_UNREACHABLE = 3
    SOURCE_QUENCH = 4  # deprecated by RFC 6633, still decoded
    REDIRECT = 5
    ECHO_REQUEST = 8
    TIME_EXCEEDED = 11
    PARAMETER_PROBLEM = 12
    TIMESTAMP_REQUEST = 13
    TIMESTAMP_REPLY = 14
    INFO_REQUEST = 15  # deprecated by RFC 6918
    INFO_REPLY = 16
    ADDRESS_MASK_REQUEST = 17  # RFC 950 appendix I
    ADDRESS_MASK_REPLY = 18
    EXTENDED_ECHO_REQUEST = 42  # RFC 8335 section 2
    EXTENDED_ECHO_REPLY = 43  # RFC 8335 section 3


class DestUnreachableCode(IntEnum):
    """Codes of ICMPv4 Destination Unreachable (RFC 792, RFC 1122 3.2.2.1, RFC 1812 5.2.7.1)."""

    NET = 0
    HOST = 1
    PROTOCOL = 2
    PORT = 3
    FRAGMENTATION_NEEDED = 4  # carries the next-hop MTU (RFC 1191 section 4)
    SOURCE_ROUTE_FAILED = 5
    NET_UNKNOWN = 6
    HOST_UNKNOWN = 7
    SOURCE_HOST_ISOLATED = 8
    NET_PROHIBITED = 9
    HOST_PROHIBITED = 10
    NET_TOS = 11
    HOST_TOS = 12
    ADMIN_PROHIBITED = 13  # RFC 1812
    HOST_PRECEDENCE_VIOLATION = 14
    PRECEDENCE_CUTOFF = 15


class RedirectCode(IntEnum):
    """Codes of ICMPv4 Redirect (RFC 792)."""

    NET = 0
    HOST = 1
    TOS_NET = 2
    TOS_HOST = 3


class TimeExceededCode(IntEnum):
    """Codes of ICMPv4 Time Exceeded (RFC 792)."""

    TTL = 0
    REASSEMBLY = 1


class ParameterProblemCode(IntEnum):
    """Codes of ICMPv4 Parameter Problem (RFC 792, RFC 1108, RFC 1812 5.2.7.3)."""

    POINTER = 0
    MISSING_OPTION = 1
    BAD_LENGTH = 2


class Icmp6Type(IntEnum):
    """ICMPv6 message types handled by this codec (RFC 4443, RFC 8335)."""

    DEST_UNREACHABLE = 1
    PACKET_TOO_BIG = 2
    TIME_EXCEEDED = 3
    PARAMETER_PROBLEM = 4
    ECHO_REQUEST = 128
    ECHO_REPLY = 129
    EXTENDED_ECHO_REQUEST = 160  # RFC 8335 section 2
    EXTENDED_ECHO_REPLY = 161  # RFC 8335 section 3


class Icmp6DestUnreachableCode(IntEnum):
    """Codes of ICMPv6 Destination Unreachable (RFC 4443 3.1, RFC 6550, RFC 8883)."""

    NO_ROUTE = 0
    ADMIN_PROHIBITED = 1
    BEYOND_SCOPE = 2
    ADDRESS = 3
    PORT = 4
    SOURCE_POLICY = 5
    REJECT_ROUTE = 6
    SOURCE_ROUTING_HEADER = 7  # RFC 6550 section 20.18
    HEADERS_TOO_LONG = 8  # RFC 8883 section 3.1


class Icmp6TimeExceededCode(IntEnum):
    """Codes of ICMPv6 Time Exceeded (RFC 4443 3.3)."""

    HOP_LIMIT = 0
    REASSEMBLY = 1


class Icmp6ParameterProblemCode(IntEnum):
    """Codes of ICMPv6 Parameter Problem (RFC 4443 3.4, RFC 7112 section 5)."""

    HEADER_FIELD = 0
    NEXT_HEADER = 1
    OPTION = 2
    INCOMPLETE_CHAIN = 3


class ExtendedEchoReplyCode(IntEnum):
    """Codes of Extended Echo Reply, the same for ICMPv4 and ICMPv6 (RFC 8335 section 3)."""

    NO_ERROR = 0
    MALFORMED_QUERY = 1
    NO_SUCH_INTERFACE = 2
    NO_SUCH_TABLE_ENTRY = 3
    MULTIPLE_INTERFACES = 4


class ExtendedEchoState(IntEnum):
    """The State field of Extended Echo Reply: neighbour-table states (RFC 8335 section 3)."""

    RESERVED = 0
    INCOMPLETE = 1
    REACHABLE = 2
    STALE = 3
    DELAY = 4
    PROBE = 5
    FAILED = 6


class IPOptionType(IntEnum):
    """IPv4 option type octets (RFC 791 section 3.1; copied flag, class and number together)."""

    END_OF_OPTIONS = 0
    NO_OPERATION = 1
    RECORD_ROUTE = 7
    TIMESTAMP = 68
    LOOSE_SOURCE_ROUTE = 131
    STRICT_SOURCE_ROUTE = 137
    ROUTER_ALERT = 148  # RFC 2113


class TimestampFlag(IntEnum):
    """The flag nibble of the Internet Timestamp option (RFC 791 section 3.1)."""

    TIMESTAMPS_ONLY = 0  # ping -T tsonly
    WITH_ADDRESSES = 1  # ping -T tsandaddr
    PRESPECIFIED = 3  # ping -T tsprespec
