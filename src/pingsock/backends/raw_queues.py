"""The receive queues of the raw backend (``backends.raw``): reading the raw socket ahead into
the emulation's replies, error queue and ``sk_err``, the reads that take from them, and the
eventfd of ``fileno()`` that follows them (``backends.raw_ready``)."""

from __future__ import annotations

import errno
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TypeVar

from pingsock import linux
from pingsock.backends.base import Address, AncData
from pingsock.backends.raw_options import RawOptions
from pingsock.backends.raw_ready import Readiness, wait_readable
from pingsock.backends.raw_recv import (
    Reply,
    error_queue_read,
    translate,
    truncate,
    tx_stamp_entry,
)
from pingsock.emulation.oserror import os_error
from pingsock.emulation.state import MAX_QUEUED_ERRORS, PingSocketState

__all__ = ["ReceiveQueues"]

_T = TypeVar("_T")

_RECV_SIZE = 65535 + 60  # the largest IPv4 datagram plus slack
_INTERNAL_ANC = 1024
_MAX_QUEUED_REPLIES = 4096


class ReceiveQueues:
    """The receive side of ``RawPingSocket`` (a base class; the socket sets the attributes)."""

    _raw: socket.socket
    _state: PingSocketState
    _options: RawOptions
    _readiness: Readiness
    _replies: deque[Reply]
    _timeout: float | None
    _lock: threading.RLock
    _closed: bool

    def _until_ready(self, attempt: Callable[[], _T | None], blocking: bool) -> _T:
        """Repeat ``attempt`` (None: nothing to read) as the stdlib socket repeats a read.

        Without a timeout a read waits only if ``blocking``. With one, ``sock_call_ex()`` waits
        for readiness before each try whatever the flags, and an ``EAGAIN`` becomes "timed out"
        once the time is up; a timeout of 0 is ``EAGAIN`` at once.
        """
        timeout = self._timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            result = attempt()
            if result is not None:
                return result
            if timeout == 0.0 or (timeout is None and not blocking):
                raise os_error(errno.EAGAIN)
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                raise TimeoutError("timed out")
            with self._lock:
                if self._closed:
                    raise os_error(errno.EBADF)  # closed by another thread meanwhile
                # New arrivals, or (when the queues held nothing) whatever another thread
                # reads ahead; not the eventfd while it is already readable (that would spin).
                fds = [self._raw.fileno()]
                if not self._readiness.pending:
                    fds.append(self._readiness.wake_fd)
            wait_readable(fds, deadline, now)

    def _read_data(
        self, bufsize: int, ancbufsize: int, flags: int
    ) -> tuple[bytes, AncData, int, Address] | None:
        with self._lock:
            try:
                self._pump()  # the kernel processed every arrival as it came (G5)
                pending = self._state.take_pending_error()
                if pending:
                    raise os_error(pending)  # G5: a pending error before queued data
                if not self._replies:
                    return None
                reply = self._replies[0] if flags & linux.MSG_PEEK else self._replies.popleft()
                return truncate(reply.message, bufsize, reply.ancillary, ancbufsize, reply.source)
            finally:
                self._update_readiness()

    def _read_error(
        self, bufsize: int, ancbufsize: int
    ) -> tuple[bytes, AncData, int, Address] | None:
        with self._lock:
            try:
                self._pump()
                entry = self._state.pop_error_entry()
                if entry is None:
                    return None
                return error_queue_read(entry, self._options, bufsize, ancbufsize)
            finally:
                self._update_readiness()

    def _readable(self) -> bool | None:
        with self._lock:
            try:
                self._pump()
            finally:
                self._update_readiness()
            state = self._state
            return True if self._replies or state.errors or state.sk_err else None

    def _update_readiness(self) -> None:
        """Keep the eventfd of ``fileno()`` readable exactly while the Python queues hold a
        reply, an error-queue entry or a pending error (G7)."""
        if self._closed:
            return
        state = self._state
        self._readiness.update(bool(self._replies or state.errors or state.sk_err))

    def _pump(self) -> None:
        """Read everything queued on the raw socket, so pending errors are known (the kernel
        would have processed them on arrival). Transmit stamps first: a datagram is stamped
        as it leaves, before anything it causes can come back."""
        if self._options.tx_stamps:
            self._take_tx_stamps()
        for _ in range(_MAX_QUEUED_REPLIES):
            if not self._read_one():
                return

    def _take_tx_stamps(self) -> None:
        """Move the transmit stamps on the raw socket's own error queue to the emulated one.

        The raw socket's RECVERR is off but while a local error is read back
        (``raw_kernel.read_local_error``, which reads the queue to its end itself), so stamps
        are all that queue there; anything else is dropped."""
        for _ in range(MAX_QUEUED_ERRORS):
            try:
                data, anc, _flags, _address = self._raw.recvmsg(
                    _RECV_SIZE, _INTERNAL_ANC, linux.MSG_ERRQUEUE | socket.MSG_DONTWAIT
                )
            except (BlockingIOError, InterruptedError):
                return
            entry = tx_stamp_entry(data, anc, self._options)
            if entry is not None:
                self._state.queue_error(entry)

    def _read_one(self) -> bool:
        """Read and classify one packet; False when the raw socket had nothing."""
        try:
            packet, anc, _flags, source = self._raw.recvmsg(
                _RECV_SIZE, _INTERNAL_ANC, socket.MSG_DONTWAIT
            )
        except (BlockingIOError, InterruptedError):
            return False
        result = translate(
            packet, anc, source, ident=self._state.ident, local=self._state.local,
            options=self._options,
        )  # fmt: skip
        if isinstance(result, Reply):
            if len(self._replies) < _MAX_QUEUED_REPLIES:
                self._replies.append(result)
        elif result is not None:
            error = result
            self._state.on_icmp_error(
                error.arrival, ancillary=error.ancillary, flowinfo=error.flowinfo,
                scope_id=error.scope_id,
            )  # fmt: skip
        return True
