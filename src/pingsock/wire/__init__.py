"""pingsock.wire: a pure codec for ICMP, ICMPv6 and IP headers.

The contract: every ``decode_*`` function takes any byte string and either returns a frozen
value or raises a :class:`~pingsock.errors.PacketError` subclass (``TruncatedPacket``,
``BadLength``, ``BadOptionLength``, ``BadChecksum`` when asked to verify, or ``PacketError``
itself for a wrong version or protocol); never ``IndexError``, ``struct.error`` or a guess.
Values ``encode()`` back to bytes: exactly the bytes they came from when the carried
``checksum`` is passed back in (``m.encode(checksum=m.checksum)``), and with correct
checksums by default. ``checksum`` fields record what was on the wire and take no part in
equality, so ``decode(m.encode()) == m``. Encoding a field that does not fit is a
``ValueError`` (a programming error, not a packet error).

Nothing here does I/O: no socket, select, asyncio, os or time (DESIGN.md).
"""

from __future__ import annotations

from pingsock.wire.checksum import (
    icmp6_checksum,
    internet_checksum,
)
from pingsock.wire.extended import (
    AnyExtensionObject,
    ExtensionObject,
    ExtensionStructure,
    InterfaceAddress,
    InterfaceId,
    InterfaceIndex,
    InterfaceName,
    decode_extensions,
)
from pingsock.wire.icmp4 import (
    Icmp4AddressMaskReply,
    Icmp4AddressMaskRequest,
    Icmp4DestUnreachable,
    Icmp4EchoReply,
    Icmp4EchoRequest,
    Icmp4ExtendedEchoReply,
    Icmp4ExtendedEchoRequest,
    Icmp4InfoReply,
    Icmp4InfoRequest,
    Icmp4Message,
    Icmp4ParameterProblem,
    Icmp4Redirect,
    Icmp4SourceQuench,
    Icmp4TimeExceeded,
    Icmp4TimestampReply,
    Icmp4TimestampRequest,
    UnknownIcmp4,
    decode_icmp4,
)
from pingsock.wire.icmp6 import (
    Icmp6DestUnreachable,
    Icmp6EchoReply,
    Icmp6EchoRequest,
    Icmp6ExtendedEchoReply,
    Icmp6ExtendedEchoRequest,
    Icmp6Message,
    Icmp6PacketTooBig,
    Icmp6ParameterProblem,
    Icmp6TimeExceeded,
    UnknownIcmp6,
    decode_icmp6,
)
from pingsock.wire.ip import (
    IPV4_DONT_FRAGMENT,
    IPV4_MORE_FRAGMENTS,
    IPv4Header,
    IPv6Header,
    decode_ipv4_header,
    decode_ipv6_header,
)
from pingsock.wire.ipoptions import (
    MAX_OPTIONS_LENGTH,
    EndOfOptions,
    IPOption,
    LooseSourceRoute,
    NoOperation,
    RawOption,
    RecordRoute,
    StrictSourceRoute,
    Timestamp,
    TimestampEntry,
    decode_options,
    encode_options,
)
from pingsock.wire.numbers import (
    DestUnreachableCode,
    ExtendedEchoReplyCode,
    ExtendedEchoState,
    Icmp4Type,
    Icmp6DestUnreachableCode,
    Icmp6ParameterProblemCode,
    Icmp6TimeExceededCode,
    Icmp6Type,
    IPOptionType,
    ParameterProblemCode,
    RedirectCode,
    TimeExceededCode,
    TimestampFlag,
)
from pingsock.wire.packet import (
    decode_ipv4_packet,
)
from pingsock.wire.quoted import (
    QuotedDatagram,
    QuotedIcmp,
    decode_quoted4,
    decode_quoted6,
)

__all__ = [
    "AnyExtensionObject",
    "DestUnreachableCode",
    "EndOfOptions",
    "ExtendedEchoReplyCode",
    "ExtendedEchoState",
    "ExtensionObject",
    "ExtensionStructure",
    "IPOption",
    "IPOptionType",
    "IPV4_DONT_FRAGMENT",
    "IPV4_MORE_FRAGMENTS",
    "IPv4Header",
    "IPv6Header",
    "Icmp4AddressMaskReply",
    "Icmp4AddressMaskRequest",
    "Icmp4DestUnreachable",
    "Icmp4EchoReply",
    "Icmp4EchoRequest",
    "Icmp4ExtendedEchoReply",
    "Icmp4ExtendedEchoRequest",
    "Icmp4InfoReply",
    "Icmp4InfoRequest",
    "Icmp4Message",
    "Icmp4ParameterProblem",
    "Icmp4Redirect",
    "Icmp4SourceQuench",
    "Icmp4TimeExceeded",
    "Icmp4TimestampReply",
    "Icmp4TimestampRequest",
    "Icmp4Type",
    "Icmp6DestUnreachable",
    "Icmp6DestUnreachableCode",
    "Icmp6EchoReply",
    "Icmp6EchoRequest",
    "Icmp6ExtendedEchoReply",
    "Icmp6ExtendedEchoRequest",
    "Icmp6Message",
    "Icmp6PacketTooBig",
    "Icmp6ParameterProblem",
    "Icmp6ParameterProblemCode",
    "Icmp6TimeExceeded",
    "Icmp6TimeExceededCode",
    "Icmp6Type",
    "InterfaceAddress",
    "InterfaceId",
    "InterfaceIndex",
    "InterfaceName",
    "LooseSourceRoute",
    "MAX_OPTIONS_LENGTH",
    "NoOperation",
    "ParameterProblemCode",
    "QuotedDatagram",
    "QuotedIcmp",
    "RawOption",
    "RecordRoute",
    "RedirectCode",
    "StrictSourceRoute",
    "TimeExceededCode",
    "Timestamp",
    "TimestampEntry",
    "TimestampFlag",
    "UnknownIcmp4",
    "UnknownIcmp6",
    "decode_extensions",
    "decode_icmp4",
    "decode_icmp6",
    "decode_ipv4_header",
    "decode_ipv4_packet",
    "decode_ipv6_header",
    "decode_options",
    "decode_quoted4",
    "decode_quoted6",
    "encode_options",
    "icmp6_checksum",
    "internet_checksum",
]
