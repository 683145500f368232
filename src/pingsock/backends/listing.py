"""The emulated ping sockets of every process in this network namespace, as rows of
``/proc/net/icmp`` and ``/proc/net/icmp6`` (spec N), for ``pingsock sockets``.

**Publishing.** The kernel lists its ping sockets from its hash table; emulated sockets live in
many processes, so each one publishes its row where any process of the namespace can read it:

* Every raw-backend socket holding an ident binds a *beacon*, an abstract Unix socket named
  ``pingsock/sock/<inode>/<st>/<local>:<ident>/<remote>:<port>`` (``emulation.proc_table``):
  the address columns of its row and the inode of its raw socket (``fileno()`` is an epoll
  descriptor, whose anonymous inode every epoll descriptor shares; ``inode_of()``). Like
  the ident claims (``backends.reserve``) a beacon lives in the network namespace (abstract
  names are per namespace), is visible in ``/proc/net/unix`` to every user, and vanishes when
  the socket is closed or its process dies, so nothing stale is ever listed. A socket is listed
  only while it holds an ident, as the kernel lists only hashed sockets (N3): after a
  ``connect(AF_UNSPEC)`` that releases the ident the beacon is withdrawn.
* The beacon is re-bound whenever the row's address columns change. ``track()`` (called by
  ``RawPingSocket.__init__``) wraps the socket's four calls that can change them (``bind``,
  ``connect``, ``disconnect``, ``sendmsg``: autobind; ``send`` and ``sendto`` go through
  ``sendmsg``); after each call, failed or not (autobind happens before validation, C2), the
  current state is read under the socket's lock and compared with what was published, so a
  send costs a lock and one tuple comparison. ``untrack()`` (from ``close()``) withdraws it.
* The other columns come from the kernel, read at listing time from the raw socket's own row
  in ``/proc/net/raw{,6}`` (found by inode): ``tx_queue``, ``rx_queue``, ``uid`` (already
  munged into the reader's user namespace), ``ref``, ``pointer`` (``%pK``) and ``drops``.
* An ident claim with no beacon for its ident (a claim taken with ``reserve.claim_ident()``
  directly, a process of an older pingsock, or the microseconds between a claim and its
  beacon) is listed once, in the IPv4 table (a claim has no family), with what the kernel
  shows for an unconnected socket bound to the wildcard: ``00000000:<ident> 00000000:0000
  07``, queues and drops 0, ref 2, pointer hidden (zeros), inode that of the claim socket, and
  the uid of the claim socket found through ``/proc/<pid>/fd`` (65534, the overflow uid, when
  the reader may not look there).

**Limits.** ``sl`` is a row number, not the kernel's bucket (which needs the namespace's
secret ``net_hash_mix``); rows are ordered by ident, then inode. ``rx_queue`` counts what
waits in the raw socket, not replies the emulation already read into its own queue. A beacon
is bound in the network namespace of the thread that changes the socket's state; when that is
not the raw socket's namespace, nothing is published (the claim has the same limit) and the
socket is not listed until the next of those calls made from its own namespace. A process that
forks shares its beacons with the child until both close them. Each listed socket costs one
more file descriptor (the beacon). The listing reads several files one after the other, so a
socket created, changed or closed meanwhile may be missing or shown as it just was. A v4
kernel socket that ``/proc/net/icmp6`` shows by mistake (N5, ``ping_get_next()`` ignores the
family) is left out of the IPv6 table.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import ipaddress
import os
import socket
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar, cast

from pingsock.backends.raw_ready import internal_socket
from pingsock.emulation.proc_table import (
    BEACON_PREFIX,
    CLAIM_PREFIX,
    OVERFLOW_UID,
    Beacon,
    ProcRow,
    beacon_name,
    parse_beacon,
    parse_claim,
    parse_table,
    render,
    unix_names,
)

if TYPE_CHECKING:
    from pingsock.backends.base import PingSocket
    from pingsock.backends.raw import RawPingSocket

__all__ = ["emulated_rows", "inode_of", "kernel_rows", "table", "track", "untrack"]

# /proc/net follows the process's main thread; thread-self/net follows the calling thread,
# which is what a thread that entered a namespace (setns) means.
PROC_NET = Path("/proc/thread-self/net")
_NETNS = "/proc/thread-self/ns/net"
_MUTATORS = ("bind", "connect", "disconnect", "sendmsg")

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _thread_netns() -> tuple[int, int]:
    st = os.stat(_NETNS)
    return (st.st_dev, st.st_ino)


def _bind_beacon(name: str) -> socket.socket | None:
    # A parked descriptor, like the raw socket's: the user's next socket() gets the number it
    # would get with the kernel's ping sockets (backends.raw_ready).
    sock = internal_socket(socket.AF_UNIX, socket.SOCK_DGRAM, 0)
    try:
        sock.bind(b"\0" + name.encode())
    except OSError:
        sock.close()  # the name is taken (by someone squatting it): publish nothing
        return None
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)  # nobody can queue datagrams on it
    return sock


class _Publisher:
    """Keeps one socket's beacon equal to its row (see the module docstring)."""

    __slots__ = ("_beacon", "_closed", "_key", "_name", "_netns", "_sock", "inode")

    def __init__(self, sock: RawPingSocket) -> None:
        self._sock = weakref.ref(sock)
        self._netns = _thread_netns()
        # The raw socket's inode: the row's socket (fileno() is an epoll descriptor, whose
        # anonymous inode every epoll descriptor shares).
        self.inode = os.fstat(sock._raw.fileno()).st_ino
        self._key: object = None
        self._name: str | None = None
        self._beacon: socket.socket | None = None
        self._closed = False

    def wrap(self, function: Callable[Concatenate[RawPingSocket, _P], _R]) -> Callable[_P, _R]:
        """``function`` (a method of the class) bound to the socket, then ``refresh()``. The
        socket is held weakly, so the wrapper stored on it makes no reference cycle: an
        unclosed socket is still freed (and its descriptors closed) as soon as it is dropped."""
        ref = self._sock

        @functools.wraps(function)
        def published(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            sock = ref()
            if sock is None:  # only a method saved apart from its (since freed) socket
                raise OSError(errno.EBADF, os.strerror(errno.EBADF))
            try:
                return function(sock, *args, **kwargs)
            finally:
                self.refresh()

        return published

    def refresh(self) -> None:
        """Re-publish if the row's address columns changed; never raises (it runs in the
        ``finally`` of the user's call)."""
        sock = self._sock()
        if sock is None:
            return
        with sock._lock:
            state = sock._state
            key = (state.ident, state.local, state.peer)
            if self._closed or key == self._key:
                return
            try:
                name = (
                    beacon_name(
                        self.inode,
                        6 if sock.family == socket.AF_INET6 else 4,
                        state.ident,
                        state.local,
                        state.peer,
                    )
                    if state.ident
                    else None
                )
                if name != self._name:
                    self._withdraw()
                    if name is not None and _thread_netns() != self._netns:
                        self._key = None  # published by the next call made from its namespace
                        return
                    if name is not None:
                        self._beacon = _bind_beacon(name)
                        self._name = name if self._beacon is not None else None
            except (OSError, ValueError):
                self._withdraw()
            self._key = key

    def _withdraw(self) -> None:
        beacon, self._beacon, self._name = self._beacon, None, None
        if beacon is not None:
            beacon.close()

    def close(self) -> None:
        self._closed = True
        self._withdraw()


_lock = threading.Lock()
_publishers: weakref.WeakKeyDictionary[RawPingSocket, _Publisher] = weakref.WeakKeyDictionary()


def track(sock: RawPingSocket) -> None:
    """Publish ``sock``'s row from now on (``RawPingSocket.__init__``)."""
    publisher = _Publisher(sock)
    for name in _MUTATORS:
        setattr(sock, name, publisher.wrap(getattr(type(sock), name)))
    with _lock:
        _publishers[sock] = publisher


def untrack(sock: RawPingSocket) -> None:
    """Withdraw ``sock``'s row for good (``RawPingSocket.close``)."""
    with _lock:
        publisher = _publishers.pop(sock, None)
    if publisher is not None:
        publisher.close()


def inode_of(sock: PingSocket) -> int:
    """The ``inode`` column of ``sock``'s row: the kernel socket's own inode, or the inode of
    an emulated socket's raw socket (also in ``/proc/net/raw{,6}`` and ``/proc/<pid>/fd``)."""
    with _lock:
        publisher = _publishers.get(cast("RawPingSocket", sock))
    return publisher.inode if publisher is not None else os.fstat(sock.fileno()).st_ino


# -- reading -------------------------------------------------------------------------------


def _read(name: str) -> str:
    return (PROC_NET / name).read_text()


def _socket_uids(inodes: set[int]) -> dict[int, int]:
    """The owner uid (``sock_i_uid()``: the creator's fsuid) of each socket inode, found
    through ``/proc/<pid>/fd``; inodes of processes we may not look into are missing."""
    found: dict[int, int] = {}
    try:
        pids = [entry for entry in os.listdir("/proc") if entry.isdigit()]
    except OSError:
        return found
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            link = f"/proc/{pid}/fd/{fd}"
            try:
                target = os.readlink(link)
                if target.startswith("socket:[") and int(target[8:-1]) in inodes:
                    found[int(target[8:-1])] = os.stat(link).st_uid
            except (OSError, ValueError):
                continue
        if len(found) == len(inodes):
            break
    return found


def emulated_rows(version: int) -> list[ProcRow]:
    """The rows of the emulated ping sockets of IPv``version`` in the calling thread's network
    namespace, whichever process holds them (unordered; see ``proc_table.render``)."""
    beacons: list[Beacon] = []
    claims: list[tuple[int, int]] = []
    for inode, name in unix_names(_read("unix")):
        with contextlib.suppress(ValueError):  # a name someone else made up: not ours
            if name.startswith(BEACON_PREFIX):
                beacons.append(parse_beacon(name))
            elif name.startswith(CLAIM_PREFIX):
                claims.append((inode, parse_claim(name)))
    raw = {row.inode: row for row in parse_table(_read("raw" if version == 4 else "raw6"))}
    # A beacon whose raw socket is not in the table is a socket closing right now: skipped.
    rows = [
        beacon.row(raw[beacon.inode])
        for beacon in beacons
        if beacon.local.version == version and beacon.inode in raw
    ]
    if version == 4:
        published = {beacon.ident for beacon in beacons}
        orphans = [(inode, ident) for inode, ident in claims if ident not in published]
        uids = _socket_uids({inode for inode, _ in orphans}) if orphans else {}
        wildcard = ipaddress.IPv4Address(0)
        rows += [
            ProcRow(wildcard, ident, wildcard, 0, uid=uids.get(inode, OVERFLOW_UID), inode=inode)
            for inode, ident in orphans
        ]
    return rows


def kernel_rows(version: int) -> list[ProcRow]:
    """The kernel's own ``/proc/net/icmp`` (4) or ``/proc/net/icmp6`` (6) rows, without the
    IPv4 sockets ``icmp6`` lists by mistake (N5)."""
    if version == 4:
        return parse_table(_read("icmp"))
    v6_rows = parse_table(_read("icmp6"))
    v4_inodes = {row.inode for row in parse_table(_read("icmp"))}
    return [row for row in v6_rows if row.inode not in v4_inodes]


def table(version: int, *, kernel: bool = False) -> str:
    """The whole ``/proc/net/icmp{,6}``-format text: emulated sockets, and the kernel's with
    ``kernel``, in one table numbered by ``sl``."""
    rows = emulated_rows(version)
    if kernel:
        rows += kernel_rows(version)
    return render(rows, version)
