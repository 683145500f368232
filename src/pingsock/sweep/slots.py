"""The byte layout of a batch of echo requests and of a batch of replies, as
``sendmmsg(2)``/``recvmmsg(2)`` see them, and the two containers the engine fills and reads.

Pure: buffers and offsets only. The driver's ``mmsg`` module points the kernel's message
headers at these buffers and makes the system calls; the engine packs each request into a
:class:`SendBatch` with one ``struct.pack_into`` and reads a :class:`ReceiveBatch` with one
``struct.iter_unpack``, so a probe costs no Python object of its own.

Why batches: on one ping socket, a ``sendto()``/``recvfrom()`` pair per probe spends as much
in CPython's call and address conversion as in the kernel. One ``sendmmsg()`` per batch, with
the address and the packet written into a fixed slot, and one ``recvmmsg()`` per batch of
replies, the source read as 4 or 16 bytes, moves a live /16 in 146 ms against 190-203 ms
(benchmarks/batching.py).

Send slot: ``sockaddr`` (sockaddr_in or sockaddr_in6, padded to 32 bytes) then the packet.
Receive slot: ``sockaddr`` (32), control data (64: SO_TIMESTAMPNS's cmsg comes first, as
``ping_recvmsg()`` puts the stamp before any IP cmsg), then the datagram (the packet size
plus room, so a longer reply shows as longer instead of being cut to size).
Message headers (``struct mmsghdr``, 64 bytes on LP64): ``msg_len`` at byte 56.
"""

from __future__ import annotations

import struct

from pingsock.linux import AF_INET, AF_INET6, SCM_TIMESTAMPNS, SOL_SOCKET

__all__ = [
    "ADDRESS_ROOM",
    "CONTROL_ROOM",
    "HEADER_SIZE",
    "LENGTH_WORD",
    "SEND_BATCH",
    "ReceiveBatch",
    "SendBatch",
    "batch_capacity",
    "stamp_echo_layout",
]

ADDRESS_ROOM = 32  # sockaddr_in6 is 28 bytes
CONTROL_ROOM = 64  # one timespec cmsg is 32
HEADER_SIZE = 64  # sizeof(struct mmsghdr) on LP64
LENGTH_WORD = 14  # msg_len as the 14th 32-bit word of a header (byte 56)
_WORDS_PER_HEADER = HEADER_SIZE // 4
_MAX_BATCH = 256  # replies per system call
# Probes per system call: fewer than replies, since their send times are placed across the
# call (SweepEngine.sent): 64 keeps that within tens of microseconds at worst, and costs
# about as much as 256 (benchmarks/batching.py).
SEND_BATCH = 64
_MAX_BATCH_BYTES = 1 << 20


def _round8(size: int) -> int:
    return (size + 7) & ~7


def stamp_echo_layout(stride: int) -> struct.Struct:
    """A receive slot of ``stride`` bytes read for what counting a reply needs: the first
    cmsg's level and type and its timespec (SO_TIMESTAMPNS when present: it comes first),
    then the echo's type and the sequence number's two bytes; the rest is skipped."""
    head = ADDRESS_ROOM + 8  # sockaddr room, cmsg_len
    gap = CONTROL_ROOM - 32  # the rest of the control room
    tail = stride - ADDRESS_ROOM - CONTROL_ROOM - 8
    return struct.Struct(f"={head}xiiqq{gap}xB5xBB{tail}x")


def batch_capacity(slot_size: int, most: int = _MAX_BATCH) -> int:
    """Messages per batch: ``most``, fewer for packets so large that the slots pass 1 MiB."""
    return max(1, min(most, _MAX_BATCH_BYTES // slot_size))


class SendBatch:
    """Up to ``capacity`` echo requests of one family, ready for one ``sendmmsg()``.

    The engine writes slot ``i`` (``offset = i * stride``: sockaddr, then the packet at
    ``offset + ADDRESS_ROOM``) and appends the probe's sequence number to ``seqs``."""

    __slots__ = ("buffer", "capacity", "family", "packet_size", "seqs", "stride")

    def __init__(self, family: int, packet_size: int, capacity: int | None = None) -> None:
        if family not in (AF_INET, AF_INET6):
            raise ValueError("family must be AF_INET or AF_INET6")
        self.family = family
        self.packet_size = packet_size
        self.stride = _round8(ADDRESS_ROOM + packet_size)
        self.capacity = capacity or batch_capacity(self.stride, SEND_BATCH)
        self.buffer = bytearray(self.capacity * self.stride)
        self.seqs: list[int] = []

    def clear(self) -> None:
        self.seqs.clear()

    def packet(self, index: int) -> bytes:
        """The echo request in slot ``index``."""
        start = index * self.stride + ADDRESS_ROOM
        return bytes(self.buffer[start : start + self.packet_size])


class ReceiveBatch:
    """Room for ``capacity`` replies read by one ``recvmmsg()``: ``buffer`` holds the slots
    (``offset = i * stride``: sockaddr, control data at ``ADDRESS_ROOM``, the datagram at
    ``data_offset``), ``headers`` the message headers the kernel writes the lengths into."""

    __slots__ = ("buffer", "capacity", "data_offset", "data_room", "headers", "lengths", "stride")

    def __init__(self, packet_size: int, capacity: int | None = None) -> None:
        self.data_offset = ADDRESS_ROOM + CONTROL_ROOM
        self.data_room = _round8(packet_size + 64)  # a longer reply is seen as longer
        self.stride = self.data_offset + self.data_room
        self.capacity = capacity or batch_capacity(self.stride)
        self.buffer = bytearray(self.capacity * self.stride)
        self.headers = bytearray(self.capacity * HEADER_SIZE)
        # msg_len of message i is lengths[i * 16 + LENGTH_WORD] (native 32-bit words).
        self.lengths = memoryview(self.headers).cast("I")

    def message_lengths(self, count: int) -> memoryview:
        """``msg_len`` of messages 0 .. ``count`` - 1, as the kernel wrote them."""
        return self.lengths[LENGTH_WORD : count * _WORDS_PER_HEADER : _WORDS_PER_HEADER]

    def put(self, index: int, family: int, source: bytes, data: bytes, stamp_ns: int) -> None:
        """Write one reply into slot ``index`` as ``recvmmsg()`` would (a per-packet backend's
        reply, or a test's): ``source`` packed, a SO_TIMESTAMPNS cmsg with ``stamp_ns``."""
        offset = index * self.stride
        if family == AF_INET6:
            struct.pack_into("=HHI16sI", self.buffer, offset, AF_INET6, 0, 0, source, 0)
        else:
            struct.pack_into("=HH4s", self.buffer, offset, AF_INET, 0, source)
        seconds, nanoseconds = divmod(stamp_ns, 1_000_000_000)
        struct.pack_into(
            "=Qiiqq", self.buffer, offset + ADDRESS_ROOM, 32, SOL_SOCKET, SCM_TIMESTAMPNS,
            seconds, nanoseconds,
        )  # fmt: skip
        size = min(len(data), self.data_room)
        start = offset + self.data_offset
        self.buffer[start : start + size] = data[:size]
        self.lengths[index * _WORDS_PER_HEADER + LENGTH_WORD] = size
