"""The descriptor a raw-backed ping socket hands out as ``fileno()`` (``backends.raw``).

A ping socket is readable when a reply is queued or an error is pending (G7). The emulation's
queues are partly the raw socket's and partly in Python: replies read ahead (by a ``MSG_PEEK``,
or while ``SO_ERROR``, a send or an error-queue read looked for errors), the error queue and
``sk_err``. So ``fileno()`` is an epoll descriptor holding two: the raw socket (packets not yet
read) and an eventfd that the backend keeps readable exactly while its Python queues hold
something. An epoll descriptor is readable when one of its descriptors is, so select, poll,
epoll and asyncio see the union, and level-triggered: it stops being readable once both are
drained. ``__ep_eventpoll_poll()`` re-polls each ready entry, so a raw socket that was drained
meanwhile does not keep it readable.

What an epoll descriptor cannot say: it reports only ``POLLIN`` (``ep_eventpoll_poll()``),
never ``POLLOUT`` or ``POLLERR``. See the deviations in ``backends.raw``.

Descriptor numbers: a socket holds three (raw socket, eventfd, epoll). The internal two are
moved out of the way (``F_DUPFD_CLOEXEC`` at or above :data:`INTERNAL_FD_FLOOR`, or kept where
they are when nothing is free there), so the public one takes the number the raw socket would
have had, the lowest free one, as the kernel's ``socket()`` does (``ping -v`` prints it).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import resource
import select
import socket

__all__ = ["INTERNAL_FD_FLOOR", "Readiness", "internal_socket", "park", "wait_readable"]

INTERNAL_FD_FLOOR = 256


def _floor() -> int:
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return INTERNAL_FD_FLOOR
    return min(INTERNAL_FD_FLOOR, soft // 2)


def park(fd: int) -> int:
    """Move ``fd`` to the lowest free descriptor at or above the floor (close-on-exec) and
    return it; keep it where it is when there is none (the number is cosmetic)."""
    try:
        high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, _floor())
    except OSError:
        return fd
    os.close(fd)
    return high


def internal_socket(family: int, kind: int, proto: int) -> socket.socket:
    """``socket(family, kind, proto)`` on a parked descriptor."""
    sock = socket.socket(family, kind | socket.SOCK_CLOEXEC, proto)
    fd = park(sock.detach())
    try:
        return socket.socket(family, kind, proto, fileno=fd)
    except BaseException:
        os.close(fd)
        raise


def wait_readable(fds: list[int], deadline: float | None, now: float) -> bool:
    """poll(2) the descriptors for input until ``deadline`` (monotonic; None: forever).

    poll rather than select: parked descriptors may be above FD_SETSIZE.
    """
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN)
    timeout = None if deadline is None else max(0, round((deadline - now) * 1000 + 0.5))
    return bool(poller.poll(timeout))


class Readiness:
    """The public descriptor: an epoll set of the raw socket and the backend's eventfd."""

    def __init__(self, raw_fd: int) -> None:
        self._wake = park(os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK))
        try:
            self._epoll = select.epoll()  # close-on-exec; the lowest free descriptor
        except BaseException:
            os.close(self._wake)
            raise
        self._fd = self._epoll.fileno()
        self._pending = False
        self._epoll.register(raw_fd, select.EPOLLIN)
        self._epoll.register(self._wake, select.EPOLLIN)

    def fileno(self) -> int:
        return self._fd

    @property
    def wake_fd(self) -> int:
        return self._wake

    @property
    def pending(self) -> bool:
        """Whether the eventfd is readable: the Python queues hold something."""
        return self._pending

    def update(self, pending: bool) -> None:
        """Make the eventfd readable (``pending``) or not; a no-op when it already is so."""
        if pending == self._pending or self._fd < 0:
            return
        if pending:
            os.eventfd_write(self._wake, 1)
        else:
            with contextlib.suppress(BlockingIOError):
                os.eventfd_read(self._wake)  # not a semaphore: the counter goes back to 0
        self._pending = pending

    def close(self) -> None:
        self._fd = -1
        self._epoll.close()
        os.close(self._wake)
