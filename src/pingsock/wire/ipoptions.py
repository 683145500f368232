"""IPv4 options (RFC 791 section 3.1): decode the options area, encode option lists.

Options matter to ping for ``-R`` (Record Route) and ``-T`` (Internet Timestamp): the option
block goes to ``setsockopt(IP_OPTIONS)`` and comes back filled in, in the reply's IP header
(shared/spec/kernel-ping-socket.md I2, I3). Defaults build exactly what iputils sends:
``RecordRoute()`` is ``[7, 39, 4, 0...]`` and ``Timestamp()`` is ``[68, 40, 5, 0, ...]``.

An option decodes to a typed value only when its length fits the typed layout (route data a
multiple of 4 bytes, timestamp entries a multiple of 4 or 8, a known timestamp flag);
anything else with a sound length byte is kept as :class:`RawOption`, so
``encode_options(decode_options(area)) == area`` for every valid options area. A zero byte
that merely pads the last option to a 32-bit boundary is the fill ``encode_options`` adds,
not an :class:`EndOfOptions` of its own, so ``decode_options(encode_options(opts)) == opts``
too (for lists that do not end in such a redundant End of Option List).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import ClassVar

from pingsock.errors import BadLength, BadOptionLength
from pingsock.wire.numbers import IPOptionType, TimestampFlag
from pingsock.wire.reader import Reader, pack

__all__ = [
    "MAX_OPTIONS_LENGTH",
    "EndOfOptions",
    "IPOption",
    "LooseSourceRoute",
    "NoOperation",
    "RawOption",
    "RecordRoute",
    "StrictSourceRoute",
    "Timestamp",
    "TimestampEntry",
    "decode_options",
    "encode_options",
]

MAX_OPTIONS_LENGTH = 40  # RFC 791 3.1: IHL is at most 15 words, 5 of them the fixed header

_OPTION_HEAD = struct.Struct("!BB")  # type, length
_ROUTE_HEAD = struct.Struct("!BBB")  # type, length, pointer
_TIMESTAMP_HEAD = struct.Struct("!BBBB")  # type, length, pointer, overflow(4) | flag(4)
_U32 = struct.Struct("!I")
_ZERO = IPv4Address(0)


@dataclass(frozen=True, slots=True)
class EndOfOptions:
    """End of Option List, type 0 (RFC 791).

    ``padding`` holds the bytes after it when they are not the zero fill that
    :func:`encode_options` adds anyway, so odd padding survives a round trip.
    """

    padding: bytes = b""

    def encode(self) -> bytes:
        return b"\x00" + self.padding


@dataclass(frozen=True, slots=True)
class NoOperation:
    """No Operation, type 1: a single byte used to align the next option (RFC 791)."""

    def encode(self) -> bytes:
        return b"\x01"


@dataclass(frozen=True, slots=True)
class _RouteOption:
    # RFC 791 "Loose/Strict Source and Record Route", "Record Route": type, length, pointer,
    # then route data of 4-byte addresses. The pointer is the 1-based octet index of the next
    # slot; it starts at 4 and is past the end once the route is full.
    TYPE: ClassVar[int]

    route: tuple[IPv4Address, ...] = (_ZERO,) * 9
    pointer: int = 4

    @property
    def recorded(self) -> tuple[IPv4Address, ...]:
        """The addresses before the pointer: those already recorded (or already visited)."""
        return self.route[: max(0, (self.pointer - 4) // 4)]

    @property
    def full(self) -> bool:
        """True once the pointer is past the last slot (RFC 791: no room to record)."""
        return self.pointer > 3 + 4 * len(self.route)

    def encode(self) -> bytes:
        head = pack(_ROUTE_HEAD, self.TYPE, 3 + 4 * len(self.route), self.pointer)
        return head + b"".join(address.packed for address in self.route)


@dataclass(frozen=True, slots=True)
class RecordRoute(_RouteOption):
    """Record Route, type 7. The default is ping -R's nine empty slots (RFC 791)."""

    TYPE: ClassVar[int] = IPOptionType.RECORD_ROUTE


@dataclass(frozen=True, slots=True)
class LooseSourceRoute(_RouteOption):
    """Loose Source and Record Route, type 131 (RFC 791)."""

    TYPE: ClassVar[int] = IPOptionType.LOOSE_SOURCE_ROUTE


@dataclass(frozen=True, slots=True)
class StrictSourceRoute(_RouteOption):
    """Strict Source and Record Route, type 137 (RFC 791)."""

    TYPE: ClassVar[int] = IPOptionType.STRICT_SOURCE_ROUTE


@dataclass(frozen=True, slots=True)
class TimestampEntry:
    """One slot of the Timestamp option: the time, and the address for flags 1 and 3.

    RFC 791: milliseconds since midnight UT; a value with the high bit set is non-standard.
    """

    timestamp: int = 0
    address: IPv4Address | None = None


