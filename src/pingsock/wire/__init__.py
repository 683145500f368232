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

The names below are loaded on first use (PEP 562), so that ``import pingsock`` and the
per-packet hot path, which need only ``wire.checksum``, do not pay for the whole codec.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
        Icmp4Error,
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
        Icmp6Error,
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
    from pingsock.wire.message import quote_with_extensions
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
    "Icmp4Error",
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
    "Icmp6Error",
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
    "quote_with_extensions",
]

_SOURCES: dict[str, str] = {
    "AnyExtensionObject": "pingsock.wire.extended",
    "DestUnreachableCode": "pingsock.wire.numbers",
    "EndOfOptions": "pingsock.wire.ipoptions",
    "ExtendedEchoReplyCode": "pingsock.wire.numbers",
    "ExtendedEchoState": "pingsock.wire.numbers",
    "ExtensionObject": "pingsock.wire.extended",
    "ExtensionStructure": "pingsock.wire.extended",
    "IPOption": "pingsock.wire.ipoptions",
    "IPOptionType": "pingsock.wire.numbers",
    "IPV4_DONT_FRAGMENT": "pingsock.wire.ip",
    "IPV4_MORE_FRAGMENTS": "pingsock.wire.ip",
    "IPv4Header": "pingsock.wire.ip",
    "IPv6Header": "pingsock.wire.ip",
    "Icmp4AddressMaskReply": "pingsock.wire.icmp4",
    "Icmp4AddressMaskRequest": "pingsock.wire.icmp4",
    "Icmp4DestUnreachable": "pingsock.wire.icmp4",
    "Icmp4EchoReply": "pingsock.wire.icmp4",
    "Icmp4EchoRequest": "pingsock.wire.icmp4",
    "Icmp4Error": "pingsock.wire.icmp4",
    "Icmp4ExtendedEchoReply": "pingsock.wire.icmp4",
    "Icmp4ExtendedEchoRequest": "pingsock.wire.icmp4",
    "Icmp4InfoReply": "pingsock.wire.icmp4",
    "Icmp4InfoRequest": "pingsock.wire.icmp4",
    "Icmp4Message": "pingsock.wire.icmp4",
    "Icmp4ParameterProblem": "pingsock.wire.icmp4",
    "Icmp4Redirect": "pingsock.wire.icmp4",
    "Icmp4SourceQuench": "pingsock.wire.icmp4",
    "Icmp4TimeExceeded": "pingsock.wire.icmp4",
    "Icmp4TimestampReply": "pingsock.wire.icmp4",
    "Icmp4TimestampRequest": "pingsock.wire.icmp4",
    "Icmp4Type": "pingsock.wire.numbers",
    "Icmp6DestUnreachable": "pingsock.wire.icmp6",
    "Icmp6DestUnreachableCode": "pingsock.wire.numbers",
    "Icmp6EchoReply": "pingsock.wire.icmp6",
    "Icmp6EchoRequest": "pingsock.wire.icmp6",
    "Icmp6Error": "pingsock.wire.icmp6",
    "Icmp6ExtendedEchoReply": "pingsock.wire.icmp6",
    "Icmp6ExtendedEchoRequest": "pingsock.wire.icmp6",
    "Icmp6Message": "pingsock.wire.icmp6",
    "Icmp6PacketTooBig": "pingsock.wire.icmp6",
    "Icmp6ParameterProblem": "pingsock.wire.icmp6",
    "Icmp6ParameterProblemCode": "pingsock.wire.numbers",
    "Icmp6TimeExceeded": "pingsock.wire.icmp6",
    "Icmp6TimeExceededCode": "pingsock.wire.numbers",
    "Icmp6Type": "pingsock.wire.numbers",
    "InterfaceAddress": "pingsock.wire.extended",
    "InterfaceId": "pingsock.wire.extended",
    "InterfaceIndex": "pingsock.wire.extended",
    "InterfaceName": "pingsock.wire.extended",
    "LooseSourceRoute": "pingsock.wire.ipoptions",
    "MAX_OPTIONS_LENGTH": "pingsock.wire.ipoptions",
    "NoOperation": "pingsock.wire.ipoptions",
    "ParameterProblemCode": "pingsock.wire.numbers",
    "QuotedDatagram": "pingsock.wire.quoted",
    "QuotedIcmp": "pingsock.wire.quoted",
    "RawOption": "pingsock.wire.ipoptions",
    "RecordRoute": "pingsock.wire.ipoptions",
    "RedirectCode": "pingsock.wire.numbers",
    "StrictSourceRoute": "pingsock.wire.ipoptions",
    "TimeExceededCode": "pingsock.wire.numbers",
    "Timestamp": "pingsock.wire.ipoptions",
    "TimestampEntry": "pingsock.wire.ipoptions",
    "TimestampFlag": "pingsock.wire.numbers",
    "UnknownIcmp4": "pingsock.wire.icmp4",
    "UnknownIcmp6": "pingsock.wire.icmp6",
    "decode_extensions": "pingsock.wire.extended",
    "decode_icmp4": "pingsock.wire.icmp4",
    "decode_icmp6": "pingsock.wire.icmp6",
    "decode_ipv4_header": "pingsock.wire.ip",
    "decode_ipv4_packet": "pingsock.wire.packet",
    "decode_ipv6_header": "pingsock.wire.ip",
    "decode_options": "pingsock.wire.ipoptions",
    "decode_quoted4": "pingsock.wire.quoted",
    "decode_quoted6": "pingsock.wire.quoted",
    "encode_options": "pingsock.wire.ipoptions",
    "icmp6_checksum": "pingsock.wire.checksum",
    "internet_checksum": "pingsock.wire.checksum",
    "quote_with_extensions": "pingsock.wire.message",
}


def __getattr__(name: str) -> Any:
    module = _SOURCES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
