"""The raw backend's read-back of a local ``EMSGSIZE`` (``raw_kernel.queue_local_error``), over a
fake raw socket: the kernel's error queue is purged when RECVERR goes off again
(``ip_setsockopt(IP_RECVERR, 0)``), so everything queued there must be read first, in order.

A transmit stamp of an earlier datagram can come while the resend is read back (on a real
device the stamp is taken when the frame leaves, later than the ``sendmsg()`` that queued it);
the ping socket would show it on its error queue, before or after the LOCAL entry as it came.
"""

from __future__ import annotations

import errno
import socket
import struct

from pingsock import linux
from pingsock.backends.base import Address, AncData
from pingsock.backends.raw_kernel import queue_local_error
from pingsock.backends.raw_options import RawOptions
from pingsock.cmsg import ExtendedError
from pingsock.emulation.state import ErrorEntry, PingSocketState

V4 = socket.AF_INET
RECVERR = (linux.SOL_IP, linux.IP_RECVERR)
SO_TIMESTAMPING = 37  # SCM_TIMESTAMPING


def _stamp_entry(seq: int) -> tuple[bytes, AncData, int, Address]:
    """A transmit stamp as the raw socket's error queue returns it: the frame copy, the
    SCM_TIMESTAMPING cmsg, IP_RECVERR with origin TIMESTAMPING, no msg_name."""
    frame = bytes(20) + struct.pack("!BBHHH", 8, 0, 0, 7, seq) + bytes(8)
    error = ExtendedError(errno.ENOMSG, linux.SO_EE_ORIGIN_TIMESTAMPING, 0, 0, 0, 0, None)
    anc = [
        (linux.SOL_SOCKET, SO_TIMESTAMPING, struct.pack("=qqqqqq", 5, seq, 0, 0, 0, 0)),
        (*RECVERR, error.pack(V4)),
    ]
    return frame, anc, 0, ("0.0.0.0", 0)


def _local_entry(mtu: int) -> tuple[bytes, AncData, int, Address]:
    error = ExtendedError(errno.EMSGSIZE, linux.SO_EE_ORIGIN_LOCAL, 0, 0, mtu, 0, None)
    return b"", [(*RECVERR, error.pack(V4))], 0, ("192.0.2.1", 0)


class _FakeRaw:
    """Just what the read-back touches: RECVERR, the error queue (purged as RECVERR goes
    off), SO_ERROR."""

    def __init__(self, queued_by_resend: list[tuple[bytes, AncData, int, Address]]) -> None:
        self.recverr = 0
        self.queue: list[tuple[bytes, AncData, int, Address]] = []
        self.queued_by_resend = queued_by_resend

    def setsockopt(self, level: int, option: int, value: int) -> None:
        assert (level, option) == RECVERR
        self.recverr = value
        if not value:
            self.queue.clear()  # ip_setsockopt(): skb_queue_purge(&sk->sk_error_queue)

    def getsockopt(self, level: int, option: int) -> int:
        return 0

    def recvmsg(self, bufsize: int, ancbufsize: int, flags: int) -> object:
        assert flags & linux.MSG_ERRQUEUE
        if not self.queue:
            raise BlockingIOError(errno.EAGAIN, "empty")
        return self.queue.pop(0)

    def resend(self) -> None:
        assert self.recverr
        self.queue.extend(self.queued_by_resend)
        raise OSError(errno.EMSGSIZE, "Message too long")


def _read_back(queued: list[tuple[bytes, AncData, int, Address]]) -> list[ErrorEntry]:
    raw = _FakeRaw(queued)
    state = PingSocketState(V4, ident=7, recverr=True)
    options = RawOptions(raw, V4, state)  # type: ignore[arg-type]
    sent = queue_local_error(raw, options, state, raw.resend, b"message")  # type: ignore[arg-type]
    assert sent is False and raw.recverr == 0
    return list(state.errors)


def test_stamps_read_back_with_the_local_error_keep_their_place() -> None:
    entries = _read_back([_stamp_entry(1), _local_entry(1500), _stamp_entry(2)])
    assert len(entries) == 3
    first, local, last = entries
    assert first.is_tx_stamp and last.is_tx_stamp
    assert (first.quoted[26:28], last.quoted[26:28]) == (b"\x00\x01", b"\x00\x02")
    assert local.error.origin == linux.SO_EE_ORIGIN_LOCAL and local.error.info == 1500
    assert local.quoted == b"" and not local.is_tx_stamp


def test_the_local_error_alone() -> None:
    (local,) = _read_back([_local_entry(1280)])
    assert local.error.errno == errno.EMSGSIZE and local.error.info == 1280


def test_nothing_queued_queues_nothing() -> None:
    assert _read_back([]) == []
