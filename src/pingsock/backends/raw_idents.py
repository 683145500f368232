"""Ident claiming of the raw backend (``backends.raw``): the allocator of ``ping_get_port()``
and the cross-process claims (``backends.reserve``) that ``bind()`` and the autobind take."""

from __future__ import annotations

import errno
import random
import socket

from pingsock import linux
from pingsock.backends import bpf
from pingsock.backends.raw_recv import acted_on_errors
from pingsock.backends.reserve import IdentClaim, claim_ident, claim_name, kernel_held_idents
from pingsock.emulation.idents import IdentAllocator, IdentsExhausted
from pingsock.emulation.oserror import os_error
from pingsock.emulation.state import PingSocketState

__all__ = ["NO_IDENT", "IdentHolder", "allocate", "claim_exclusive", "claim_port"]

NO_IDENT = (0, False, False, False)  # the filter key of a socket without an ident

# One allocator per process and family space: the kernel's rover is per namespace and shared
# by v4 and v6 (C3); a process rarely spans namespaces, and claims are per namespace anyway.
_allocator = IdentAllocator(random.randrange(1, 0x10000))


# Held, besides the ident's claim (backends.reserve), by a holder whose SO_REUSEADDR is 0: a
# sharer's bind() tries the mark, and finds it taken when some holder refuses to share (C7).
_EXCLUSIVE_PREFIX = b"\0pingsock/ident-exclusive/"


def claim_exclusive(ident: int) -> IdentClaim | None:
    """Mark ``ident`` as held by a socket with SO_REUSEADDR 0; None when already marked.
    Abstract names are per network namespace and vanish with the process, like the claims."""
    return claim_name(_EXCLUSIVE_PREFIX, ident)


def allocate() -> IdentClaim:
    """Claim the next free ident after the rover; ``IdentsExhausted`` when none is free."""
    held = kernel_held_idents()
    claims: list[IdentClaim] = []

    def try_take(candidate: int) -> bool:
        if candidate in held:
            return False
        claim = claim_ident(candidate)
        if claim is None:
            return False
        claims.append(claim)
        return True

    _allocator.allocate(try_take)
    return claims[-1]


def claim_port(port: int, reuseaddr: bool) -> IdentClaim | None:
    """The claim of ``bind()`` to ident ``port`` (None: shared with a holder that allows it);
    ``EADDRINUSE`` when the ident may not be shared."""
    # ping_get_port(): N is in use when held and either side has SO_REUSEADDR 0.
    # The kernel's own ping sockets are in /proc/net/icmp; their SO_REUSEADDR is not
    # known, so they refuse only a socket with SO_REUSEADDR 0.
    claim = claim_ident(port)
    if (claim is None or port in kernel_held_idents()) and not reuseaddr:
        if claim is not None:
            claim.release()
        raise os_error(errno.EADDRINUSE)
    probe = claim_exclusive(port)
    if probe is None:  # a holder with SO_REUSEADDR 0
        if claim is not None:
            claim.release()
        raise os_error(errno.EADDRINUSE)
    probe.release()
    return claim


class IdentHolder:
    """The ident of ``RawPingSocket``: claims, the exclusive mark and the BPF filter that
    follows them (a base class; the socket sets the attributes)."""

    family: int
    _v6: bool
    _raw: socket.socket
    _state: PingSocketState
    _claim: IdentClaim | None
    _exclusive: IdentClaim | None
    _filter_key: tuple[int, bool, bool, bool]

    def _discard_queued(self) -> None:
        # Packets that raced in before the filter was attached (bounded: the queue is finite).
        for _ in range(10_000):
            try:
                self._raw.recv(1, socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                return

    def _take_ident(self, ident: int) -> None:
        self._state.ident = ident
        self._sync_exclusive()
        self._refilter()

    def _sync_exclusive(self) -> None:
        # C7: a holder with SO_REUSEADDR 0 refuses sharers, whenever it cleared the option;
        # other processes see that as the ident's exclusive mark (backends.reserve).
        want = bool(self._state.ident) and not self._state.reuseaddr
        if want and self._exclusive is None:
            self._exclusive = claim_exclusive(self._state.ident)
        elif not want and self._exclusive is not None:
            self._exclusive.release()
            self._exclusive = None

    def _refilter(self) -> None:
        """Attach the filter of the current state: this ident's replies and the errors the
        state acts on (``raw_recv.acted_on_errors()``); nothing without an ident."""
        state = self._state
        pmtudisc_dont = state.pmtudisc == linux.IP_PMTUDISC_DONT
        key = (state.ident, state.recverr, state.connected, pmtudisc_dont)
        if not state.ident:
            key = NO_IDENT
        if key == self._filter_key:
            return
        if key == NO_IDENT:
            program = bpf.drop_all_program()
        else:
            errors = acted_on_errors(self.family, *key[1:])
            ident_program = bpf.ident_program_v6 if self._v6 else bpf.ident_program_v4
            program = ident_program(state.ident, errors)
        bpf.attach_filter(self._raw, program)
        self._filter_key = key

    def _allocate(self) -> int:
        self._claim = allocate()
        return self._claim.ident

    def _autobind(self) -> None:
        # inet_send_prepare()/inet_autobind(): the first send or connect picks an ident, before
        # any validation (C2); exhaustion is EAGAIN (C9).
        if self._state.ident:
            return
        try:
            self._take_ident(self._allocate())
        except IdentsExhausted:
            raise os_error(errno.EAGAIN) from None

    def _release_ident(self) -> None:
        if self._claim is not None:
            self._claim.release()
            self._claim = None
        self._state.ident = 0
        self._sync_exclusive()