@dataclass(frozen=True, slots=True)
class Timestamp:
    """Internet Timestamp, type 68 (RFC 791). The default is ping -T tsonly's nine slots.

    ``flag`` 0 holds timestamps only, 1 address/timestamp pairs filled by each hop, 3 pairs
    whose addresses the sender prespecified. ``overflow`` counts hops that found no room.
    The pointer starts at 5.
    """

    TYPE: ClassVar[int] = IPOptionType.TIMESTAMP

    entries: tuple[TimestampEntry, ...] = (TimestampEntry(),) * 9
    flag: int = TimestampFlag.TIMESTAMPS_ONLY
    pointer: int = 5
    overflow: int = 0

    @property
    def entry_size(self) -> int:
        return 4 if self.flag == TimestampFlag.TIMESTAMPS_ONLY else 8

    @property
    def recorded(self) -> tuple[TimestampEntry, ...]:
        """The entries before the pointer: those already filled in."""
        return self.entries[: max(0, (self.pointer - 5) // self.entry_size)]

    def encode(self) -> bytes:
        if self.flag not in (0, 1, 3):
            raise ValueError(f"timestamp flag {self.flag} has no defined layout; use RawOption")
        with_address = self.flag != TimestampFlag.TIMESTAMPS_ONLY
        parts: list[bytes] = []
        for entry in self.entries:
            if (entry.address is not None) != with_address:
                raise ValueError(
                    f"timestamp flag {self.flag}: every entry needs address "
                    f"{'set' if with_address else 'None'}"
                )
            if entry.address is not None:
                parts.append(entry.address.packed)
            parts.append(pack(_U32, entry.timestamp))
        body = b"".join(parts)
        if not 0 <= self.overflow <= 15:
            raise ValueError(f"overflow must fit in 4 bits, not {self.overflow}")
        head = pack(
            _TIMESTAMP_HEAD, self.TYPE, 4 + len(body), self.pointer, self.overflow << 4 | self.flag
        )
        return head + body


@dataclass(frozen=True, slots=True)
class RawOption:
    """Any other option with a length byte, kept as ``type`` and the bytes after the length."""

    type: int
    data: bytes = b""

    def encode(self) -> bytes:
        if self.type in (IPOptionType.END_OF_OPTIONS, IPOptionType.NO_OPERATION):
            raise ValueError(f"option type {self.type} is a single byte and has no length")
        return pack(_OPTION_HEAD, self.type, 2 + len(self.data)) + self.data


IPOption = (
    EndOfOptions
    | NoOperation
    | RecordRoute
    | LooseSourceRoute
    | StrictSourceRoute
    | Timestamp
    | RawOption
)

_ROUTE_TYPES: dict[int, type[RecordRoute | LooseSourceRoute | StrictSourceRoute]] = {
    IPOptionType.RECORD_ROUTE: RecordRoute,
    IPOptionType.LOOSE_SOURCE_ROUTE: LooseSourceRoute,
    IPOptionType.STRICT_SOURCE_ROUTE: StrictSourceRoute,
}


def encode_options(options: tuple[IPOption, ...] | list[IPOption]) -> bytes:
    """Concatenate ``options`` and zero-pad to a multiple of 4 bytes (RFC 791 IHL words).

    The result is ready for ``setsockopt(IP_OPTIONS)`` or an IPv4 header; more than
    40 bytes raises ``ValueError``.
    """
    area = b"".join(option.encode() for option in options)
    area += b"\x00" * (-len(area) % 4)
    if len(area) > MAX_OPTIONS_LENGTH:
        raise ValueError(f"IPv4 options take {len(area)} bytes, at most 40 fit in a header")
    return area


def decode_options(data: bytes) -> tuple[IPOption, ...]:
    """Decode an IPv4 options area (at most 40 bytes).

    Raises ``BadOptionLength`` for a length byte below 2 or past the area, ``TruncatedPacket``
    when the area ends between an option's type and length bytes, and ``BadLength`` for an
    area longer than any IPv4 header can hold.
    """
    if len(data) > MAX_OPTIONS_LENGTH:
        raise BadLength(f"IPv4 options: {len(data)} bytes, at most 40 fit in a header")
    reader = Reader(data, "IPv4 options")
    options: list[IPOption] = []
    while reader.remaining:
        start = reader.offset
        kind = reader.u8("option type")
        if kind == IPOptionType.END_OF_OPTIONS:
            # RFC 791: nothing after End of Option List is an option; it is padding.
            padding = reader.rest()
            if padding == b"\x00" * (-(start + 1) % 4):
                if start % 4:
                    break  # the zero fill encode_options() adds: not an option of its own
                padding = b""
            options.append(EndOfOptions(padding))
            break
        if kind == IPOptionType.NO_OPERATION:
            options.append(NoOperation())
            continue
        length = reader.u8(f"length of option {kind}")
        if length < 2 or length - 2 > reader.remaining:
            raise BadOptionLength(
                f"IPv4 option {kind} at offset {start}: length {length} with "
                f"{reader.remaining + 2} bytes left in the options area"
            )
        options.append(_typed_option(kind, reader.take(length - 2, "option data")))
    return tuple(options)


def _typed_option(kind: int, data: bytes) -> IPOption:
    route_type = _ROUTE_TYPES.get(kind)
    if route_type is not None and len(data) >= 1 and (len(data) - 1) % 4 == 0:
        route = tuple(IPv4Address(data[i : i + 4]) for i in range(1, len(data), 4))
        return route_type(route, data[0])
    if kind == IPOptionType.TIMESTAMP and len(data) >= 2:
        return _timestamp(data) or RawOption(kind, data)
    return RawOption(kind, data)


def _timestamp(data: bytes) -> Timestamp | None:
    pointer, overflow_flag = data[0], data[1]
    overflow, flag = overflow_flag >> 4, overflow_flag & 0x0F
    body = data[2:]
    if flag == TimestampFlag.TIMESTAMPS_ONLY and len(body) % 4 == 0:
        entries = tuple(
            TimestampEntry(_U32.unpack_from(body, i)[0]) for i in range(0, len(body), 4)
        )
    elif flag in (TimestampFlag.WITH_ADDRESSES, TimestampFlag.PRESPECIFIED) and len(body) % 8 == 0:
        entries = tuple(
            TimestampEntry(_U32.unpack_from(body, i + 4)[0], IPv4Address(body[i : i + 4]))
            for i in range(0, len(body), 8)
        )
    else:
        return None
    return Timestamp(entries, flag, pointer, overflow)
