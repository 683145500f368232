"""Ident ("port") allocation, as ``ping_get_port()`` does it (spec C3, C9).

Sequential from a rover: ``rover + 1``, skipping 0 and every ident already held, wrapping
65535 -> 1. The kernel (6.18) starts each network namespace's rover at a random value; the
emulation starts each process's rover at a random value the caller passes in. Whether an
ident is held is the caller's question to answer (it may ask other processes), so this module
stays pure.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["IdentAllocator", "IdentsExhausted"]

IDENT_SPACE = 65535  # idents 1..65535; 0 means "not bound"


class IdentsExhausted(Exception):
    """Every ident is held (C9): bind() reports EADDRINUSE, autobind EAGAIN."""


class IdentAllocator:
    """A rover and the lock that makes check-and-take atomic (the CVE-2017-2671 lesson)."""

    def __init__(self, start: int) -> None:
        self._rover = start & 0xFFFF
        self.lock = threading.Lock()

    def allocate(self, try_take: Callable[[int], bool]) -> int:
        """The first ident after the rover for which ``try_take(ident)`` succeeds.

        ``try_take`` both checks and claims; it is called under the allocator's lock.
        """
        with self.lock:
            candidate = self._rover
            for _ in range(IDENT_SPACE):
                candidate = candidate + 1 if candidate < 0xFFFF else 1
                if try_take(candidate):
                    self._rover = candidate
                    return candidate
        raise IdentsExhausted
