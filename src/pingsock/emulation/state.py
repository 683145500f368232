"""One emulated ping socket's state: ident, addresses, pending error, and error queue.

The pending-error rules are the kernel's (spec J3-J9, M14): with IP_RECVERR every accepted
ICMP error is queued and also sets ``sk_err``; without it only a connected socket sees hard
errors, as a one-shot ``sk_err``; ``sk_err`` is consumed once by recv, send, SO_ERROR or an
error-queue read.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from pingsock import linux
from pingsock.cmsg import ExtendedError
from pingsock.emulation.ancillary import Cmsg
from pingsock.emulation.demux import ErrorArrival

__all__ = ["MAX_QUEUED_ERRORS", "ErrorEntry", "PingSocketState"]

# A ping socket's error queue is bounded by its receive buffer (sock_queue_err_skb); the
# emulation bounds it by entries so that a flood of errors cannot grow memory.
MAX_QUEUED_ERRORS = 256


@dataclass(frozen=True, slots=True)
class ErrorEntry:
    """One ``MSG_ERRQUEUE`` read: data, msg_name, and the cmsgs (J3, M12).

    ``ancillary`` holds the cmsgs that precede the IP_RECVERR one: the error packet's timestamp
    and IP-level cmsgs (``ip_recv_error()`` writes them for ICMP errors, never for local ones).
    ``flowinfo`` and ``scope_id`` complete an IPv6 ``msg_name``.
    """

    error: ExtendedError
    quoted: bytes
    destination: str
    port: int = 0
    timestamp_ns: int | None = None
    ancillary: tuple[Cmsg, ...] = ()
    flowinfo: int = 0
    scope_id: int = 0

    @property
    def is_icmp(self) -> bool:
        """An ICMP error (``is_icmp_err_skb()``), as opposed to a locally generated one."""
        return self.error.origin in (linux.SO_EE_ORIGIN_ICMP, linux.SO_EE_ORIGIN_ICMP6)

    @property
    def is_tx_stamp(self) -> bool:
        """A transmit time stamp (SO_TIMESTAMPING): ``ancillary`` holds all its cmsgs, the
        IP_RECVERR one included, and ``quoted`` the copy of the datagram as it left."""
        return self.error.origin == linux.SO_EE_ORIGIN_TIMESTAMPING


@dataclass(slots=True)
class PingSocketState:
    """The mutable per-socket record the backend keeps next to its raw socket."""

    family: int
    ident: int = 0  # 0 = not bound (C1)
    bind_locked: bool = False  # bound with an explicit ident: disconnect keeps it (C10)
    addr_locked: bool = False  # bound to a specific address: disconnect keeps it (C10)
    local: str | None = None  # bound or connected local address
    peer: tuple[str, int] | None = None  # connect() destination and its (unused) port (D1)
    recverr: bool = False
    pmtudisc: int = linux.IP_PMTUDISC_WANT
    reuseaddr: bool = True  # INET_PROTOSW_REUSE (C1)
    sk_err: int = 0
    errors: deque[ErrorEntry] = field(default_factory=deque)
    dropped_errors: int = 0

    @property
    def connected(self) -> bool:
        return self.peer is not None

    def on_icmp_error(
        self,
        arrival: ErrorArrival,
        timestamp_ns: int | None = None,
        *,
        ancillary: tuple[Cmsg, ...] = (),
        flowinfo: int = 0,
        scope_id: int = 0,
    ) -> None:
        """Apply ``ping_err()``'s decision for an error that quotes our echo.

        ``ancillary``, ``flowinfo`` and ``scope_id`` go into the queued entry unchanged.
        """
        is_frag_needed = self.family == linux.AF_INET and (
            arrival.icmp_type == 3 and arrival.icmp_code == 4
        )
        if is_frag_needed and self.pmtudisc == linux.IP_PMTUDISC_DONT:
            return  # J2: with PMTUDISC_DONT only the PMTU is updated, nothing is reported
        code = arrival.verdict.errno
        if self.recverr:
            origin = (
                linux.SO_EE_ORIGIN_ICMP
                if self.family == linux.AF_INET
                else linux.SO_EE_ORIGIN_ICMP6
            )
            error = ExtendedError(
                code,
                origin,
                arrival.icmp_type,
                arrival.icmp_code,
                arrival.info,
                0,
                arrival.offender,
            )
            self.queue_error(
                ErrorEntry(
                    error,
                    arrival.quoted,
                    arrival.original_destination,
                    0,
                    timestamp_ns,
                    ancillary,
                    flowinfo,
                    scope_id,
                )
            )
            self.sk_err = code  # J3: set even for soft errors
        elif self.connected and arrival.verdict.hard:
            self.sk_err = code  # J4

    def queue_error(self, entry: ErrorEntry) -> None:
        if len(self.errors) >= MAX_QUEUED_ERRORS:
            self.dropped_errors += 1
            return
        self.errors.append(entry)

    def take_pending_error(self) -> int:
        """Consume ``sk_err`` (``sock_error()``): the errno, or 0 when none is pending."""
        code, self.sk_err = self.sk_err, 0
        return code

    def pop_error_entry(self) -> ErrorEntry | None:
        """Dequeue one error-queue entry, FIFO (J9), and update ``sk_err`` exactly as
        ``sock_dequeue_err_skb()`` does (J5): an ICMP error next in line sets it to that
        error's errno; otherwise, dequeuing an ICMP error clears it. A local error (F2, which
        never set ``sk_err``) leaves it alone."""
        if not self.errors:
            return None
        entry = self.errors.popleft()
        icmp_next = bool(self.errors) and self.errors[0].is_icmp
        if icmp_next:
            self.sk_err = self.errors[0].error.errno
        elif entry.is_icmp:
            self.sk_err = 0
        return entry

    def set_recverr(self, enabled: bool) -> None:
        """IP_RECVERR on/off: turning it off purges the queue but keeps ``sk_err`` (J8)."""
        self.recverr = enabled
        if not enabled:
            self.errors.clear()

    def disconnect(self) -> bool:
        """``connect(AF_UNSPEC)`` (C10): idempotent; returns True when the ident is released.

        ``__ip4_datagram_disconnect``: the source address is reset unless it was bound
        (SOCK_BINDADDR_LOCK), the port (ident) unless it was bound explicitly
        (SOCK_BINDPORT_LOCK); the two locks are independent.
        """
        self.peer = None
        if not self.addr_locked:
            self.local = None
        if self.bind_locked:
            return False
        released = self.ident != 0
        self.ident = 0
        return released
