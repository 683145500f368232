"""One bounded reader for wire data.

Every decoder in :mod:`pingsock.wire` reads through :class:`Reader`, so a short read anywhere
raises :class:`~pingsock.errors.TruncatedPacket` (naming what was being read and where) instead
of ``IndexError`` or ``struct.error``. Checks that are not about running out of bytes (a length
field that is too small, an option length that overruns its area) are made by the decoders,
which raise the other :class:`~pingsock.errors.PacketError` subclasses.
"""

from __future__ import annotations

import struct
from ipaddress import IPv4Address
from typing import Any

from pingsock.errors import TruncatedPacket

__all__ = ["Reader", "pack"]

_U8 = struct.Struct("!B")
_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")


class Reader:
    """A cursor over ``data[start:end]`` that never reads past ``end``.

    ``what`` names the structure being decoded; it prefixes every error message, so a failure
    deep inside a quoted datagram still says where it happened.
    """

    __slots__ = ("_data", "_end", "_pos", "what")

    def __init__(self, data: bytes, what: str, *, start: int = 0, end: int | None = None) -> None:
        self._data = bytes(data)
        self._pos = start
        self._end = len(self._data) if end is None else min(end, len(self._data))
        self.what = what

    @property
    def offset(self) -> int:
        """How many bytes of the underlying data lie before the cursor."""
        return self._pos

    @property
    def remaining(self) -> int:
        """How many bytes are left before the end."""
        return self._end - self._pos

    def _need(self, count: int, field: str) -> int:
        pos = self._pos
        if count > self._end - pos:
            raise TruncatedPacket(
                f"{self.what}: {field} needs {count} bytes at offset {pos}, "
                f"only {self._end - pos} left"
            )
        self._pos = pos + count
        return pos

    def unpack(self, layout: struct.Struct, field: str) -> tuple[Any, ...]:
        """Read ``layout.size`` bytes and unpack them."""
        return layout.unpack_from(self._data, self._need(layout.size, field))

    def u8(self, field: str) -> int:
        value: int = _U8.unpack_from(self._data, self._need(1, field))[0]
        return value

    def u16(self, field: str) -> int:
        value: int = _U16.unpack_from(self._data, self._need(2, field))[0]
        return value

    def u32(self, field: str) -> int:
        value: int = _U32.unpack_from(self._data, self._need(4, field))[0]
        return value

    def take(self, count: int, field: str) -> bytes:
        """Read exactly ``count`` bytes."""
        pos = self._need(count, field)
        return self._data[pos : pos + count]

    def ipv4(self, field: str) -> IPv4Address:
        # Four bytes always make a valid IPv4Address, so ipaddress cannot raise here.
        return IPv4Address(self.take(4, field))

    def rest(self) -> bytes:
        """Everything up to the end (possibly nothing)."""
        pos, self._pos = self._pos, self._end
        return self._data[pos : self._end]

    def require(self, count: int, field: str) -> None:
        """Raise ``TruncatedPacket`` unless ``count`` more bytes remain; do not move."""
        self._pos = self._need(count, field)


def pack(layout: struct.Struct, *values: int | bytes) -> bytes:
    """``layout.pack(*values)``, reporting an out-of-range field as ``ValueError``.

    Encoding a value whose field does not fit (an ident above 65535, say) is a programming
    error in the caller, so it surfaces as ``ValueError`` rather than ``struct.error``.
    """
    try:
        return layout.pack(*values)
    except struct.error as exc:
        raise ValueError(f"field out of range for {layout.format!r}: {exc}") from None
