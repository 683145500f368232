"""``sendmmsg(2)`` and ``recvmmsg(2)`` on a kernel ping socket, over the batches of
:mod:`pingsock.sweep.slots`, through ctypes (the socket module has neither).

The message headers and I/O vectors are written once, pointing into the batches' buffers;
a send or a receive is then one foreign call for up to 256 probes or replies, and Python
touches each probe only to pack or unpack its slot. Before each receive the headers the
kernel wrote back (name, control and message lengths, flags) are restored with one copy.

Only the kernel's ping socket goes through here: the raw backend's emulation does its
filtering in Python, one packet at a time, and the driver sends to it per packet.
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct
from collections.abc import Callable

from pingsock.linux import AF_INET6, MSG_DONTWAIT
from pingsock.sweep.slots import ADDRESS_ROOM, CONTROL_ROOM, HEADER_SIZE, ReceiveBatch, SendBatch

__all__ = ["MessageBatches", "available"]

# struct mmsghdr { struct msghdr msg_hdr; unsigned int msg_len; } on LP64: name, namelen,
# iov, iovlen, control, controllen, flags, then msg_len (native layout, explicit padding).
_HEADER = struct.Struct("=QI4xQQQQi4xI4x")
_IOVEC = struct.Struct("=QQ")
_SOCKADDR_IN = 16
_SOCKADDR_IN6 = 28
_AGAIN = (errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR)


def _load() -> tuple[Callable[..., int], Callable[..., int]] | None:
    if _HEADER.size != HEADER_SIZE or ctypes.sizeof(ctypes.c_void_p) != 8:
        return None  # not LP64: the slots' header layout does not hold
    try:
        libc = ctypes.CDLL(None, use_errno=True)  # the C library the interpreter runs on
        send, receive = libc.sendmmsg, libc.recvmmsg
    except (OSError, AttributeError):
        return None
    send.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int]
    send.restype = ctypes.c_int
    receive.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int, ctypes.c_void_p]
    receive.restype = ctypes.c_int
    return send, receive


_CALLS = _load()


def available() -> bool:
    """Whether this interpreter can make the calls (LP64 Linux, a C library with both)."""
    return _CALLS is not None


def _address(buffer: bytearray) -> tuple[int, object]:
    """The address of ``buffer``'s bytes and the ctypes view that pins it (kept alive)."""
    view = (ctypes.c_char * len(buffer)).from_buffer(buffer)
    return ctypes.addressof(view), view


class MessageBatches:
    """One socket's batches: :meth:`send` slots of ``outgoing``, :meth:`receive` into
    ``incoming``."""

    def __init__(self, fd: int, family: int, outgoing: SendBatch, incoming: ReceiveBatch) -> None:
        if _CALLS is None:
            raise OSError(errno.ENOSYS, "sendmmsg/recvmmsg are not available")
        self._send_call, self._receive_call = _CALLS
        self.fd = fd
        self.outgoing = outgoing
        self.incoming = incoming
        self._pins: list[object] = []
        name_size = _SOCKADDR_IN6 if family == AF_INET6 else _SOCKADDR_IN

        self._send_headers = bytearray(outgoing.capacity * HEADER_SIZE)
        send_iov = bytearray(outgoing.capacity * _IOVEC.size)
        base = self._pin(outgoing.buffer)
        iov_base = self._pin(send_iov)
        for i in range(outgoing.capacity):
            slot = base + i * outgoing.stride
            _IOVEC.pack_into(send_iov, i * _IOVEC.size, slot + ADDRESS_ROOM, outgoing.packet_size)
            iov = iov_base + i * _IOVEC.size
            _HEADER.pack_into(
                self._send_headers, i * HEADER_SIZE, slot, name_size, iov, 1, 0, 0, 0, 0
            )
        self._send_at = self._pin(self._send_headers)

        receive_iov = bytearray(incoming.capacity * _IOVEC.size)
        base = self._pin(incoming.buffer)
        iov_base = self._pin(receive_iov)
        for i in range(incoming.capacity):
            slot = base + i * incoming.stride
            data = slot + incoming.data_offset
            _IOVEC.pack_into(receive_iov, i * _IOVEC.size, data, incoming.data_room)
            iov = iov_base + i * _IOVEC.size
            control = slot + ADDRESS_ROOM
            _HEADER.pack_into(
                incoming.headers, i * HEADER_SIZE,
                slot, ADDRESS_ROOM, iov, 1, control, CONTROL_ROOM, 0, 0,
            )  # fmt: skip
        self._receive_at = self._pin(incoming.headers)
        self._pristine = bytes(incoming.headers)
        self._written = 0  # headers the last receive let the kernel write

    def _pin(self, buffer: bytearray) -> int:
        address, view = _address(buffer)
        self._pins.append(view)
        return address

    def send(self, first: int, count: int) -> int:
        """Send slots ``first`` .. ``first + count - 1``; how many went (at least one).
        OSError when the first of them could not be sent (the rest were not tried)."""
        sent = self._send_call(self.fd, self._send_at + first * HEADER_SIZE, count, 0)
        if sent <= 0:
            code = ctypes.get_errno() or errno.EIO
            raise OSError(code, os.strerror(code))
        return int(sent)

    def receive(self) -> int:
        """Read the replies queued, up to the batch's capacity, without waiting; 0 when none.
        OSError for an error the socket reports (a pending ICMP error: its details are on
        the error queue)."""
        if self._written:
            ctypes.memmove(self._receive_at, self._pristine, self._written * HEADER_SIZE)
            self._written = 0
        got = self._receive_call(
            self.fd, self._receive_at, self.incoming.capacity, MSG_DONTWAIT, None
        )
        if got < 0:
            code = ctypes.get_errno()
            if code in _AGAIN:
                return 0
            self._written = self.incoming.capacity  # restore them all, to be safe
            raise OSError(code, os.strerror(code))
        self._written = got
        return int(got)
